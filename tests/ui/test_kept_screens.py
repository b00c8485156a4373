"""Screens shown again are not built again (issue 16): a mode's screen is painted at once when
it exists already, and the VM detail screen is kept and shown for the next VM."""

from __future__ import annotations

import asyncio

import pytest

from mvm_tui.models import PowerState
from mvm_tui.screens.hosts import HostsScreen
from mvm_tui.screens.vm_detail import KEPT, VmDetailScreen, open_vm_detail
from mvm_tui.screens.vms import VmsScreen
from tests.ui.conftest import Running, screen_of, sim_of, wait_until


async def first_detail_of_two(running: Running) -> tuple[str, str]:
    """Two VMs' names; the first one's detail opened from the VMs screen."""
    demo, pilot = running
    first, second = sorted(v.name for v in demo.session.clusters[0].snapshot().vms)[:2]
    await pilot.press("3")
    open_vm_detail(demo.app, first)
    await wait_until(pilot, lambda: isinstance(demo.app.screen, VmDetailScreen), what="detail")
    return first, second


async def test_a_mode_built_already_is_painted_without_a_pause(running: Running) -> None:
    demo, pilot = running
    app = demo.app
    app.switch_mode("hosts")  # built now: Textual holds paints back while it composes
    assert app._batch_count > 0
    await wait_until(pilot, lambda: app._batch_count == 0, what="the first pause over")
    await pilot.press("1")
    app.switch_mode("hosts")
    assert app._batch_count == 0  # nothing held back: the next paint shows it
    assert isinstance(app.screen, HostsScreen)


async def test_the_detail_screen_is_kept_and_shows_the_next_vm(running: Running) -> None:
    demo, pilot = running
    app = demo.app
    first, second = await first_detail_of_two(running)
    detail = screen_of(app, VmDetailScreen)
    await pilot.press("right")  # the Disks tab
    assert detail._tab() == "vm-disks"
    await pilot.press("escape")
    await wait_until(pilot, lambda: isinstance(app.screen, VmsScreen), what="the VMs again")

    open_vm_detail(app, second)
    await wait_until(pilot, lambda: isinstance(app.screen, VmDetailScreen), what="detail")
    await pilot.pause()
    assert app.screen is detail is app.get_screen(KEPT)
    assert detail.vm_name == second
    assert detail.sub_title == f"VM {second}"
    assert detail._tab() == "vm-summary"
    shown = app.export_screenshot()
    assert second in shown
    assert first not in shown


async def test_an_answer_for_the_vm_shown_before_is_not_shown(
        running: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    demo, pilot = running
    app, sim = demo.app, sim_of(demo)
    up = sorted(v.name for v in demo.session.clusters[0].snapshot().vms
                if v.power is PowerState.RUNNING)
    first, second = up[0], up[1]
    release = asyncio.Event()
    asked: list[str] = []

    async def addresses(vm: str) -> tuple[str, ...] | None:
        asked.append(vm)
        if vm == first:
            await release.wait()
            return ("192.0.2.1/24",)
        return ("192.0.2.2/24",)

    monkeypatch.setattr(sim, "guest_addresses", addresses)
    await pilot.press("3")
    open_vm_detail(app, first)
    await wait_until(pilot, lambda: asked == [first], what="the first VM's agent asked")
    await pilot.press("escape")
    open_vm_detail(app, second)
    await wait_until(pilot, lambda: asked == [first, second], what="the second VM's agent asked")
    await wait_until(pilot, lambda: screen_of(app, VmDetailScreen).addresses is not None,
                     what="the second VM's addresses")
    release.set()
    await pilot.pause()
    assert screen_of(app, VmDetailScreen).addresses == ("192.0.2.2/24",)


async def test_a_detail_open_in_another_mode_is_not_taken_from_it(running: Running) -> None:
    demo, pilot = running
    app = demo.app
    first, second = await first_detail_of_two(running)
    kept = app.screen
    await pilot.press("2")  # (the VMs' mode key would close that detail when coming back)
    await wait_until(pilot, lambda: isinstance(app.screen, HostsScreen), what="the hosts")
    open_vm_detail(app, second)
    await wait_until(pilot, lambda: isinstance(app.screen, VmDetailScreen), what="detail")
    assert app.screen is not kept
    assert screen_of(app, VmDetailScreen).vm_name == second
    assert isinstance(kept, VmDetailScreen)
    assert kept.vm_name == first
    await pilot.pause()  # (its mount done before the app exits)
