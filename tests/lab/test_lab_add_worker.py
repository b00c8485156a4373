"""Add Worker on the lab: a cluster built on h1-h3 (no Ceph before), then a fourth bare host
h4 joins it: provisioned, given the cluster's Ceph config and keys, its OSD up and in the CRUSH
map, the libvirt secret, the migration trust re-done on every host; the join is verified and
h4 is added to the config; a VM with its disk on Ceph then runs on h4 and moves live to h1, and
the app, polling that config, counts h4 among the hosts VMs can be
placed on. Runs last: it rebuilds the lab with 4 hosts and no Ceph."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mvm_tui import lab
from mvm_tui.clock import SystemClock
from mvm_tui.config import ClusterConfig, HostConfig, Interfaces, load_config
from mvm_tui.core.placement import rooms
from mvm_tui.lab.ceph import PROVISION_EXTRA_CONF
from mvm_tui.models import Layout, PowerState
from mvm_tui.runs import RunExecutor, RunState, RunStore
from mvm_tui.services.cluster_builder import ClusterBuilder
from mvm_tui.session import open_session, poll_once
from tests.lab.ceph_vm import run_vm_on_rbd, sh

pytestmark = pytest.mark.lab


def host(h: lab.LabHost) -> HostConfig:
    return HostConfig(name=h.name, address=h.address, port=h.port, user=h.user,
                      key_file=h.key_file)


async def test_a_fourth_host_joins_and_runs_a_vm(lab_info: lab.LabInfo, tmp_path: Path) -> None:
    lab.down()
    info = lab.up(hosts=4, ceph=False)
    try:
        cluster = ClusterConfig(
            name="grow", layout=Layout.HCI, hosts=[host(h) for h in info.hosts[:3]],
            interfaces=Interfaces(management="eth0", storage="eth0", compute="tr-compute"),
            data_devices=["/dev/mvmlab-osd"], compute_vlans=[100, 101],
            ovs_datapath="netdev", install_packages=False,
            ceph_extra_conf=list(PROVISION_EXTRA_CONF), known_hosts=info.known_hosts)
        config = tmp_path / "config.toml"
        executor = RunExecutor(RunStore(tmp_path / "r.sqlite3"), SystemClock())
        builder = ClusterBuilder(executor, SystemClock())
        built = await builder.build(cluster, {}, config)
        assert built.ok, [(r.title, r.error) for r in built.runs] or built.preflight
        # the cluster's trust run replaced what `lab up` had set up: h4 is no peer of h1-h3
        assert "mvmlab-h4" not in sh(1, "cat", "/root/.ssh/authorized_keys")

        joined = await builder.add_worker(load_config(config).clusters[0], host(info.hosts[3]),
                                          {}, config)
        assert joined.ok, [(r.title, r.error) for r in joined.runs] or joined.preflight
        assert [r.title for r in joined.runs] == [
            "Provision h4", "h4 joins Ceph", "Migration trust between h1, h2, h3, h4"]
        assert all(r.state is RunState.DONE for r in joined.runs)
        assert [h.name for h in load_config(config).clusters[0].hosts] == [
            "h1", "h2", "h3", "h4"]
        tree = json.loads(sh(1, "ceph", "osd", "tree", "-f", "json"))
        nodes = {n["id"]: n for n in tree["nodes"]}
        h4 = next(n for n in nodes.values() if n["type"] == "host" and n["name"] == "mvmlab-h4")
        assert [nodes[c]["status"] for c in h4["children"]] == ["up"]
        status = json.loads(sh(1, "ceph", "status", "-f", "json"))
        assert status["health"]["status"] == "HEALTH_OK"
        assert status["osdmap"]["num_up_osds"] == 4
        assert len(status["quorum_names"]) == 3

        assert run_vm_on_rbd("on-h4", info.hosts[3], info.hosts[:3], tmp_path) == "running"

        # the app, on the config the join saved, sees h4 as a host VMs can be placed on
        session = open_session(load_config(config), demo=False, db_path=tmp_path / "s.sqlite3")
        try:
            await poll_once(session.clusters[0])
            snap = session.clusters[0].snapshot()
            vm = next(v for v in snap.vms if v.name == "on-h4")
            assert (vm.host, vm.power) == ("h4", PowerState.RUNNING)
            room = rooms(snap)
            assert set(room) == {"h1", "h2", "h3", "h4"}
            assert room["h4"].fits(vm)
            # Add Worker re-did the trust on every host: h4's libvirtd migrates to h1
            await session.clusters[0].backend.migrate("on-h4", "h1")
            assert sh(1, "virsh", "-c", "qemu:///system", "domstate", "on-h4").strip() == \
                "running"
        finally:
            await session.close()
    finally:
        lab.down()
