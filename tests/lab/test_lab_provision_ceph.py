"""A whole HCI cluster created headless (`mvm-tui cluster create --from FILE`) on lab hosts
that have no Ceph (`lab up --no-ceph`): the preflight passes, each host is provisioned (libvirt,
the compute bridge and a libvirt network with a port group per VLAN), then Ceph (packages
detected, conf and keys carried from the first host in memory, a monitor per host in quorum, a
manager, a bluestore OSD on each host's loop device, the RBD pool, HEALTH_OK, the libvirt
secret), and the cluster is added to the config. A VM with its disk on that Ceph then runs. A
second run changes nothing. Runs last: it rebuilds the lab without Ceph."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mvm_tui import lab
from mvm_tui.config import load_config
from mvm_tui.lab.cfgfile import new_cluster_file
from tests.lab.ceph_vm import VIRSH, cluster_create, run_vm_on_rbd, sh

pytestmark = pytest.mark.lab
async def test_a_cluster_created_headless_on_bare_hosts_runs_a_vm(
    lab_info: lab.LabInfo, tmp_path: Path
) -> None:
    lab.down()
    info = lab.up(ceph=False)
    try:
        assert sh(1, "ls", "/etc/ceph").strip() == ""  # no Ceph at all
        source = new_cluster_file(info, tmp_path / "new.toml", "built", "hci")
        config = tmp_path / "config.toml"
        code, text = await cluster_create(source, config)
        assert code == 0, text[-4000:]
        assert "preflight h1: ready" in text
        assert "cluster built added to" in text
        assert "mvm-provision: defining libvirt network br-compute" in text
        assert [c.name for c in load_config(config).clusters] == ["built"]
        status = json.loads(sh(1, "ceph", "status", "-f", "json"))
        assert status["health"]["status"] == "HEALTH_OK"
        assert len(status["quorum_names"]) == 3
        assert status["osdmap"]["num_up_osds"] == 3
        assert status["osdmap"]["num_in_osds"] == 3
        net = sh(2, "virsh", "-q", "-c", "qemu:///system", "net-dumpxml", "br-compute")
        assert "vlan-100" in net
        assert "vlan-101" in net

        code, again = await cluster_create(source, config)
        assert code == 0, again
        changes = [line for line in again.splitlines()
                   if any(w in line for w in ("mvm-provision: creating", "mvm-provision: starting",
                                              "mvm-provision: defining", "new Ceph cluster",
                                              "mvm-provision: changed"))]
        assert changes == []

        # a VM with its disk on the new cluster, through the libvirt secret of client.libvirt
        assert run_vm_on_rbd("built-vm", info.hosts[1], info.hosts, tmp_path) == "running"
        for h in info.hosts:  # the libvirt storage pool over the RBD pool, on every host
            sh(h.index, *VIRSH, "pool-refresh", "vms")
            assert "built-vm" in sh(h.index, *VIRSH, "vol-list", "vms").split()
            assert "Autostart:      yes" in sh(h.index, *VIRSH, "pool-info", "vms")
    finally:
        lab.down()  # the shared lab is gone: nothing after this test uses it
