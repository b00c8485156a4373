"""The wizard as a new user meets it: '-' only removes a host row that has the focus, Tab
does not select a field's text, Esc keeps the form (asks, or goes back from the preflight),
`p` with no host ready says why, and the Port field shows its whole value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from textual.widgets import Button, Input, RadioSet

from mvm_tui.core.cluster_form import Auth, ClusterForm, HostRow
from mvm_tui.core.preflight import Item
from mvm_tui.screens.add_cluster import AddClusterScreen
from mvm_tui.screens.add_worker import AddWorkerScreen
from mvm_tui.screens.preflight import PreflightScreen
from mvm_tui.services.preflight import PreflightReport
from mvm_tui.widgets.confirm import ConfirmModal

from .conftest import DemoApp, Running, first_poll_shown, make_demo, screen_of, wait_until
from .test_add_cluster import open_form, valid_form


def notes(app: Any) -> list[str]:
    return [n.message for n in app._notifications]


async def test_minus_outside_a_host_row_removes_nothing(running: Running) -> None:
    demo, pilot = running
    screen, _ = await open_form(demo, pilot, valid_form())
    screen.query_one("#add-cluster-layout", RadioSet).focus()
    await pilot.press("minus", "minus", "minus")
    await pilot.pause()
    assert len(screen.form.hosts) == 3
    assert len(screen.query(".host")) == 3
    assert any("host row" in n for n in notes(demo.app))
    screen.query_one("#h2-auth").focus()  # in the third row: that row goes
    await pilot.press("minus")
    await wait_until(pilot, lambda: len(screen.query(".host")) == 2, what="a row removed")
    assert [h.name for h in screen.form.hosts] == ["hv1", "hv2"]


async def test_tab_into_a_field_does_not_select_its_text(running: Running) -> None:
    demo, pilot = running
    screen, _ = await open_form(demo, pilot, valid_form())
    screen.query_one("#h0-address", Input).focus()
    await pilot.press("shift+tab")
    await wait_until(pilot, lambda: screen.focused is screen.query_one("#h0-name", Input))
    await pilot.press("x")
    await pilot.pause()
    assert screen.form.hosts[0].name in ("hv1x", "xhv1")  # typed in, not replacing "hv1"


async def test_escape_on_the_form_asks_and_can_keep_it(running: Running) -> None:
    demo, pilot = running
    screen, results = await open_form(demo, pilot, valid_form())
    await pilot.press("escape")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    await pilot.press("n")
    await wait_until(pilot, lambda: demo.app.screen is screen, what="the form again")
    assert results == []
    assert screen.form.name == "prod"


async def test_escape_on_an_empty_form_closes_it(running: Running) -> None:
    demo, pilot = running
    _, results = await open_form(demo, pilot)
    await pilot.press("escape")
    await wait_until(pilot, lambda: bool(results), what="the form closed")
    assert results == [None]


def _preflight(monkeypatch: pytest.MonkeyPatch, ready: bool) -> None:
    async def fake(spec: Any, unknown_key: object = None) -> list[PreflightReport]:
        return [PreflightReport(h.name, (Item("sudo", "ok" if ready else "fail", "root"),))
                for h in spec.hosts]
    monkeypatch.setattr("mvm_tui.app_build.run_preflight", fake)


def _form() -> ClusterForm:
    form = ClusterForm(name="new", data_devices="/dev/sdb", compute_vlans="22-25",
                       management_if="eth0", storage_if="eth1", compute_if="eth2",
                       hosts=[HostRow(f"n{i}", f"10.0.0.{i}") for i in (1, 2)] + [
                           HostRow("n3", "10.0.0.3", auth=Auth.PASSWORD)])
    form.hosts[2].password = form.hosts[2].password.__class__("s3cret")
    return form


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_escape_on_the_preflight_goes_back_to_the_filled_form(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]) -> None:
    demo = make_demo(tmp_path)
    _preflight(monkeypatch, ready=False)
    async with demo.app.run_test(size=size) as pilot:
        await first_poll_shown(pilot, demo)
        demo.app.action_new_cluster()
        await wait_until(pilot, lambda: isinstance(demo.app.screen, AddClusterScreen))
        await pilot.pause()
        demo.app.screen.dismiss(_form())
        await wait_until(pilot, lambda: isinstance(demo.app.screen, PreflightScreen) and
                         demo.app.screen.reports is not None, what="the preflight")
        await pilot.press("p")  # no host is ready: told why
        await wait_until(pilot, lambda: any("Not every host is ready" in n
                                            for n in notes(demo.app)), what="a notice")
        assert isinstance(demo.app.screen, PreflightScreen)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(demo.app.screen, AddClusterScreen),
                         what="the form again")
        await pilot.pause()
        form = screen_of(demo.app, AddClusterScreen).form
        assert form.name == "new"
        assert [h.name for h in form.hosts] == ["n1", "n2", "n3"]
        assert form.hosts[2].password.get_secret_value() == "s3cret"
        assert demo.app.screen.query_one("#f-name", Input).value == "new"


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_the_port_field_shows_a_whole_port(demo: DemoApp, size: tuple[int, int]) -> None:
    async with demo.app.run_test(size=size) as pilot:
        await first_poll_shown(pilot, demo)
        screen, _ = await open_form(demo, pilot, valid_form())
        port = screen.query_one("#h0-port", Input)
        assert port.value == "22"
        assert port.content_region.width >= 6  # 65535 and the cursor


async def test_escape_on_the_worker_preflight_goes_back_to_its_filled_form(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    demo = make_demo(tmp_path)
    _preflight(monkeypatch, ready=False)
    async with demo.app.run_test(size=(80, 24)) as pilot:
        await first_poll_shown(pilot, demo)
        demo.app.action_add_worker()
        await wait_until(pilot, lambda: isinstance(demo.app.screen, AddWorkerScreen))
        await pilot.pause()
        demo.app.screen.dismiss(HostRow("hv4", "192.0.2.14", auth=Auth.PASSWORD,
                                        password=SecretStr("pw4")))
        await wait_until(pilot, lambda: isinstance(demo.app.screen, PreflightScreen) and
                         demo.app.screen.reports is not None, what="the preflight")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(demo.app.screen, AddWorkerScreen),
                         what="the worker form again")
        await pilot.pause()
        screen = screen_of(demo.app, AddWorkerScreen)
        assert screen.row.name == "hv4"
        assert screen.row.password.get_secret_value() == "pw4"
        assert screen.query_one("#worker-address", Input).value == "192.0.2.14"
        assert not screen.query_one("#worker-next", Button).disabled  # still valid
        await pilot.press("escape")  # filled in: asked first
        await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
        await pilot.press("y")
        await wait_until(pilot, lambda: not isinstance(demo.app.screen,
                                                       (ConfirmModal, AddWorkerScreen)))
