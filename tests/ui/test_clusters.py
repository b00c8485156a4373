"""Every cluster of the config in one UI (issue 14 §4): a switcher (key 5 and the palette),
the shown cluster's name and colour in the header, every cluster's hosts and VMs in one view
with a cluster column, each cluster with its own HA service, and actions on the shown one
only."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Header

from mvm_tui.app import MvmApp
from mvm_tui.app_clusters import Managed
from mvm_tui.backends.sim import SimBackend
from mvm_tui.backends.sim.clusters import scaled_spec
from mvm_tui.clock import VirtualClock
from mvm_tui.config import ClusterConfig, HostConfig, demo_config
from mvm_tui.ha_cli import build_ha_service
from mvm_tui.models import PowerState
from mvm_tui.services.cluster import Cluster
from mvm_tui.session import Session, open_session, poll_timers
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.resource_table import ResourceTable
from tests.ui.conftest import wait_until

SIZE = (120, 40)
SIZES = [(160, 48), (80, 24)]


def two_clusters(tmp_path: Path) -> tuple[MvmApp, Session, Cluster, VirtualClock]:
    clock = VirtualClock()
    session = open_session(demo_config(), demo=True, clock=clock, db_path=tmp_path / "r.db")
    lab_spec = dataclasses.replace(scaled_spec(hosts=3, vms=6, seed=2), name="lab")
    lab = Cluster(SimBackend(lab_spec, clock, seed=2), clock, session.executor,
                  poll_timers(session.config))
    session.clusters.append(lab)
    demo = session.clusters[0]
    app = MvmApp(demo, refresh_delay=0.0, prompts=session.prompts,
                 ha=build_ha_service(session, demo, tmp_path / "locks"),
                 others=[Managed(lab, build_ha_service(session, lab, tmp_path / "locks"))])
    return app, session, lab, clock


def header_text(app: MvmApp) -> str:
    return str(app.screen.query_one(Header).screen_sub_title)


async def polled(pilot: Pilot[None], session: Session) -> None:
    await wait_until(pilot, lambda: all(c.poller.polls_done >= len(c.backend.hosts)
                                        for c in session.clusters), what="every cluster polled")
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_switching_clusters_with_key_5_and_enter(tmp_path: Path,
                                                       size: tuple[int, int]) -> None:
    app, session, lab, _clock = two_clusters(tmp_path)
    async with app.run_test(size=size) as pilot:
        await polled(pilot, session)
        assert header_text(app) == "cluster demo"
        assert app.has_class("-cluster-blue")
        assert all(m.ha is not None and m.ha.running for m in app.managed)  # each its own HA
        await pilot.press("5")
        await wait_until(pilot, lambda: app.current_mode == "clusters", what="clusters")
        table = app.screen.query_one("#clusters-table", ResourceTable)
        assert [r.key for r in table.rows] == ["demo", "lab"]
        hosts = app.screen.query_one("#all-hosts", ResourceTable)
        assert {r.key.split("/")[0] for r in hosts.rows} == {"demo", "lab"}
        vms = app.screen.query_one("#all-vms", ResourceTable)
        assert sum(r.key.startswith("lab/") for r in vms.rows) == 6
        assert app.screen.get_widget_at(*table.region.offset)[0] is table  # (on screen)
        table.focus()
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: app.cluster is lab and app.current_mode == "summary",
                         what="lab shown on Summary")
        assert header_text(app) == "cluster lab"
        assert app.has_class("-cluster-green")
        assert not app.has_class("-cluster-blue")
        await pilot.press("3")  # the VMs screen lists lab's VMs only
        await wait_until(pilot, lambda: app.current_mode == "vms", what="vms")
        await pilot.pause()
        shown = {r.key for r in app.screen.query_one("#vm-table", ResourceTable).rows}
        assert shown == {v.name for v in lab.snapshot().vms}


async def test_an_action_goes_to_the_shown_cluster_only(tmp_path: Path) -> None:
    app, session, lab, clock = two_clusters(tmp_path)
    demo = session.clusters[0]
    async with app.run_test(size=SIZE) as pilot:
        await polled(pilot, session)
        assert app.switch_cluster("lab", mode="vms")
        await wait_until(pilot, lambda: app.current_mode == "vms", what="vms")
        await pilot.pause()
        vm = next(v for v in lab.snapshot().vms if v.power is PowerState.RUNNING)
        before_demo = {v.name: v.power for v in demo.snapshot().vms}
        table = app.screen.query_one("#vm-table", ResourceTable)
        table.move_to_key(vm.name)
        await pilot.press("f")  # power off, asked first
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
        assert not app.switch_cluster("demo")  # never while a dialog waits for an answer
        assert app.cluster is lab
        await pilot.press("y")
        await wait_until(pilot, lambda: any(r.title.endswith(vm.name)
                                            for r in session.store.list_runs()), what="run")
        for _ in range(30):
            if (await lab.backend.vm_info(vm.name)).power is PowerState.SHUTOFF:
                break
            await clock.advance(1.0)
            await pilot.pause()
        assert (await lab.backend.vm_info(vm.name)).power is PowerState.SHUTOFF
        assert {v.name: v.power for v in demo.snapshot().vms} == before_demo
        assert len(session.store.list_runs(cluster="lab")) == 1
        assert session.store.list_runs(cluster="demo") == []


async def test_the_palette_offers_the_other_clusters(tmp_path: Path) -> None:
    app, session, _lab, _clock = two_clusters(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await polled(pilot, session)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Switch to cluster lab" in titles
        assert "Switch to cluster demo" not in titles


async def test_a_new_cluster_is_shown_as_soon_as_it_is_created(tmp_path: Path) -> None:
    app, session, _lab, clock = two_clusters(tmp_path)
    made: list[str] = []

    def add(spec: ClusterConfig) -> Managed:
        made.append(spec.name)
        backend = SimBackend(dataclasses.replace(scaled_spec(hosts=1, vms=2, seed=3),
                                                 name=spec.name), clock, seed=3)
        return Managed(Cluster(backend, clock, session.executor, poll_timers(session.config),
                               config=spec))

    app.add_cluster = add
    spec = ClusterConfig(name="branch", layout="external", color="red",
                         hosts=[HostConfig(name="b1", address="192.0.2.50")])
    async with app.run_test(size=SIZE) as pilot:
        await polled(pilot, session)
        app.adopt(spec)
        app.adopt(spec)  # (once only)
        assert made == ["branch"]
        assert [m.name for m in app.managed] == ["demo", "lab", "branch"]
        await pilot.press("5")
        await wait_until(pilot, lambda: app.current_mode == "clusters", what="clusters")
        table = app.screen.query_one("#clusters-table", ResourceTable)
        assert sorted(r.key for r in table.rows) == ["branch", "demo", "lab"]
        assert app.switch_cluster("branch")
        await wait_until(pilot, lambda: app.has_class("-cluster-red"), what="its colour")
        assert header_text(app) == "cluster branch"
        await app.managed[2].cluster.stop()
