"""Provisioning steps on a lab host, for real where the lab allows: libvirtd stopped first is
started again; a new OVS bridge (userspace datapath: no kernel module here) takes a compute
interface as the trunk of VLANs 200 and 201, and a libvirt network gets a port group per VLAN.
Packages are already installed on the shared machine: the scripts see them and go on. A second
run changes nothing and says so."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mvm_tui import lab
from mvm_tui.backends.ssh import SshPool, SshTarget
from mvm_tui.clock import SystemClock
from mvm_tui.lab.netns import hx
from mvm_tui.runs import RunExecutor, RunState, RunStore
from mvm_tui.services.provision import Compute, Provisioning

pytestmark = pytest.mark.lab
BRIDGE, IFACE = "br-prov", "prov0"


def sh(index: int, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(hx(index, *cmd), capture_output=True, text=True, timeout=60,
                          check=check)


async def test_provisioning_runs_then_changes_nothing(lab_info: lab.LabInfo,
                                                      tmp_path: Path) -> None:
    h = lab_info.host("h1")
    pool = SshPool([SshTarget(h.name, h.address, h.port, h.user, h.key_file,
                              lab_info.known_hosts)])
    executor = RunExecutor(RunStore(tmp_path / "runs.sqlite3"), SystemClock())
    provisioning = Provisioning(executor, pool, "mvmlab")
    compute = Compute(BRIDGE, IFACE, (200, 201), datapath="netdev")
    sh(h.index, "ip", "link", "add", IFACE, "type", "veth", "peer", "name", f"{IFACE}-p")
    sh(h.index, "systemctl", "stop", "libvirtd")
    try:
        first = provisioning.create(Provisioning.params("h1", compute))
        steps = executor.store.steps(first.id)
        assert steps[1].preview == (
            "ssh h1 sudo bash -s -- br-prov prov0 netdev 200 201 < mvm_tui/provision/ovs.sh",)
        done = await executor.execute(first.id)
        assert done.state is RunState.DONE, done.error
        log = [line.text for line in executor.store.log(first.id)]
        assert "mvm-provision: qemu-system-x86_64, libvirtd and virsh already installed" in log
        assert "mvm-provision: starting libvirtd" in log
        assert "mvm-provision: creating bridge br-prov (datapath netdev)" in log
        assert any(line.startswith("mvm-provision: defining libvirt network br-prov")
                   for line in log)
        assert log.count("mvm-provision: changed") == 2
        ports = sh(h.index, "ovs-vsctl", "list-ports", BRIDGE).stdout.split()
        assert ports == [IFACE]
        assert sh(h.index, "ovs-vsctl", "get", "port", IFACE, "trunks").stdout.strip() == \
            "[200, 201]"
        net = sh(h.index, "virsh", "-q", "-c", "qemu:///system", "net-dumpxml", BRIDGE).stdout
        assert "vlan-200" in net
        assert "vlan-201" in net
        assert "openvswitch" in net

        second = provisioning.create(Provisioning.params("h1", compute))
        again = await executor.execute(second.id)
        assert again.state is RunState.DONE, again.error
        log = [line.text for line in executor.store.log(second.id)]
        assert log.count("mvm-provision: unchanged") == 2
        assert "mvm-provision: changed" not in log
    finally:
        sh(h.index, "systemctl", "start", "libvirtd", check=False)
        sh(h.index, "virsh", "-c", "qemu:///system", "net-destroy", BRIDGE, check=False)
        sh(h.index, "virsh", "-c", "qemu:///system", "net-undefine", BRIDGE, check=False)
        sh(h.index, "ovs-vsctl", "--if-exists", "del-br", BRIDGE, check=False)
        sh(h.index, "ip", "link", "del", IFACE, check=False)
        await pool.close()
