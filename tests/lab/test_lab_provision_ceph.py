"""A Ceph cluster provisioned by mvm-tui over SSH on lab hosts that have none (`lab up
--no-ceph`): packages detected, ceph.conf and keys made on the first host and carried to the
others, a monitor per host in quorum, a manager, a bluestore OSD on each host's data device
(a loop device), the RBD pool, HEALTH_OK, the libvirt secret; then a VM with its disk on that
Ceph runs. A second run changes nothing. Runs last: it rebuilds the lab without Ceph."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest

from mvm_tui import lab
from mvm_tui.backends.ssh import SshPool, SshTarget
from mvm_tui.clock import SystemClock
from mvm_tui.lab.ceph import PROVISION_EXTRA_CONF
from mvm_tui.lab.guests import guest_xml
from mvm_tui.lab.netns import hx
from mvm_tui.runs import RunExecutor, RunState, RunStore
from mvm_tui.services.provision_ceph import CephBootstrap, CephHost

pytestmark = pytest.mark.lab
DEVICE = "/dev/mvmlab-osd"


def sh(index: int, *cmd: str, stdin: str | None = None) -> str:
    return subprocess.run(hx(index, *cmd), input=stdin, capture_output=True, text=True,
                          timeout=120, check=True).stdout


async def test_ceph_provisioned_on_bare_hosts_then_a_vm_runs_on_it(
    lab_info: lab.LabInfo, tmp_path: Path
) -> None:
    lab.down()
    info = lab.up(ceph=False)
    assert sh(info.hosts[0].index, "ls", "/etc/ceph").strip() == ""  # no Ceph at all
    pool = SshPool([SshTarget(h.name, h.address, h.port, h.user, h.key_file, info.known_hosts)
                    for h in info.hosts])
    executor = RunExecutor(RunStore(tmp_path / "runs.sqlite3"), SystemClock())
    ceph = CephBootstrap(executor, pool, SystemClock(), "prov", extra_conf=PROVISION_EXTRA_CONF,
                         install=False)
    hosts = [CephHost(h.name, h.address) for h in info.hosts]
    try:
        first = await executor.execute(ceph.create(hosts, [DEVICE]).id)
        assert first.state is RunState.DONE, first.error
        status = json.loads(sh(1, "ceph", "status", "-f", "json"))
        assert status["health"]["status"] == "HEALTH_OK"
        assert len(status["quorum_names"]) == 3
        assert status["osdmap"]["num_up_osds"] == 3 and status["osdmap"]["num_in_osds"] == 3
        tree = json.loads(sh(1, "ceph", "osd", "tree", "-f", "json"))
        assert sorted(n["name"] for n in tree["nodes"] if n["type"] == "host") == [
            "mvmlab-h1", "mvmlab-h2", "mvmlab-h3"]

        second = await executor.execute(ceph.create(hosts, [DEVICE]).id)
        assert second.state is RunState.DONE, second.error
        log = [line.text for line in executor.store.log(second.id)]
        assert not [line for line in log if "creating" in line or "starting" in line
                    or "new Ceph cluster" in line], log
        assert sum(line.endswith("mvm-provision: unchanged") for line in log) >= 3 + 3 + 1 + 3

        # a VM with its disk on the new cluster, through the libvirt secret of client.libvirt
        secret = sh(2, "virsh", "-q", "-c", "qemu:///system", "secret-list").split()[0]
        sh(1, "rbd", "create", "vms/prov-vm", "--size", "64M")
        mons = "".join(f"<host name='{h.address}' port='6789'/>" for h in info.hosts)
        disk = ("<disk type='network' device='disk'><driver name='qemu' type='raw' "
                f"cache='none'/><source protocol='rbd' name='vms/prov-vm'>{mons}</source>"
                f"<auth username='libvirt'><secret type='ceph' uuid='{secret}'/></auth>"
                "<target dev='vda' bus='virtio'/></disk>")
        xml = guest_xml("prov-vm", "nodisk").replace("<devices>", "<devices>" + disk, 1)
        with tempfile.NamedTemporaryFile("w", suffix=".xml", dir=tmp_path) as f:
            f.write(xml)
            f.flush()
            sh(2, "virsh", "-q", "-c", "qemu:///system", "define", f.name)
        sh(2, "virsh", "-q", "-c", "qemu:///system", "start", "prov-vm")
        assert sh(2, "virsh", "-q", "-c", "qemu:///system", "domstate",
                  "prov-vm").strip() == "running"
    finally:
        await pool.close()
        lab.down()  # the shared lab is gone: nothing after this test uses it
