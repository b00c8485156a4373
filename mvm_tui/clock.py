"""Time as the application sees it: the system clock, or a virtual one for tests and benches.

Everything that waits (poll intervals, timeouts, simulated migrations) goes through a Clock,
so a test can run hours of cluster time in milliseconds and stay deterministic.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class ClockTimeout(TimeoutError):
    """A wait_for() ran out of time."""


async def within(aw: Awaitable[T], seconds: float) -> T:
    """`await aw`, raising TimeoutError after `seconds` (real time). Use it, never
    asyncio.wait_for: on Python 3.11, wait_for loses a cancellation that arrives as `aw`
    completes, so the task goes on (a poll loop polled on after its stop, and the stop waited
    for ever)."""
    async with asyncio.timeout(seconds):
        return await aw


class Clock(ABC):
    @abstractmethod
    def now(self) -> float:
        """Seconds since the epoch."""

    @abstractmethod
    async def sleep(self, seconds: float) -> None: ...

    async def wait_for(self, aw: Awaitable[T], timeout: float) -> T:
        """Await `aw`, cancelling it and raising ClockTimeout after `timeout` clock seconds."""
        task = asyncio.ensure_future(aw)
        timer = asyncio.ensure_future(self.sleep(timeout))
        try:
            await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()  # the waiter is cancelled: so is what it waited for
            raise
        finally:
            timer.cancel()
        if task.done():
            return task.result()
        task.cancel()
        raise ClockTimeout(f"no answer within {timeout:g} s")


class SystemClock(Clock):
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    async def wait_for(self, aw: Awaitable[T], timeout: float) -> T:
        try:
            return await within(aw, timeout)
        except TimeoutError:
            raise ClockTimeout(f"no answer within {timeout:g} s") from None


class VirtualClock(Clock):
    """A clock that only moves when told to. Sleepers wake in deadline order."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01 00:00 UTC
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._seq), fut))
        await fut

    @property
    def next_deadline(self) -> float | None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking every sleeper whose deadline passes, in order, and
        letting each woken task run before time moves on."""
        await settle()  # tasks started just before begin sleeping at the current time
        end = self._now + seconds
        while (deadline := self.next_deadline) is not None and deadline <= end:
            self._now = max(self._now, deadline)
            while self._sleepers and self._sleepers[0][0] <= self._now:
                _, _, fut = heapq.heappop(self._sleepers)
                if not fut.done():
                    fut.set_result(None)
            await settle()
        self._now = end
        await settle()


async def settle(rounds: int = 20) -> None:
    """Let ready tasks run: a few passes of the event loop."""
    for _ in range(rounds):
        await asyncio.sleep(0)
