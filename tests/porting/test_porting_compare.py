"""``benchmarks/porting_compare.py``: its acrawl side runs and scrapes exactly the expected
items, and its acrawl spiders are the Scrapy ones with only imports and names changed.
(The timings are the script's business; nothing here is timed.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from cli_support import clean_env

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "porting_compare.py"
SPIDERS = ROOT / "benchmarks" / "porting"
NAMES = ["quotes", "authors", "login", "scroll", "search"]

#: what porting a spider changes: Scrapy's names -> acrawl's
RENAMES = [
    (r"\bscrapy runspider\b", "acrawl-run"),
    (r"\bscrapy\.(Spider|Request|FormRequest)\b", r"acrawl.\1"),
    (r"\ballowed_domains\b", "allowed_hosts"),
    (r"\basync def start\(self\)", "async def start_requests(self)"),
]


def test_the_acrawl_side_scrapes_exactly_the_expected_items(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--crawlers", "acrawl", "--pages", "3", "--authors",
         "4", "--per-page", "4", "--rounds", "1", "--workdir", str(tmp_path)],
        cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=300,
        stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "every crawl scraped exactly the expected items" in proc.stdout
    # the table has a row per spider with the item counts of this site
    rows = {line.split("|")[1].strip(): line.split("|")[2].strip()
            for line in proc.stdout.splitlines() if line.startswith("| ")}
    assert {name: rows[name] for name in NAMES} == {
        "quotes": "16", "authors": "4", "login": "4", "scroll": "12", "search": "26"}


def test_the_expected_items_are_what_the_checker_compares(tmp_path: Path) -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import porting_compare as pc
    finally:
        sys.path.remove(str(SCRIPT.parent))
    book = pc.QuoteBook.generated(pages=3, authors=4, per_page=4)
    expected = {s: pc.canonical(pc.expected_items(book, s)) for s in NAMES}
    good = pc.Run("acrawl", "login", 0, 0, 0, pc.expected_items(book, "login"), 0, "")
    assert pc.check([good], expected) == []
    bad = pc.Run("acrawl", "login", 0, 0, 0, good.items[1:] + good.items[:1] * 2, 0, "")
    [problem] = pc.check([bad], expected)
    assert "1 repeated" in problem and "0 missing" in problem


@pytest.mark.parametrize("name", NAMES)
def test_each_port_changes_only_imports_and_names(name: str) -> None:
    scrapy_lines = (SPIDERS / "scrapy_spiders" / f"{name}.py").read_text().splitlines()
    acrawl_lines = (SPIDERS / "acrawl_spiders" / f"{name}.py").read_text().splitlines()

    def body(lines: list[str]) -> list[str]:
        return [line for line in lines if not line.startswith(("import ", "from "))]

    renamed = body(scrapy_lines)
    for pattern, repl in RENAMES:
        renamed = [re.sub(pattern, repl, line) for line in renamed]
    assert body(acrawl_lines) == renamed
    imports = [line for line in acrawl_lines if line.startswith(("import ", "from "))]
    assert imports and all(re.fullmatch(r"import acrawl|from acrawl import [\w, ]+", line)
                           for line in imports), imports
    assert "scrapy" not in "\n".join(acrawl_lines).replace("Scrapy", "")
