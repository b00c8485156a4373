"""Summary at scale: with more than MAX_HOSTS_LISTED hosts it lists those that need a look
(not online) and counts the others, instead of a page of healthy hosts."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from mvm_tui.app import MvmApp
from mvm_tui.backends.sim import scaled_cluster
from mvm_tui.clock import VirtualClock
from mvm_tui.config import demo_config
from mvm_tui.screens.summary import MAX_HOSTS_LISTED, SummaryScreen
from mvm_tui.session import open_session

from .conftest import wait_until


def cluster_panel(app: MvmApp) -> list[str]:
    """The lines of the Cluster panel, whole (the screen may show only its top)."""
    screen = app.screen
    assert isinstance(screen, SummaryScreen)
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(screen._cluster_panel(app.cluster.snapshot()))
    return [line.rstrip() for line in console.export_text().splitlines()]


def host_rows(lines: list[str]) -> list[str]:
    return [line for line in lines if "10.20." in line]  # a host's row shows its address


async def test_summary_lists_the_hosts_that_need_a_look_and_counts_the_others(
        tmp_path: Path) -> None:
    clock = VirtualClock()
    backend = scaled_cluster(clock, hosts=40, vms=120)
    session = open_session(demo_config(), demo=True, clock=clock, db_path=tmp_path / "runs.db",
                           backend=backend)
    cluster = session.clusters[0]
    app = MvmApp(cluster, refresh_delay=0.0, prompts=session.prompts)
    async with app.run_test(size=(160, 60)) as pilot:
        await wait_until(pilot, lambda: cluster.poller.polls_done >= 40 and app.up_to_date,
                         what="first poll")
        lines = cluster_panel(app)
        assert not host_rows(lines)  # all online: none listed
        assert "40 more hosts (2 lists every host)" in lines

        backend.cut_network("hv007")
        await clock.advance(cluster.poller.timers.timeout + cluster.poller.timers.interval)
        await wait_until(pilot, lambda: app.up_to_date
                         and any("hv007" in line for line in cluster_panel(app)),
                         what="hv007 listed")
        lines = cluster_panel(app)
        rows = host_rows(lines)
        assert len(rows) == 1
        assert "hv007" in rows[0]
        assert "39 more hosts (2 lists every host)" in lines
    await session.close()
    assert MAX_HOSTS_LISTED < 40
