"""asyncio settings for the app and the headless commands."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)


def quiet_lost_connections(loop: asyncio.AbstractEventLoop) -> None:
    """A connection attempt to a host that went away, abandoned by a timeout, may end in a
    task nobody awaits any more (inside asyncssh's connect): asyncio would print its traceback
    on stderr, over the screen. Such network errors are logged at debug level instead."""
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError | TimeoutError) and "never retrieved" in str(
                context.get("message", "")):
            log.debug("abandoned connection attempt: %s", exc)
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
