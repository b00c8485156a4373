"""Names that come from hosts are shown as written, in every screen and dialog that shows one.

A VM named `web[/]01` is a closing tag to Textual's markup (the app crashed when its placement
dialog or a confirmation opened) and `[@click=app.quit]x` an action. The simulator here has
VMs and hosts named like that; the test opens every screen and dialog that shows a name, and
checks that the literal name is on screen, that the app still runs, and (the spy) that no
string holding such a name was ever parsed as markup, so a new place that forgets it fails
here as soon as the walk reaches it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import rich.console
import rich.markup
import textual.markup
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from mvm_tui.app import MvmApp
from mvm_tui.backends.sim.backend import SimBackend
from mvm_tui.backends.sim.spec import SimClusterSpec, SimHostSpec, SimVmSpec
from mvm_tui.backends.ssh import HostKeyUnknown, SshTarget
from mvm_tui.clock import VirtualClock
from mvm_tui.config import demo_config
from mvm_tui.models import Layout, Placement, PowerState
from mvm_tui.screens.decommission import DecommissionScreen
from mvm_tui.screens.drill import DrillScreen
from mvm_tui.screens.history import HistoryScreen
from mvm_tui.screens.host_detail import HostDetailScreen
from mvm_tui.screens.host_key import HostKeyScreen
from mvm_tui.screens.hosts import HostsScreen
from mvm_tui.screens.maintenance import MaintenanceScreen
from mvm_tui.screens.password import PasswordScreen
from mvm_tui.screens.placement import PlacementScreen
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.screens.vm_detail import VmDetailScreen
from mvm_tui.screens.vms import VmsScreen
from mvm_tui.services.decommission_runs import decommissions_for
from mvm_tui.session import open_session
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.literal import literal, widget_id
from mvm_tui.widgets.resource_table import ResourceTable
from mvm_tui.widgets.vm_table import VmTable

from .conftest import wait_until

VM_SLASH = "web[/]01"  # a closing tag with nothing open: MarkupError
VM_CLICK = "[@click=app.quit]x"  # an action
VM_BOLD = "[b]db[/b]"
HOST_CLICK = "[@click=app.quit]h2"
HOST_SLASH = "hv[/]3"
HOSTILE = (VM_SLASH, VM_CLICK, VM_BOLD, HOST_CLICK, HOST_SLASH)


def hostile_spec() -> SimClusterSpec:
    hosts = [SimHostSpec(name, f"192.0.2.{10 + i}", vcpus=8, memory_mb=32768, storage_gb=250.0)
             for i, name in enumerate(("hv1", HOST_CLICK, HOST_SLASH), 1)]
    vms = [
        SimVmSpec(VM_SLASH, "hv1", 1, 2048, 20, Placement.AUTO, load=0.2),
        SimVmSpec(VM_CLICK, HOST_CLICK, 1, 2048, 20, Placement.FAILOVER, load=0.2),
        SimVmSpec(VM_BOLD, HOST_SLASH, 1, 2048, 20, Placement.AUTO, power=PowerState.SHUTOFF),
        SimVmSpec("plain-01", HOST_SLASH, 1, 2048, 20, Placement.AUTO, load=0.1),
    ]
    return SimClusterSpec(name="demo", layout=Layout.HCI, hosts=hosts, vms=vms)


def unescaped(text: str, name: str) -> bool:
    """`name` occurs in `text` and is not escaped there (a backslash before its bracket)."""
    return any(m.start() == 0 or text[m.start() - 1] != "\\"
               for m in re.finditer(re.escape(name), text))


@pytest.fixture
def markup_spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every markup string (Textual's and Rich's parsers) that holds a hostile name."""
    parsed: list[str] = []

    def spy(original: Callable[..., Any]) -> Callable[..., Any]:
        def parse(markup: str, *args: Any, **kwargs: Any) -> Any:
            if isinstance(markup, str) and any(unescaped(markup, n) for n in HOSTILE):
                parsed.append(markup)
            return original(markup, *args, **kwargs)
        return parse

    monkeypatch.setattr(textual.markup, "to_content", spy(textual.markup.to_content))
    monkeypatch.setattr(rich.markup, "render", spy(rich.markup.render))
    # rich.console calls its own binding of markup.render, not exported: patched there
    monkeypatch.setattr(rich.console, "render_markup",
                        spy(rich.console.render_markup))  # type: ignore[attr-defined]
    return parsed


