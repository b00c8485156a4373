"""Every dialog is usable at 80x24 (and at 160x48): it fits on the screen, its action buttons
(and the input that starts an action) stay visible outside its body, docked at its bottom, its
body scrolls when it is taller than the screen, and no field of it is cut off at the right.
Opened on the demo cluster as the operator opens them (keys), or pushed as the app pushes them
where that needs a real host."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, RadioButton

from mvm_tui.backends.ssh import HostKeyUnknown, SshTarget
from mvm_tui.core.cluster_form import ClusterForm, HostRow
from mvm_tui.core.ha_journal import Incident
from mvm_tui.core.preflight import Item
from mvm_tui.ha_cli import build_ha_service
from mvm_tui.models import HostState
from mvm_tui.screens.add_cluster import AddClusterScreen
from mvm_tui.screens.add_worker import AddWorkerScreen
from mvm_tui.screens.decommission import DecommissionScreen, TypeHostScreen
from mvm_tui.screens.drill import DrillScreen
from mvm_tui.screens.failback import ask_failback
from mvm_tui.screens.host_key import HostKeyScreen
from mvm_tui.screens.incidents import IncidentsScreen
from mvm_tui.screens.maintenance import MaintenanceScreen
from mvm_tui.screens.password import PasswordScreen
from mvm_tui.screens.placement import PlacementScreen
from mvm_tui.screens.preflight import PreflightScreen
from mvm_tui.services.decommission_runs import decommissions_for
from mvm_tui.services.preflight import PreflightHost, PreflightReport, PreflightSpec
from mvm_tui.widgets.ask import AskModal
from mvm_tui.widgets.confirm import ConfirmModal

from .conftest import DemoApp, advance, first_poll_shown, make_demo, wait_until

SIZES = [(80, 24), (160, 48)]
Opener = Callable[[DemoApp, Pilot[None], Path], Awaitable[None]]


def host_state(demo: DemoApp, name: str) -> HostState:
    return next(h.state for h in demo.session.clusters[0].snapshot().hosts if h.name == name)


async def hv3_in_maintenance(demo: DemoApp, pilot: Pilot[None]) -> None:
    await demo.session.clusters[0].backend.set_maintenance("hv3", True)
    await advance(pilot, demo, 2.0)
    await wait_until(pilot, lambda: host_state(demo, "hv3") is HostState.MAINTENANCE)


async def vm_keys(pilot: Pilot[None], vm: str, *keys: str) -> None:
    await pilot.press("3", "slash", *vm, "enter", *keys)


async def placement(demo: DemoApp, pilot: Pilot[None], tmp: Path) -> None:
    await vm_keys(pilot, "db-01", "p")


async def migration(demo: DemoApp, pilot: Pilot[None], tmp: Path) -> None:
    await placement(demo, pilot, tmp)
    await wait_until(pilot, lambda: isinstance(demo.app.screen, PlacementScreen))
    demo.app.screen.query_one("#host-hv3", RadioButton).value = True
    await pilot.press("enter")


async def power_off(demo: DemoApp, pilot: Pilot[None], tmp: Path) -> None:
    await vm_keys(pilot, "web-01", "f")


async def snapshot(demo: DemoApp, pilot: Pilot[None], tmp: Path) -> None:
    await vm_keys(pilot, "web-01", "b")  # a running VM's: its freeze script, at length
    await wait_until(pilot, lambda: getattr(demo.app.screen, "loaded", False))
    await pilot.press("t")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, AskModal))
    await pilot.press("enter")


async def maintenance(demo: DemoApp, pilot: Pilot[None], tmp: Path) -> None:
    await pilot.press("2", "down", "m")  # hv2: three VMs move


async def leave_maintenance(demo: DemoApp, pilot: Pilot[None], tmp: Path) -> None:
    await hv3_in_maintenance(demo, pilot)
    await pilot.press("2", "down", "down", "m")


async def decommission(demo: DemoApp, pilot: Pilot[None], tmp: Path) -> None:
    await hv3_in_maintenance(demo, pilot)
    await decommission_blocked(demo, pilot, tmp)


async def decommission_blocked(demo: DemoApp, pilot: Pilot[None], tmp: Path) -> None:
    demo.app.decommissions = decommissions_for(demo.session, demo.session.clusters[0], None)
    await pilot.press("2", "down", "down", "x")


async def override(demo: DemoApp, pilot: Pilot[None], tmp: Path) -> None:
    demo.app.push_screen(TypeHostScreen("hv3", "guard 'health' said no: HEALTH_WARN, 1 OSD "
                                        "down, 12 PGs degraded"))


async def drill(demo: DemoApp, pilot: Pilot[None], tmp: Path) -> None:
    await pilot.press("2", "w")


async def failback(demo: DemoApp, pilot: Pilot[None], tmp: Path) -> None:
    ha = build_ha_service(demo.session, demo.session.clusters[0], lock_dir=tmp / "ha")
    ask_failback(demo.app, ha, "web-01", "hv2")


def form() -> ClusterForm:
    return ClusterForm(name="prod", data_devices="/dev/sdb",
                       hosts=[HostRow(name=f"hv{i}", address=f"10.0.0.{10 + i}")
                              for i in (1, 2, 3)])


async def wizard(demo: DemoApp, pilot: Pilot[None], tmp: Path) -> None:
    demo.app.push_screen(AddClusterScreen(form()))


async def discard_form(demo: DemoApp, pilot: Pilot[None], tmp: Path) -> None:
    await wizard(demo, pilot, tmp)
    await wait_until(pilot, lambda: isinstance(demo.app.screen, AddClusterScreen))
    await pilot.press("escape")


async def preflight(demo: DemoApp, pilot: Pilot[None], tmp: Path) -> None:
    hosts = tuple(PreflightHost(f"n{i}", f"10.0.0.{i}") for i in (1, 2, 3))

    async def run(spec: PreflightSpec) -> list[PreflightReport]:
        items = (Item("ssh", "ok", "root"), Item("sudo", "ok", "root"),
                 Item("/dev/sdb", "fail", "holds a partition table", "wipefs -a /dev/sdb"),
                 Item("interface eth0", "fail", "does not exist", "the host has: ens3, lo"),
                 Item("cpu model", "warn", "host-model only"))
        return [PreflightReport(h.name, items) for h in spec.hosts]

    spec = PreflightSpec(hosts, ("/dev/sdb",), ("eth0",), tmp / "known_hosts")
    demo.app.push_screen(PreflightScreen(spec, run))


async def add_worker(demo: DemoApp, pilot: Pilot[None], tmp: Path) -> None:
    demo.app.push_screen(AddWorkerScreen("demo", {"hv1", "hv2", "hv3"}))


async def host_key(demo: DemoApp, pilot: Pilot[None], tmp: Path) -> None:
    demo.app.push_screen(HostKeyScreen(HostKeyUnknown(
        "hv4", "10.0.0.14", 22, "SHA256:" + "x" * 43, "ssh-ed25519 AAAA",
        str(tmp / "known_hosts"))))


async def password(demo: DemoApp, pilot: Pilot[None], tmp: Path) -> None:
    demo.app.push_screen(PasswordScreen(SshTarget("hv4", "10.0.0.14", user="ops"), "sudo"))


async def incidents(demo: DemoApp, pilot: Pilot[None], tmp: Path) -> None:
    found = []
    for i, host in enumerate(("hv1", "hv2", "hv3", "hv1")):
        incident = Incident(host, 1000.0 * i, lost=True, end=1000.0 * i + 300)
        for t, what in enumerate(("suspect: a check failed", "lost", "fenced", "web-01 "
                                  "restarted on hv2", "back", "unfenced")):
            incident.add(1000.0 * i + 10 * t, what)
        incident.downtime = {"web-01": 42.0}
        found.append(incident)
    demo.app.push_screen(IncidentsScreen(tuple(found)))


# each dialog: how it is opened, what it is, and whether its body is taller than an 80x24
# screen (so it must scroll there)
DIALOGS: dict[str, tuple[Opener, type[ModalScreen[Any]], bool]] = {  # (of any result)
    "placement": (placement, PlacementScreen, False),
    "migration": (migration, ConfirmModal, False),
    "power off": (power_off, ConfirmModal, False),
    "snapshot": (snapshot, ConfirmModal, True),
    "maintenance preview": (maintenance, MaintenanceScreen, True),
    "leave maintenance": (leave_maintenance, ConfirmModal, False),
    "decommission": (decommission, DecommissionScreen, True),
    "decommission blocked": (decommission_blocked, DecommissionScreen, True),
    "override a guard": (override, TypeHostScreen, False),
    "failover drill": (drill, DrillScreen, False),
    "failback approval": (failback, ConfirmModal, False),
    "cluster wizard": (wizard, AddClusterScreen, True),
    "discard the wizard's form": (discard_form, ConfirmModal, False),
    "preflight": (preflight, PreflightScreen, True),
    "add worker": (add_worker, AddWorkerScreen, True),
    "unknown host key": (host_key, HostKeyScreen, False),
    "password": (password, PasswordScreen, False),
    "HA incidents": (incidents, IncidentsScreen, True),
}


def visible(widget: Widget, screen_region: Region) -> bool:
    """On the screen and not covered: the widget is what the screen shows at its centre."""
    if not screen_region.contains_region(widget.region) or widget.region.area == 0:
        return False
    x, y = widget.region.center
    found, _ = widget.screen.get_widget_at(int(x), int(y))
    return found is widget


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
@pytest.mark.parametrize("name", list(DIALOGS))
async def test_the_dialog_fits_its_buttons_show_and_its_body_scrolls(
        tmp_path: Path, name: str, size: tuple[int, int]) -> None:
    opener, kind, long = DIALOGS[name]
    demo = make_demo(tmp_path)
    async with demo.app.run_test(size=size) as pilot:
        await first_poll_shown(pilot, demo)
        await opener(demo, pilot, tmp_path)
        await wait_until(pilot, lambda: isinstance(demo.app.screen, kind), what=name)
        await pilot.pause()
        screen = demo.app.screen
        whole = Region(0, 0, *size)
        dialog = screen.query_one(".dialog")
        assert whole.contains_region(dialog.region), (dialog.region, size)
        assert dialog.max_scroll_y == 0  # its body scrolls, not the whole dialog
        body = dialog.query_one(".dialog-body", VerticalScroll)
        actions = [w for w in dialog.query(".dialog-buttons > *")
                   if isinstance(w, Button | Input)]
        assert actions, "no action button"
        for widget in actions:
            assert body not in widget.ancestors
            assert visible(widget, whole), (widget, widget.region)
        for child in body.query("*"):  # nothing to work with is cut off at the right
            if child.focusable and child.region.area:  # (area 0: not displayed)
                assert body.region.x <= child.region.x, child
                assert child.region.right <= body.region.right, (child, child.region)
        if long and size == (80, 24):
            assert body.max_scroll_y > 0, "the body is not taller than the screen here"
        if body.max_scroll_y > 0:
            body.scroll_end(animate=False)
            await pilot.pause()
            assert body.scroll_y == body.max_scroll_y
            end = body.children[-1].region  # its last line is shown
            assert body.region.contains_point((end.x, end.bottom - 1)), "its end is not shown"
            assert all(visible(widget, whole) for widget in actions)
