"""A cluster with external storage created headless (`mvm-tui cluster create --from FILE`) on
bare lab hosts (`lab up --bare --san`): the preflight reaches the portal from every host (a
wrong port: nothing changes), each host is provisioned (libvirt, the compute bridge,
then the datastore: a libvirt iscsi-direct pool on the lab SAN's iSCSI target, logged in with
libiscsi), and the cluster is saved with its datastore. A VM whose disk is one of the target's
LUNs runs, and moves live (peer to peer, with the hosts' own migration trust) to the other host
over the shared LUN. A second run changes nothing;
a wrong target name fails the datastore step with libvirt's own error, leaves no pool and
saves nothing. Runs last: it rebuilds the lab."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvm_tui import lab
from mvm_tui.backends.libvirt.uri import migration_uri
from mvm_tui.config import load_config
from mvm_tui.lab import san
from mvm_tui.lab.cfgfile import new_cluster_file
from tests.lab.ceph_vm import VIRSH, cluster_create, run_vm_with_disk, sh

pytestmark = pytest.mark.lab
LUN_DISK = ("<disk type='volume' device='disk'><driver name='qemu' type='raw' cache='none'/>"
            "<source pool='san' volume='unit:0:0:1'/><target dev='vda' bus='virtio'/></disk>")


def cluster_file(info: lab.LabInfo, path: Path, target: str = san.IQN,
                 portal: str = san.ADDRESS) -> Path:
    return new_cluster_file(info, path, "ext", "external", datastore={
        "name": "san", "iscsi_portal": portal, "iscsi_target": target})


async def test_an_external_storage_cluster_on_an_iscsi_target(
    lab_info: lab.LabInfo, tmp_path: Path
) -> None:
    lab.down()
    info = lab.up(hosts=2, bare=True, san=True)
    h1, h2 = info.hosts
    try:
        config = tmp_path / "config.toml"
        code, text = await cluster_create(cluster_file(info, tmp_path / "port.toml",
                                                       portal=f"{san.ADDRESS}:3261"), config)
        assert code == 1
        assert (f"[fail] iSCSI portal {san.ADDRESS}:3261: cannot be reached from this host: "
                "Connection refused") in text
        assert "nothing was changed" in text
        assert "run #" not in text

        code, text = await cluster_create(cluster_file(info, tmp_path / "bad.toml",
                                                       "iqn.2026-11.lab.mvm-tui:nothing"), config)
        assert code == 1, text[-4000:]
        assert "[failed] run 1 step 3: Datastore san: iscsi" in text
        assert "error: Failed to start pool san" in text  # libvirt's own words, in the log
        assert not config.exists()
        for h in info.hosts:  # the pool that could not start is not left defined
            assert "san" not in sh(h.index, *VIRSH, "pool-list", "--all", "--name").split()

        source = cluster_file(info, tmp_path / "new.toml")
        code, text = await cluster_create(source, config)
        assert code == 0, text[-4000:]
        assert "mvm-provision: defining storage pool san (iscsi-direct 10.213.0.5 3260" in text
        assert "mvm-provision: iSCSI initiator name of this host: " \
               "iqn.2026-11.io.mvm-tui:mvmlab-h1" in text
        saved = load_config(config).clusters[0].datastore
        assert saved is not None
        assert saved.iscsi_target == san.IQN
        for h in info.hosts:
            pool = sh(h.index, *VIRSH, "pool-info", "san")
            assert "running" in pool
            assert "Autostart:      yes" in pool
            volumes = sh(h.index, *VIRSH, "vol-list", "san").split()
            assert {"unit:0:0:1", "unit:0:0:2"} <= set(volumes)

        assert run_vm_with_disk("ext-vm", h1, LUN_DISK, tmp_path) == "running"
        # with the trust provisioning set up: h1's own key, h2's host key known on h1
        sh(h1.index, *VIRSH, "migrate", "--live", "--p2p", "--persistent", "--undefinesource",
           "ext-vm", migration_uri("root", h2.address))
        assert sh(h2.index, *VIRSH, "domstate", "ext-vm").strip() == "running"
        assert "ext-vm" not in sh(h1.index, *VIRSH, "list", "--all", "--name")

        code, again = await cluster_create(source, config)
        assert code == 0, again
        lines = again.splitlines()
        # 3 steps x 2 hosts, then the migration trust: its key and trust steps x 2 hosts
        assert sum("mvm-provision: unchanged" in line for line in lines) == 10
        assert not any("mvm-provision: changed" in line for line in lines)
    finally:
        lab.down()
