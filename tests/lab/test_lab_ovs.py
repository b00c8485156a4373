"""Open vSwitch in the lab, for real: each host's own ovsdb-server and ovs-vswitchd (userspace
datapath), read over SSH with mvm_tui.backends.ovs through the application's SshPool."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator

import pytest

from mvm_tui import lab
from mvm_tui.backends import ovs
from mvm_tui.backends.reach import ssh_target
from mvm_tui.backends.ssh.errors import CommandFailed
from mvm_tui.backends.ssh.pool import SshPool
from mvm_tui.config import ClusterConfig, load_config
from mvm_tui.lab.model import host_dir, process_alive, recorded_pids
from mvm_tui.lab.ovs import COMPUTE_VLANS, OVS_BRIDGE, TRUNK_PORT

pytestmark = pytest.mark.lab


@pytest.fixture
def cluster(lab_info: lab.LabInfo) -> ClusterConfig:
    return load_config(lab_info.config_path).clusters[0]


@pytest.fixture
async def pool(cluster: ClusterConfig) -> AsyncIterator[SshPool]:
    p = SshPool([ssh_target(cluster, h.name) for h in cluster.hosts])
    yield p
    await p.close()


def _pid(index: int, daemon: str) -> int:
    return int((host_dir(index) / "run-ovs" / f"{daemon}.pid").read_text())


def _assert_compute_bridge(bridges: tuple[ovs.OvsBridge, ...], vlans: tuple[int, ...]) -> None:
    (b,) = [b for b in bridges if b.name == OVS_BRIDGE]
    assert b.datapath_type == "netdev"
    groups = b.port_groups()
    assert set(vlans) <= set(groups)
    for vlan in vlans:
        members = {p.name: p for p in groups[vlan]}
        assert set(members) == {f"vlan{vlan}", TRUNK_PORT}
        access = members[f"vlan{vlan}"]
        assert (access.tag, access.type, access.interfaces) == (
            vlan, "internal", (f"vlan{vlan}",))
        assert set(vlans) <= set(members[TRUNK_PORT].trunks)


async def test_every_host_has_br_compute_with_the_config_vlan_port_groups(
        pool: SshPool, cluster: ClusterConfig) -> None:
    assert cluster.compute_vlans == COMPUTE_VLANS == (100, 101)
    t = time.monotonic()
    per_host = await asyncio.gather(*(ovs.list_bridges(pool, h.name) for h in cluster.hosts))
    elapsed = time.monotonic() - t
    assert len(per_host) == 3
    for bridges in per_host:
        _assert_compute_bridge(bridges, cluster.compute_vlans)
    assert elapsed < 10


async def test_each_host_has_its_own_ovsdb(pool: SshPool, cluster: ClusterConfig) -> None:
    uuids = set()
    for h in cluster.hosts:
        out = await pool.run(h.name, ovs.list_argv("Bridge", [OVS_BRIDGE]), sudo=True)
        (row,) = ovs.parse_table("Bridge", out.stdout)
        uuids.add(row["_uuid"])
    assert len(uuids) == len(cluster.hosts)


def test_the_ovs_daemons_are_recorded_for_teardown(lab_info: lab.LabInfo) -> None:
    recorded = {(e["host"], e["what"], e["pid"]) for e in recorded_pids()}
    for h in lab_info.hosts:
        for daemon in ("ovsdb-server", "ovs-vswitchd"):
            pid = _pid(h.index, daemon)
            assert process_alive(pid)
            assert (h.name, daemon, pid) in recorded


async def test_a_dead_ovsdb_fails_fast_instead_of_hanging(pool: SshPool) -> None:
    pid = _pid(3, "ovsdb-server")
    os.kill(pid, signal.SIGSTOP)  # alive, socket open, never answers
    try:
        t = time.monotonic()
        with pytest.raises(CommandFailed):
            await ovs.list_bridges(pool, "h3", timeout=2)
        assert time.monotonic() - t < 6
    finally:
        os.kill(pid, signal.SIGCONT)
    _assert_compute_bridge(await ovs.list_bridges(pool, "h3"), COMPUTE_VLANS)


async def test_restore_starts_a_dead_vswitchd_again(pool: SshPool, cluster: ClusterConfig) -> None:
    old = _pid(2, "ovs-vswitchd")
    os.kill(old, signal.SIGKILL)
    await asyncio.to_thread(lab.restore, "h2")
    new = _pid(2, "ovs-vswitchd")
    assert new != old
    assert process_alive(new)
    assert any(e["pid"] == new for e in recorded_pids())
    _assert_compute_bridge(await ovs.list_bridges(pool, "h2"), cluster.compute_vlans)
    links = (await pool.run("h2", ["ip", "-o", "link", "show"])).stdout
    assert all(f" vlan{v}:" in links for v in cluster.compute_vlans)  # taps made again
