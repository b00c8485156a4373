"""Stopping is bounded: a step that never ends is left behind with where it waits logged, and a
cluster stops once however many callers ask."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from mvm_tui.config import demo_config
from mvm_tui.services.stopping import stop_within
from mvm_tui.session import open_session


async def _deaf_to_cancel(started: asyncio.Event, released: asyncio.Event) -> None:
    started.set()
    while True:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if released.is_set():
                raise
            # else deaf to it: the kind of bug stop_within must survive


async def test_a_step_that_never_ends_is_left_behind_and_where_it_waits_is_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    started, released, after = asyncio.Event(), asyncio.Event(), []
    hung = asyncio.ensure_future(_deaf_to_cancel(started, released))

    async def waits_on_the_hung_task() -> None:
        await hung

    async def next_step() -> None:
        after.append("closed")

    try:
        await stop_within("cluster c", [("polling", waits_on_the_hung_task),
                                        ("its connections", next_step)], seconds=0.05)
    finally:
        released.set()
        hung.cancel()
    assert started.is_set()
    assert after == ["closed"]  # the next step ran all the same
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "cluster c: polling did not finish within 0.05 s" in record.getMessage()
    assert "_deaf_to_cancel" in record.getMessage()  # the stuck task's stack


async def test_a_step_that_fails_says_so() -> None:
    async def fails() -> None:
        raise RuntimeError("closing failed")

    with pytest.raises(RuntimeError, match="closing failed"):
        await stop_within("cluster c", [("its connections", fails)], seconds=5)


async def test_a_cluster_stops_once_for_every_caller(tmp_path: Path) -> None:
    session = open_session(demo_config(), demo=True, db_path=tmp_path / "runs.db")
    cluster = session.clusters[0]
    closed = []
    original = cluster.backend.close

    async def close() -> None:
        closed.append(1)
        await original()

    cluster.backend.close = close  # type: ignore[method-assign]
    cluster.start()
    await asyncio.gather(cluster.stop(), cluster.stop())
    await session.close()
    assert closed == [1]
