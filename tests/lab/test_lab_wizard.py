"""The Add Cluster wizard in the TUI, on bare lab hosts (sshd only: no libvirtd, no Open vSwitch,
no Ceph): the form's result goes to a real preflight of the three hosts, `p` shows every command,
`y` starts the provisioning (each host: libvirtd and Open vSwitch started, the compute bridge and
the VLAN network made; then Ceph), shown a pane per run; the runs end DONE; the cluster reaches
HEALTH_OK, is added to the config, and a VM with its disk on it runs. Runs last with the other
tests that rebuild the lab."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from textual.widgets import RichLog

from mvm_tui import lab
from mvm_tui.app import MvmApp
from mvm_tui.backends.libvirt.uri import migration_uri
from mvm_tui.config import load_config
from mvm_tui.core.cluster_form import ClusterForm, HostRow
from mvm_tui.lab.netns import hx
from mvm_tui.models import Layout
from mvm_tui.runs import RunState
from mvm_tui.screens.add_cluster import AddClusterScreen
from mvm_tui.screens.preflight import PreflightScreen
from mvm_tui.screens.provisioning import ProvisioningScreen
from mvm_tui.session import open_session
from mvm_tui.widgets.confirm import ConfirmModal
from tests.lab.ceph_vm import run_vm_on_rbd

pytestmark = pytest.mark.lab


async def until(pilot, condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s: {what}"
        await pilot.pause(0.2)


async def test_the_wizard_provisions_a_cluster_on_bare_lab_hosts(
    lab_info: lab.LabInfo, tmp_path: Path
) -> None:
    lab.down()
    info = lab.up(bare=True)
    for h in info.hosts:  # nothing but sshd
        ps = await asyncio.to_thread(subprocess.run, hx(h.index, "systemctl", "is-active",
                                                        "libvirtd", "openvswitch-switch"),
                                     capture_output=True, text=True)
        assert ps.stdout.split() == ["inactive", "inactive"]
    config_path = tmp_path / "config.toml"
    shutil.copy(info.config_path, config_path)
    session = open_session(load_config(config_path), demo=False, db_path=tmp_path / "r.sqlite3")
    app = MvmApp(session.clusters[0], prompts=session.prompts, config_path=config_path)
    form = ClusterForm(
        name="wizard", layout=Layout.HCI, data_devices="/dev/mvmlab-osd",
        compute_vlans="100-101", management_if="eth0", storage_if="eth0",
        compute_if="tr-compute",
        hosts=[HostRow(h.name, h.address, str(h.port), h.user, key_file=str(h.key_file))
               for h in info.hosts])
    assert form.is_valid, form.errors()
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            app.action_new_cluster()
            await until(pilot, lambda: isinstance(app.screen, AddClusterScreen), 10, "the form")
            await pilot.pause()
            app.screen.dismiss(form)
            await until(pilot, lambda: isinstance(app.screen, PreflightScreen)
                        and app.screen.reports is not None, 120, "the real preflight")
            screen = app.screen
            assert isinstance(screen, PreflightScreen)
            assert screen.reports is not None
            assert all(r.ok for r in screen.reports), screen.reports
            await pilot.press("p")
            await until(pilot, lambda: isinstance(app.screen, ConfirmModal), 10, "confirm")
            modal = app.screen
            assert isinstance(modal, ConfirmModal)
            previews = [c for step in modal.steps for c in step.preview]
            for h in info.hosts:  # every command shown before anything runs
                assert f"ssh {h.name} sudo bash -s -- host-model < mvm_tui/provision/kvm.sh" \
                    in previews
            assert any(step.title == "HEALTH_OK" for step in modal.steps)
            for h in info.hosts:  # then each host's own migration key, made there
                assert f"ssh {h.name} sudo bash -s -- key < mvm_tui/provision/migration.sh" \
                    in previews
            assert session.store.list_runs() == []
            await pilot.press("y")
            store = session.store

            def provisioned() -> bool:
                runs = store.list_runs()
                return len(runs) == 5 and all(r.finished for r in runs)

            await until(pilot, provisioned, 600, "the provisioning runs")
            runs = store.list_runs()
            assert all(r.state is RunState.DONE for r in runs), [(r.title, r.error) for r in runs]
            assert sorted(r.title for r in runs) == [
                "Ceph on h1, h2, h3", "Migration trust between h1, h2, h3", "Provision h1",
                "Provision h2", "Provision h3"]
            await until(pilot, lambda: "wizard" in [c.name for c in load_config(
                config_path).clusters], 30, "the cluster in the config")
            shown = app.screen  # a pane per run, each with its live log
            assert isinstance(shown, ProvisioningScreen)
            await until(pilot, lambda: [p.border_subtitle for p in shown.panes()] ==
                        ["done"] * 5, 10, "5 panes done")
            assert all(p.query_one(RichLog).lines for p in shown.panes())
        out = (await asyncio.to_thread(subprocess.run, hx(1, "ceph", "health", "-f", "json"),
                                       capture_output=True, text=True, timeout=60,
                                       check=True)).stdout
        assert json.loads(out)["status"] == "HEALTH_OK"
        log = [line.text for r in store.list_runs() for line in store.log(r.id)]
        assert log.count("mvm-provision: starting libvirtd") == 3
        assert log.count("mvm-provision: starting Open vSwitch") == 3
        assert log.count("mvm-provision: creating bridge br-compute (datapath netdev)") == 3
        assert run_vm_on_rbd("wizard-vm", info.hosts[2], info.hosts, tmp_path) == "running"
        # the trust the wizard's provisioning set up: h3's libvirtd migrates to h1 on its own
        await asyncio.to_thread(
            subprocess.run, hx(3, "virsh", "-c", "qemu:///system", "migrate", "--live", "--p2p",
                               "--persistent", "--undefinesource", "wizard-vm",
                               migration_uri(info.hosts[0].user, info.hosts[0].address)),
            check=True, timeout=120)
        state = (await asyncio.to_thread(
            subprocess.run, hx(1, "virsh", "-c", "qemu:///system", "domstate", "wizard-vm"),
            capture_output=True, text=True, timeout=60, check=True)).stdout
        assert state.strip() == "running"
    finally:
        await session.close()
        lab.down()
