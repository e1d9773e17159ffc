"""A process killed between two writes of the state: the state it leaves must still resume
without losing a request or duplicating one.

Each test runs a few frontier operations on a :class:`~acrawl.frontier.sqlite.SqliteState` in a
child process that dies (``os._exit``, as under SIGKILL) at one precise point, then opens the
state again as a resume does.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from acrawl.core.scheduler import Scheduler
from acrawl.frontier.politeness import Politeness
from acrawl.frontier.sqlite import SqliteState
from acrawl.http import Request
from acrawl.spider import Spider

CHILD = "http://127.0.0.1:9/child"


class S(Spider):
    name = "s"


def _die_in_child(state_dir: Path, body: str) -> None:
    script = textwrap.dedent("""
        import asyncio, os, sys
        from acrawl.http import Request
        from acrawl.core.scheduler import Scheduler
        from acrawl.spider import Spider
        from acrawl.frontier.politeness import Politeness
        from acrawl.frontier.sqlite import SqliteState

        class S(Spider):
            name = "s"

        state = SqliteState.open_dir(sys.argv[1], S())
        sched = Scheduler(queue=state.queue, dupefilter=state.dupefilter,
                          politeness=Politeness())

        async def die(*args, **kwargs):
            os._exit(9)  # the process is killed here

        def die_now(*args, **kwargs):
            os._exit(9)  # killed inside an open transaction

        async def main():
        {body}

        asyncio.run(main())
        raise SystemExit("not killed")
        """).format(body=textwrap.indent(textwrap.dedent(body), "    "))
    done = subprocess.run([sys.executable, "-c", script, str(state_dir)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 9, done.stderr


async def _resumed(state_dir: Path) -> tuple[SqliteState, Scheduler]:
    state = SqliteState.open_dir(state_dir, S())
    return state, Scheduler(queue=state.queue, dupefilter=state.dupefilter,
                            politeness=Politeness())


async def test_killed_between_dedup_and_queue_insert_loses_no_request(tmp_path: Path) -> None:
    """A parent page yields CHILD; the process dies while CHILD is being recorded (dedup and
    queue insert). On resume the parent is fetched again and yields CHILD again: it must be
    accepted (or already pending), not dropped as a duplicate of a request nobody holds.
    Dies after the dedup check, inside the transaction that also queues the request."""
    _die_in_child(tmp_path, f"""
        state.queue.encode = die_now
        await sched.add([Request({CHILD!r})])
        """)
    state, sched = await _resumed(tmp_path)
    try:
        pending = await sched.pending()
        accepted = await sched.add([Request(CHILD)])
        assert pending + len(accepted) == 1, (
            "CHILD is marked seen but is not in the queue: it is lost for good "
            "(dedup and queue insert are two transactions)")
    finally:
        state.close()


async def test_killed_between_retry_push_and_done_duplicates_no_request(tmp_path: Path) -> None:
    """A retry replaces the failed attempt (``Scheduler.take``: queue the retry and forget the
    attempt). Killed after the retry row is written but before the attempt is forgotten, the
    resumed queue must hold CHILD once, not twice (two downloads, two items for one page)."""
    _die_in_child(tmp_path, f"""
        await sched.add([Request({CHILD!r})])
        [req] = await sched.take(1)
        sched.add_later(req.replace(retries=1), 0.0, replaces=req)
        state.queue._take_ids = die_now
        await sched.take(1)
        """)
    state, sched = await _resumed(tmp_path)
    try:
        queued = await sched.pending()
        assert queued == 1, f"CHILD is queued {queued} times after the resume"
    finally:
        state.close()
