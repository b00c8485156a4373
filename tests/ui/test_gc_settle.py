"""The TUI settles the garbage collector once, after every host has been polled
(mvm_tui/gc_policy.py); an app made without asking for it (tests, benches of other things)
leaves the process's collector alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvm_tui import app as app_module
from mvm_tui.app import MvmApp
from mvm_tui.clock import VirtualClock
from mvm_tui.config import demo_config
from mvm_tui.session import open_session

from .conftest import wait_until


@pytest.mark.parametrize("settle", [True, False])
async def test_the_collector_is_settled_once_every_host_answered_when_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settle: bool) -> None:
    settled: list[int] = []
    clock = VirtualClock()
    session = open_session(demo_config(), demo=True, clock=clock, db_path=tmp_path / "runs.db")
    cluster = session.clusters[0]
    hosts = len(cluster.backend.hosts)
    monkeypatch.setattr(app_module, "settle_after_start",
                        lambda: settled.append(cluster.poller.polls_done))
    app = MvmApp(cluster, refresh_delay=0.0, prompts=session.prompts, settle_gc=settle)
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: cluster.poller.polls_done >= hosts and app.up_to_date,
                         what="first poll of every host")
        for _ in range(3):
            await clock.advance(cluster.poller.timers.interval)
            await wait_until(pilot, lambda: app.up_to_date, what="a refresh")
    await session.close()
    if settle:
        assert len(settled) == 1
        assert settled[0] >= hosts
    else:
        assert settled == []
