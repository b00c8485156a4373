"""VM detail shows how to reach a VM's graphical console from the operator's laptop: the
tunnel's ssh command through the jump box and the viewer's URI (the demo's web-01 and app-01
have VNC on 127.0.0.1 of their host, libvirt's default)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from textual.widgets import Static

from mvm_tui.core.graphics_tunnel import JumpBox
from mvm_tui.models import PowerAction
from mvm_tui.screens.vm_detail import VmDetailScreen, open_vm_detail
from mvm_tui.widgets import graphics
from tests.ui.conftest import Running, advance, sim_of, wait_until

JUMP = JumpBox("jump.example.net", "ops")


@pytest.fixture(autouse=True)
def jump_box(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graphics, "this_jump_box", lambda: JUMP)


def facts(running: Running) -> str:
    demo, _ = running
    static = demo.app.screen.query_one("#vm-facts", Static)
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(static.content)
    return console.export_text()


async def detail(running: Running, vm: str) -> None:
    demo, pilot = running
    open_vm_detail(demo.app, vm)
    await wait_until(pilot, lambda: isinstance(demo.app.screen, VmDetailScreen), what="detail")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_vm_detail_shows_the_tunnel_and_the_viewer_uri(running: Running) -> None:
    await detail(running, "web-01")
    shown = facts(running)
    assert "VNC console" in shown
    assert "127.0.0.1:5900 on hv1" in shown
    # hv1 is 192.0.2.11, logged in to as root (the demo's config)
    assert ("ssh -N -L 15900:127.0.0.1:5900 -J ops@jump.example.net root@192.0.2.11"
            in shown)
    assert "vnc://localhost:15900" in shown


async def test_no_console_rows_without_graphics_and_no_command_when_stopped(
        running: Running) -> None:
    demo, pilot = running
    await detail(running, "db-01")
    assert "console" not in facts(running)

    sim = sim_of(demo)
    await sim.vm_power(await sim.vm_info("web-01"), PowerAction.POWEROFF)
    await advance(pilot, demo, 2.0)
    await detail(running, "web-01")
    await wait_until(pilot, lambda: "when the VM runs" in facts(running), what="stopped")
    assert "ssh " not in facts(running)
