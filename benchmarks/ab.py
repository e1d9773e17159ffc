"""Two builds of acrawl side by side: ``acrawl-run bench`` from two venvs, runs alternated.

    python benchmarks/ab.py /work/venv-base /work/venv-head --rounds 20
    python benchmarks/ab.py OLD NEW --rounds 10 -- -a pages=2000 -a latency=0.01

Each venv has one build installed (``pip install -e '<checkout>[speed]'``); compile both
checkouts first (``python -m compileall -q src``) where ``PYTHONDONTWRITEBYTECODE`` is set, or
every start compiles the package from source. Each round runs both builds, the one that goes
first alternating (ABBA…), so a drift of the machine's speed weighs on both alike. The report
gives, per build, the median and mean of pages/s and CPU seconds per 1000 pages, and the
paired ratios NEW/OLD of the runs of one round, with their median and a bootstrap 95%
interval of that median. On a shared machine single runs spread by ±10%: compare ratios, not
absolute figures, and use enough rounds for the interval to be narrower than the effect
looked for.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import subprocess
import sys
from pathlib import Path

_LINE = re.compile(r"= (?P<pps>[\d.]+) pages/s;.* (?P<cpu>[\d.]+) CPU s per 1000 pages")


def run_once(venv: Path, bench_args: list[str]) -> tuple[float, float]:
    """One ``acrawl-run bench`` of ``venv``: (pages/s, CPU s per 1000 pages)."""
    cmd = [str(venv / "bin" / "acrawl-run"), "bench", *bench_args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in proc.stderr.splitlines():
        if line.startswith("bench:") and (m := _LINE.search(line)):
            return float(m["pps"]), float(m["cpu"])
    raise SystemExit(f"ab: no 'bench:' line from {' '.join(cmd)} (exit {proc.returncode}):\n"
                     + proc.stderr[-2000:])


def interval(ratios: list[float], samples: int = 2000) -> tuple[float, float]:
    """A bootstrap 95% interval of the median of ``ratios``."""
    rng = random.Random(0)
    medians = sorted(statistics.median(rng.choices(ratios, k=len(ratios)))
                     for _ in range(samples))
    return medians[int(samples * 0.025)], medians[int(samples * 0.975) - 1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("old", type=Path, help="venv of the reference build")
    p.add_argument("new", type=Path, help="venv of the build measured against it")
    p.add_argument("--rounds", type=int, default=10)
    p.epilog = "arguments after -- go to acrawl-run bench (default: -a pages=10000)"
    argv = sys.argv[1:] if argv is None else argv
    cut = argv.index("--") if "--" in argv else len(argv)
    args = p.parse_args(argv[:cut])
    bench_args = argv[cut + 1:] or ["-a", "pages=10000"]
    for venv in (args.old, args.new):
        if not (venv / "bin" / "acrawl-run").exists():
            p.error(f"{venv} has no bin/acrawl-run: install a build of acrawl in it")
    runs: dict[str, list[tuple[float, float]]] = {"old": [], "new": []}
    for n in range(args.rounds):
        order = ("old", "new") if n % 2 == 0 else ("new", "old")
        for which in order:
            pps, cpu = run_once(getattr(args, which), bench_args)
            runs[which].append((pps, cpu))
            print(f"round {n + 1:3} {which}: {pps:7.0f} pages/s {cpu:6.3f} CPU s/1000 pages",
                  flush=True)
    print()
    for which in ("old", "new"):
        pps = [r[0] for r in runs[which]]
        cpu = [r[1] for r in runs[which]]
        print(f"{which} ({getattr(args, which)}): pages/s median {statistics.median(pps):.0f} "
              f"mean {statistics.mean(pps):.0f} best {max(pps):.0f}; CPU s/1000 pages median "
              f"{statistics.median(cpu):.3f} mean {statistics.mean(cpu):.3f} min {min(cpu):.3f}")
    for label, i in (("pages/s", 0), ("CPU per page", 1)):
        ratios = [new[i] / old[i] for old, new in zip(runs["old"], runs["new"], strict=True)]
        low, high = interval(ratios)
        of_means = (statistics.mean(r[i] for r in runs["new"])
                    / statistics.mean(r[i] for r in runs["old"]))
        print(f"new/old {label}: paired median {statistics.median(ratios):.3f} "
              f"(95% interval {low:.3f}-{high:.3f}), ratio of means {of_means:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