def screen_text(app: MvmApp) -> str:
    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


async def shows(pilot: Pilot[None], app: MvmApp, screen_type: type, *names: str) -> None:
    """The screen is in front and shows each name as written (at 80x24, where long names
    wrap or are cut, only that it is in front: the spy still sees every markup parse)."""
    await wait_until(pilot, lambda: isinstance(app.screen, screen_type), what=screen_type.__name__)
    await pilot.pause()
    text = screen_text(app)
    for name in names if app.size.width >= 160 else ():
        assert name in text, f"{name!r} is not shown literally on {screen_type.__name__}"
    assert app.is_running


async def back(pilot: Pilot[None], app: MvmApp, screen_type: type) -> None:
    await pilot.press("escape")
    await wait_until(pilot, lambda: isinstance(app.screen, screen_type), what=screen_type.__name__)


def test_literal_makes_a_plain_text_and_widget_id_a_valid_id() -> None:
    assert literal(VM_SLASH).plain == VM_SLASH
    assert not literal(VM_CLICK).spans
    assert widget_id("host", "hv1") == "host-hv1"
    odd = widget_id("host", HOST_SLASH)
    assert re.fullmatch(r"[A-Za-z_-][A-Za-z0-9_-]*", odd)
    assert odd != widget_id("host", "hv[/]4")


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_every_screen_and_dialog_shows_names_from_hosts_literally(
        tmp_path: Path, markup_spy: list[str], size: tuple[int, int]) -> None:
    clock = VirtualClock()
    session = open_session(demo_config(), demo=True, clock=clock, db_path=tmp_path / "runs.db",
                           backend=SimBackend(hostile_spec(), clock, seed=7))
    cluster = session.clusters[0]
    app = MvmApp(cluster, refresh_delay=0.0, prompts=session.prompts,
                 decommissions=decommissions_for(session, cluster, None))
    async with app.run_test(size=size, notifications=True) as pilot:
        await wait_until(pilot, lambda: cluster.poller.polls_done >= 3 and app.up_to_date,
                         what="first poll")
        await pilot.pause()
        assert HOST_CLICK in screen_text(app)
        assert HOST_SLASH in screen_text(app)  # Summary

        # VMs, the placement dialog, a power confirmation, VM detail
        await pilot.press("3")
        await shows(pilot, app, VmsScreen, VM_SLASH, VM_CLICK, VM_BOLD)
        table = app.screen.query_one(VmTable)
        table.move_to_key(VM_SLASH)
        await pilot.press("p")
        await shows(pilot, app, PlacementScreen, f"Placement of {VM_SLASH}", HOST_CLICK,
                    HOST_SLASH)
        await back(pilot, app, VmsScreen)
        await pilot.press("f")
        await shows(pilot, app, ConfirmModal, f"Power off {VM_SLASH} on hv1?")
        await back(pilot, app, VmsScreen)
        await pilot.press("ctrl+p", *"Power off")  # the palette: the selected VM's actions
        await wait_until(pilot, lambda: any(
            f"Power off {VM_SLASH}" in str(o.prompt)
            for o in app.screen.query_one(CommandList)._options), what="the palette")
        # (the match's highlight splits "Power off": the name is what is checked)
        await shows(pilot, app, CommandPalette, VM_SLASH, "Power action on the selected VM")
        await back(pilot, app, VmsScreen)
        table.move_to_key(VM_CLICK)
        await pilot.press("enter")
        await shows(pilot, app, VmDetailScreen, VM_CLICK, HOST_CLICK)
        await pilot.press("p")  # its placement, from its own screen
        await shows(pilot, app, PlacementScreen, f"Placement of {VM_CLICK}")
        await back(pilot, app, VmDetailScreen)
        await back(pilot, app, VmsScreen)

        # a run about a VM: started, then in History and its own screen
        table.move_to_key(VM_BOLD)
        await pilot.press("u")  # start: not disruptive, it runs at once
        await shows(pilot, app, RunDetailScreen, f"Start {VM_BOLD}")
        await wait_until(pilot, lambda: session.store.list_runs()[0].ended is not None,
                         what="the start run")
        await pilot.press("escape", "4")
        await shows(pilot, app, HistoryScreen, f"Start {VM_BOLD}", VM_BOLD)
        await pilot.press("enter")
        await shows(pilot, app, RunDetailScreen, f"Start {VM_BOLD} on {HOST_SLASH}")
        await back(pilot, app, HistoryScreen)

        # Hosts: maintenance preview, drill, decommission plan, host detail
        await pilot.press("2")
        await shows(pilot, app, HostsScreen, HOST_CLICK[:12], HOST_SLASH)  # a 14-column name
        hosts = app.screen.query_one(ResourceTable)
        hosts.move_to_key(HOST_CLICK)
        await pilot.press("m")
        await shows(pilot, app, MaintenanceScreen, f"Enter maintenance: {HOST_CLICK}", VM_CLICK)
        await back(pilot, app, HostsScreen)
        await pilot.press("w")
        await shows(pilot, app, DrillScreen, f"what if {HOST_CLICK} is lost now?", VM_CLICK)
        await back(pilot, app, HostsScreen)
        hosts.move_to_key(HOST_SLASH)  # a name Ceph's commands refuse: said, literally
        await pilot.press("x")
        await wait_until(pilot, lambda: bool(app._notifications), what="the refusal")
        await pilot.pause()
        assert [(n.markup, "invalid monitor name 'hv[/]3'" in n.message)
                for n in app._notifications] == [(False, True)]
        await wait_until(pilot, lambda: "'hv[/]3'" in screen_text(app), what="the toast")
        assert app.is_running
        app.clear_notifications()
        hosts.move_to_key("hv1")
        await pilot.press("x")
        await shows(pilot, app, DecommissionScreen, "Decommission hv1")
        await back(pilot, app, HostsScreen)
        hosts.move_to_key(HOST_SLASH)
        await pilot.press("enter")
        await shows(pilot, app, HostDetailScreen, HOST_SLASH, "192.0.2.13")
        tabs = app.screen.query_one(TabbedContent)
        tabs.active = "host-vms"
        await shows(pilot, app, HostDetailScreen, VM_BOLD, "plain-01")
        tabs.active = "host-history"
        await shows(pilot, app, HostDetailScreen, f"Start {VM_BOLD}")
        await back(pilot, app, HostsScreen)

        # the host key and password dialogs, about a host named like that
        key = HostKeyUnknown(HOST_CLICK, "192.0.2.12", 22, "SHA256:abc", "ssh-ed25519 AAAA",
                             "/tmp/known_hosts")
        app.push_screen(HostKeyScreen(key))
        await shows(pilot, app, HostKeyScreen, f"Unknown host key: {HOST_CLICK}")
        await back(pilot, app, HostsScreen)
        app.push_screen(PasswordScreen(SshTarget(HOST_SLASH, "192.0.2.13", user="[i]ops"),
                                       "sudo"))
        await shows(pilot, app, PasswordScreen, f"Sudo password: {HOST_SLASH}", "[i]ops@")
        await back(pilot, app, HostsScreen)

        # a notification that holds a name
        app.notify(f"{VM_CLICK} stays where it runs", title=f"HA {HOST_SLASH}")
        shown = f"{VM_CLICK} stays where it runs" if size[0] >= 160 else "stays where it"
        await wait_until(pilot, lambda: shown in screen_text(app), what="the notification")
        assert all(not n.markup for n in app._notifications)
        assert app.is_running
    assert markup_spy == []
