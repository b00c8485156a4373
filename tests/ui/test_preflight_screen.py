"""The preflight checklist on screen: per host, each check with its mark, a failure with its
fix; checked again with `r`."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from mvm_tui.core.cluster_form import Auth, ClusterForm, HostRow
from mvm_tui.core.preflight import Item
from mvm_tui.screens.add_cluster import AddClusterScreen
from mvm_tui.screens.preflight import PreflightResult, PreflightScreen
from mvm_tui.services.preflight import PreflightHost, PreflightReport, PreflightSpec

from .conftest import SIZE, DemoApp, first_poll_shown, make_demo, wait_until


def _screen_text(demo: DemoApp) -> str:
    """What the screen shows, as text (the SVG screenshot's characters)."""
    svg = demo.app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


async def test_the_checklist_shows_each_failure_with_its_fix(tmp_path: Path) -> None:
    demo = make_demo(tmp_path)
    spec = PreflightSpec((PreflightHost("n1", "10.0.0.1"), PreflightHost("n2", "10.0.0.2")),
                         ("/dev/sdb",), ("eth0",), tmp_path / "known_hosts")
    calls: list[PreflightSpec] = []

    async def run(s: PreflightSpec) -> list[PreflightReport]:
        calls.append(s)
        return [PreflightReport("n1", (Item("sudo", "ok", "root"),)),
                PreflightReport("n2", (Item("interface eth0", "fail", "does not exist",
                                            "the host has: ens3, lo"),))]

    results: list[object] = []
    async with demo.app.run_test(size=SIZE) as pilot:
        await first_poll_shown(pilot, demo)
        demo.app.push_screen(PreflightScreen(spec, run), results.append)
        await wait_until(pilot, lambda: bool(calls) and isinstance(demo.app.screen,
                                                                   PreflightScreen))
        screen = demo.app.screen
        assert isinstance(screen, PreflightScreen)
        await wait_until(pilot, lambda: screen.reports is not None, what="the reports")
        await pilot.pause()
        text = _screen_text(demo)
        assert "1 of 2 hosts ready" in text
        assert "n2: NOT ready" in text
        assert "→ the host has: ens3, lo" in text
        await pilot.press("p")  # not every host is ready: no provisioning
        assert isinstance(demo.app.screen, PreflightScreen)
        await pilot.press("r")
        await wait_until(pilot, lambda: len(calls) == 2, what="a second check")
        await pilot.press("escape")
        await wait_until(pilot, lambda: bool(results))
        result = results[0]
        assert isinstance(result, PreflightResult)
        assert not result.provision
        assert [r.ok for r in result.reports] == [True, False]


async def test_new_cluster_from_the_palette_ends_in_its_preflight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = make_demo(tmp_path)
    seen: list[PreflightSpec] = []

    async def fake_preflight(spec: PreflightSpec, unknown_key: object = None
                             ) -> list[PreflightReport]:
        seen.append(spec)
        return [PreflightReport(h.name, (Item("sudo", "ok", "root"),)) for h in spec.hosts]

    monkeypatch.setattr("mvm_tui.app_build.run_preflight", fake_preflight)
    form = ClusterForm(name="new", data_devices="/dev/sdb", compute_vlans="22-25",
                       management_if="eth0", storage_if="eth1", compute_if="eth2",
                       hosts=[HostRow(f"n{i}", f"10.0.0.{i}") for i in (1, 2)] + [
                           HostRow("n3", "10.0.0.3", auth=Auth.PASSWORD)])
    form.hosts[2].password = form.hosts[2].password.__class__("s3cret")
    assert form.is_valid, form.errors()
    async with demo.app.run_test(size=SIZE) as pilot:
        await first_poll_shown(pilot, demo)
        demo.app.action_new_cluster()
        await wait_until(pilot, lambda: isinstance(demo.app.screen, AddClusterScreen))
        await pilot.pause()
        demo.app.screen.dismiss(form)
        await wait_until(pilot, lambda: isinstance(demo.app.screen, PreflightScreen) and
                         bool(seen), what="the preflight of the new cluster's hosts")
    spec = seen[0]
    assert [h.name for h in spec.hosts] == ["n1", "n2", "n3"]
    assert spec.devices == ("/dev/sdb",)
    assert spec.interfaces == ("eth0", "eth1", "eth2")
    assert spec.hosts[2].password == "s3cret"
    assert "s3cret" not in repr(spec)
