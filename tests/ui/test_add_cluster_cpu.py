"""The Add Cluster wizard's CPU model with Pilot: host-model by default, completed from
host-model, host-passthrough and the names the app gives (libvirt's CPU map)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from mvm_tui.screens.add_cluster import AddClusterScreen

from .conftest import SIZE, Running, first_poll_shown, make_demo, wait_until
from .test_add_cluster import open_form, type_into, valid_form


async def completed(pilot: Pilot[None], screen: AddClusterScreen, typed: str,
                    expected: str) -> str:
    """Type into the CPU model, wait for the completion `expected` (none when it is what was
    typed), accept it (→) and return the field's value."""
    await type_into(pilot, screen, "f-cpu_model", typed)
    field = screen.query_one("#f-cpu_model", Input)
    if expected != typed:
        await wait_until(pilot, lambda: field._suggestion == expected, timeout=2,
                         what=f"the completion {expected}")
    await pilot.press("right")
    await pilot.pause()
    return field.value


async def test_the_wizard_completes_the_names_it_is_given(running: Running) -> None:
    demo, pilot = running
    demo.app.push_screen(AddClusterScreen(valid_form(),
                                          cpu_models=["EPYC-Rome", "Skylake-Server"]))
    await wait_until(pilot, lambda: isinstance(demo.app.screen, AddClusterScreen))
    await pilot.pause()
    screen = demo.app.screen
    assert isinstance(screen, AddClusterScreen)
    assert screen.cpu_models == ("host-model", "host-passthrough", "EPYC-Rome", "Skylake-Server")
    assert screen.query_one("#f-cpu_model", Input).value == "host-model"  # the default
    assert await completed(pilot, screen, "EPY", "EPYC-Rome") == "EPYC-Rome"
    assert screen.form.cpu_model == "EPYC-Rome"
    assert await completed(pilot, screen, "sky", "Skylake-Server") == "Skylake-Server"  # case aside
    assert await completed(pilot, screen, "host-p", "host-passthrough") == (
        "host-passthrough")
    assert await completed(pilot, screen, "Zen", "Zen") == "Zen"  # not offered: nothing to complete


async def test_without_names_only_the_modes_are_offered(running: Running) -> None:
    demo, pilot = running
    screen, _ = await open_form(demo, pilot, valid_form())
    assert screen.cpu_models == ("host-model", "host-passthrough")
    assert await completed(pilot, screen, "EPY", "EPY") == "EPY"


async def test_the_app_offers_libvirts_cpu_map(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mvm_tui.app_build.cpu_model_names", lambda: ["Cooperlake", "EPYC-Milan"])
    demo = make_demo(tmp_path)
    async with demo.app.run_test(size=SIZE) as pilot:
        await first_poll_shown(pilot, demo)
        demo.app.action_new_cluster()
        await wait_until(pilot, lambda: isinstance(demo.app.screen, AddClusterScreen))
        await pilot.pause()
        screen = demo.app.screen
        assert isinstance(screen, AddClusterScreen)
        assert screen.cpu_models == ("host-model", "host-passthrough", "Cooperlake",
                                     "EPYC-Milan")
        assert screen.form.cpu_model == "host-model"
