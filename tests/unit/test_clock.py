"""The virtual clock's wait_for: a waiter that is cancelled cancels what it waited for (else
that goes on alone, and its error is never retrieved)."""

from __future__ import annotations

import asyncio
import contextlib

from mvm_tui.clock import VirtualClock


async def test_cancelling_the_waiter_cancels_the_awaited() -> None:
    clock = VirtualClock()
    started = asyncio.Event()
    inner: list[asyncio.Task[None]] = []

    async def slow() -> None:
        inner.append(asyncio.current_task())  # type: ignore[arg-type]
        started.set()
        await clock.sleep(100)
        raise RuntimeError("nobody would ever see this")

    waiter = asyncio.create_task(clock.wait_for(slow(), 50))
    await started.wait()
    waiter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiter
    await asyncio.sleep(0)
    assert inner[0].cancelled()
