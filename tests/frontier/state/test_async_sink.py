"""``--state`` with a sink whose ``write`` really awaits (a remote store): a crawl that exits 0
has written every item and left nothing pending in the state."""

from __future__ import annotations

import re
from pathlib import Path

from state_support import canon, describe, output_urls, run, write_module

from acrawl.demo.site import LinkSite

SLOW_SINK = """
    import asyncio
    import json

    from acrawl import hookimpl


    class SlowSink:
        def __init__(self, path):
            self.path = path

        async def open(self):
            self.fh = open(self.path, "a")

        async def write(self, items):
            await asyncio.sleep(1.0)  # a slow round trip to a remote store
            self.fh.write("".join(json.dumps(item) + "\\n" for item in items))
            self.fh.flush()

        async def close(self):
            self.fh.close()


    @hookimpl
    def acrawl_open_sink(uri, settings):
        if uri.startswith("slow:"):
            return SlowSink(uri[len("slow:"):])
    """


def test_finished_crawl_with_an_awaiting_sink_wrote_everything(tmp_path: Path,
                                                               link_site) -> None:
    """Items are flushed by the periodic flusher only (huge batch size, short interval), and
    each write takes 1 s: when the crawl ends, a flush is in progress. It must complete; the
    requests of its items must be done in the state."""
    srv = link_site(pages=300)
    pages = LinkSite(pages=300).page_urls(srv.base_url)
    write_module(tmp_path, "slow_sink.py", SLOW_SINK)
    args = ["links", "-a", f"url={srv.base_url}/", "--no-robots", "--state", "state",
            "-p", "slow_sink", "-o", "slow:out.jsonl", "-s", "item_flush_interval=0.01",
            "-s", "item_batch_size=100000"]
    result = run(tmp_path, *args, env_extra={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, describe(result.returncode, result.stderr, result.stdout)
    urls = output_urls(tmp_path, "out.jsonl")
    missing = pages - {canon(u) for u in urls}
    assert not missing, (f"the crawl exited 0 but {len(missing)} of {len(pages)} items were "
                         "never written (a flush in progress was cancelled at the end)")
    again = run(tmp_path, *args, env_extra={"PYTHONPATH": str(tmp_path)})
    m = re.search(r"(\d+) requests pending", again.stderr)
    assert m and m[1] == "0", f"a finished crawl left requests pending:\n{again.stderr[-2000:]}"
