"""Add Worker from the palette on the simulated cluster: the host's fields checked as typed
(a name already in the cluster refused), then the preflight of that one host, then (every check
passed, `p`, and confirmed with every command shown) the provisioning screen and the join
through ClusterBuilder.add_worker (stubbed here; the lab test runs it for real)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button

from mvm_tui.config import ClusterConfig, HostConfig
from mvm_tui.core.preflight import Item
from mvm_tui.screens.add_worker import AddWorkerScreen
from mvm_tui.screens.preflight import PreflightScreen
from mvm_tui.screens.provisioning import ProvisioningScreen
from mvm_tui.services.cluster_builder import BuildResult
from mvm_tui.services.preflight import PreflightReport, PreflightSpec
from mvm_tui.widgets.confirm import ConfirmModal

from .conftest import SIZE, first_poll_shown, make_demo, wait_until


async def test_add_worker_checks_the_host_then_preflight_then_joins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = make_demo(tmp_path)
    specs: list[PreflightSpec] = []
    joined: list[tuple[str, str]] = []

    async def fake_preflight(spec: PreflightSpec, unknown_key: object = None
                             ) -> list[PreflightReport]:
        specs.append(spec)
        return [PreflightReport(h.name, (Item("sudo", "ok", "root"),)) for h in spec.hosts]

    async def fake_add_worker(self: object, cluster: ClusterConfig, host: HostConfig,
                              passwords: dict[str, str], path: object) -> BuildResult:
        joined.append((cluster.name, host.name))
        return BuildResult([])

    monkeypatch.setattr("mvm_tui.app_build.run_preflight", fake_preflight)
    monkeypatch.setattr("mvm_tui.services.cluster_builder.ClusterBuilder.add_worker",
                        fake_add_worker)
    async with demo.app.run_test(size=SIZE) as pilot:
        await first_poll_shown(pilot, demo)
        demo.app.action_add_worker()
        await wait_until(pilot, lambda: isinstance(demo.app.screen, AddWorkerScreen))
        screen = demo.app.screen
        await pilot.pause()
        await pilot.click("#worker-name")
        await pilot.press(*"hv1")
        await pilot.pause()
        assert "in the cluster already" in str(screen.query_one("#worker-name-why").render())
        assert screen.query_one("#worker-next", Button).disabled
        await pilot.press("backspace", "4")
        await pilot.click("#worker-address")
        await pilot.press(*"192.0.2.14")
        await pilot.pause()
        assert not screen.query_one("#worker-next", Button).disabled
        await pilot.click("#worker-next")
        await wait_until(pilot, lambda: isinstance(demo.app.screen, PreflightScreen)
                         and demo.app.screen.reports is not None, what="the preflight")
        assert [h.name for h in specs[0].hosts] == ["hv4"]
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal),
                         what="the confirmation")
        modal = demo.app.screen
        assert isinstance(modal, ConfirmModal)
        assert modal.title_text == "Add hv4 to demo?"
        previews = [c for step in modal.steps for c in step.preview]
        assert modal.steps[0].title.startswith("hv4: KVM and libvirt")
        assert "ssh hv4 sudo bash -s -- host-model < mvm_tui/provision/kvm.sh" in previews
        assert any(step.title.startswith("hv4 joined") for step in modal.steps)
        assert not any("ssh hv1" in c and "provision/kvm.sh" in c for c in previews)
        assert joined == []  # nothing before the confirmation
        await pilot.press("y")
        await wait_until(pilot, lambda: bool(joined), what="the join")
        assert isinstance(demo.app.screen, ProvisioningScreen)
    assert joined == [("demo", "hv4")]
