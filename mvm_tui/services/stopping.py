"""Stopping what runs, bounded: a quit must never hang on a connection or a task that does not
end (one lab run hung in a cluster's stop, saying nothing)."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

STOP_WAIT_S = 30.0


async def stop_within(what: str, steps: list[tuple[str, Callable[[], Awaitable[None]]]],
                      seconds: float = STOP_WAIT_S) -> None:
    """Each step in turn; one not finished within `seconds` is cancelled and left behind, with
    an error logged that shows where the tasks wait. A step's own error is raised."""
    for name, step in steps:
        task = asyncio.ensure_future(step())
        done, _ = await asyncio.wait({task}, timeout=seconds)
        if task in done:
            task.result()
            continue
        task.cancel()
        log.error("%s: %s did not finish within %g s and was left behind; where its "
                  "tasks wait:\n%s", what, name, seconds, waiting())


def waiting() -> str:
    """The stack of every task but Textual's."""
    out = io.StringIO()
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        if code is None or "/textual/" not in code.co_filename:
            task.print_stack(file=out)
    return out.getvalue()
