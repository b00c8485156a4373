"""The virtual clock's wait_for: a waiter that is cancelled cancels what it waited for (else
that goes on alone, and its error is never retrieved)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from mvm_tui.clock import Clock, SystemClock, VirtualClock, within


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


@pytest.mark.parametrize("clock", [SystemClock(), VirtualClock()], ids=["system", "virtual"])
async def test_a_cancellation_that_arrives_as_the_awaited_completes_is_not_lost(
        clock: Clock) -> None:
    """asyncio.wait_for on Python 3.11 returned the result instead: a poll loop stopped as a
    poll completed went on polling, and its stop waited for ever."""
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    waiter = asyncio.create_task(clock.wait_for(answer, 50))
    await asyncio.sleep(0)  # the waiter waits
    answer.set_result("polled")
    waiter.cancel()  # in the same turn of the loop
    with contextlib.suppress(asyncio.CancelledError):
        await waiter
    assert waiter.cancelled()


async def test_within_times_out() -> None:
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    with pytest.raises(TimeoutError):
        await within(never, 0.01)
