"""The simulator as a CephAdmin: `ceph` commands answered from its Ceph model in the JSON of
Ceph 16 (parsed by the real parsers, shaped like the lab's samples), systemd units of the
Ceph daemons, each host's mon_host; and a whole host decommission at the command level."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from mvm_tui.backends import ceph
from mvm_tui.backends.base import BackendError, InvalidState
from mvm_tui.backends.capabilities import CephAdmin, CliResult
from mvm_tui.backends.ceph import commands as c
from mvm_tui.backends.ceph.checks import data_moved, mon_removed, settled
from mvm_tui.backends.sim import SimBackend
from mvm_tui.clock import VirtualClock
from mvm_tui.models import CephStatus

T = TypeVar("T")
FIXTURES = Path(__file__).parent.parent / "fixtures" / "ceph"
CLEAN = "active+clean"
ADDR = {"hv1": "192.0.2.11", "hv2": "192.0.2.12", "hv3": "192.0.2.13"}


def as_admin(sim: SimBackend) -> CephAdmin:
    return sim  # mypy checks that SimBackend implements CephAdmin


async def read(sim: SimBackend, argv: list[str], parse: Callable[[str], T]) -> T:
    r = await sim.ceph(argv)
    assert r.exit_status == 0, r.stderr
    return parse(r.stdout)


async def status(sim: SimBackend) -> CephStatus:
    s = await read(sim, c.status(), ceph.parse_status)
    assert sum(p.count for p in s.pgs_by_state) == s.num_pgs == 128
    return s


def states(s: CephStatus) -> dict[str, int]:
    return {p.state_name: p.count for p in s.pgs_by_state}


async def driven(clock: VirtualClock, aw: Awaitable[T], step: float = 1.0, limit: float = 600) -> T:
    """Await `aw` while moving the clock (for what waits on it: connection timeouts)."""
    task = asyncio.ensure_future(aw)
    waited = 0.0
    while not task.done() and waited < limit:
        await clock.advance(step)
        waited += step
    return await task


# -- every read, parsed by the real parser and shaped like the lab's samples

READS: list[tuple[list[str], Callable[[str], object], str]] = [
    (c.status(), ceph.parse_status, "ceph-s.healthy.json"),
    (c.health_detail(), ceph.parse_health_detail, "ceph-health-detail.healthy.json"),
    (c.osd_df_tree(), ceph.parse_osd_df_tree, "ceph-osd-df-tree.json"),
    (c.osd_tree(), ceph.parse_osd_tree, "ceph-osd-tree.json"),
    (c.mon_dump(), ceph.parse_mon_dump, "ceph-mon-dump.json"),
    (c.quorum_status(), ceph.parse_quorum_status, "ceph-quorum-status.json"),
    (c.pg_stat(), ceph.parse_pg_stat, "ceph-pg-stat.json"),
    (c.osd_ok_to_stop([2]), ceph.parse_ok_to_stop, "ceph-osd-ok-to-stop.json"),
    (c.osd_safe_to_destroy([2]), ceph.parse_safe_to_destroy,
     "synthetic/ceph-osd-safe-to-destroy.busy.json"),
]
# client I/O rates: Ceph prints them only while clients do I/O, the simulated Ceph has none
NO_CLIENT_IO = {"pgmap.write_bytes_sec", "pgmap.read_op_per_sec", "pgmap.write_op_per_sec",
                "pg_summary.write_bytes_sec", "pg_summary.io_sec"}


def shape(value: Any, path: str = "") -> set[tuple[str, str]]:
    """Every (path, kind) in a JSON document; list items are told apart by their "type"."""
    if isinstance(value, dict):
        out = {(path, "object")}
        for k, v in value.items():
            out |= shape(v, f"{path}.{k}" if path else k)
        return out
    if isinstance(value, list):
        out = {(path, "list")}
        for v in value:
            kind = v.get("type") if isinstance(v, dict) and isinstance(v.get("type"), str) else ""
            out |= shape(v, f"{path}[{kind}]")
        return out
    if isinstance(value, bool):
        return {(path, "bool")}
    return {(path, "number" if isinstance(value, int | float) else type(value).__name__)}


@pytest.mark.parametrize(("argv", "parse", "sample"), READS,
                         ids=lambda x: x if isinstance(x, str) else "")
async def test_every_read_parses_and_has_the_shape_of_real_ceph(
    sim: SimBackend, argv: list[str], parse: Callable[[str], object], sample: str
) -> None:
    r = await sim.ceph(argv)
    assert r.exit_status == 0, r.stderr
    assert parse(r.stdout) is not None
    real = shape(json.loads((FIXTURES / sample).read_text()))
    ours = shape(json.loads(r.stdout))
    missing = {(p, k) for p, k in real - ours if p.split("[")[0] not in NO_CLIENT_IO}
    assert not missing, f"{sample}: not in the simulator's output: {sorted(missing)}"


async def test_pool_ls_detail(sim: SimBackend) -> None:
    r = await sim.ceph(c.osd_pool_ls_detail())
    assert r.exit_status == 0
    assert isinstance(json.loads(r.stdout), list)
    (pool,) = ceph.parse_pool_ls_detail(r.stdout)
    assert (pool.name, pool.size, pool.min_size, pool.pg_num) == ("vms", 2, 1, 128)


async def test_statuses_agree_and_checks_read_them(sim: SimBackend, clock: VirtualClock) -> None:
    cli = await status(sim)
    assert cli == await sim.ceph_status()  # the CLI and the backend's status: one model
    assert cli.health == "HEALTH_OK"
    assert states(cli) == {CLEAN: 128}
    assert (cli.num_mons, cli.quorum_names, cli.num_osds) == (3, ("hv1", "hv2", "hv3"), 3)
    pg = await read(sim, c.pg_stat(), ceph.parse_pg_stat)
    assert pg.all_active_clean
    assert pg.pg_summary.num_pgs == 128
    tree = await read(sim, c.osd_df_tree(), ceph.parse_osd_df_tree)
    assert tree.host_names == ("hv1", "hv2", "hv3")
    assert tree.osds_on("hv3") == (2,)
    osds = [n for n in tree.nodes if n.type == "osd"]
    assert sum(n.kb for n in osds) == tree.summary.total_kb == 3 * 250e9 // 1024
    # every PG has size (2) copies: the PG counts of the OSDs add up to twice the PGs
    assert sum(n.pgs for n in osds) == 2 * 128


# -- a whole decommission of hv3 (osd.2 and monitor hv3), command by command


async def test_decommission_of_a_host_at_the_command_level(
    sim: SimBackend, clock: VirtualClock
) -> None:
    admin = as_admin(sim)
    s = await status(sim)
    assert s.health == "HEALTH_OK"
    assert (s.num_mons, s.num_osds) == (3, 3)

    # pre-flight: ok to stop; not safe to destroy while it holds data
    r = await admin.ceph(c.osd_ok_to_stop([2]))
    verdict = ceph.parse_ok_to_stop(r.stdout, returncode=r.exit_status, stderr=r.stderr)
    assert r.exit_status == 0
    assert verdict.ok_to_stop
    assert verdict.osds == (2,)
    assert verdict.num_ok_pgs > 0
    assert verdict.num_not_ok_pgs == 0
    sd = await read(sim, c.osd_safe_to_destroy([2]), ceph.parse_safe_to_destroy)
    assert not sd.is_safe([2])
    assert sd.active == (2,)

    # out: the osdmap knows at once, the PG statistics a few seconds later
    r = await admin.ceph(c.osd_out(2))
    assert (r.exit_status, r.stderr) == (0, "marked out osd.2. \n")
    out_epoch = (await status(sim)).osdmap_epoch
    assert out_epoch == s.osdmap_epoch + 1
    s = await status(sim)
    assert s.osdmap_epoch == out_epoch
    assert states(s) == {CLEAN: 128}
    assert s.health == "HEALTH_OK"
    assert s.num_in_osds == 2  # the lag
    df = await read(sim, c.osd_df_tree(), ceph.parse_osd_df_tree)
    assert settled(s)
    assert not settled(s, df)  # like the lab: osd.2 is out, still holds PGs
    sd = await read(sim, c.osd_safe_to_destroy([2]), ceph.parse_safe_to_destroy)
    assert not data_moved(sd, s, df, 2)
    assert (await read(sim, c.osd_tree(), ceph.parse_osd_tree)).out_osds() == (2,)
    await clock.advance(sim.spec.pg_stats_lag_s)
    s = await status(sim)
    assert s.osdmap_epoch > out_epoch
    assert s.misplaced_objects > 0
    assert any("backfill" in name for name in states(s))
    assert not settled(s)  # pg_temp: a new epoch
    sd = await read(sim, c.osd_safe_to_destroy([2]), ceph.parse_safe_to_destroy)
    df = await read(sim, c.osd_df_tree(), ceph.parse_osd_df_tree)
    assert not sd.is_safe([2])
    assert not data_moved(sd, s, df, 2)

    for _ in range(180):  # the data moves at the recovery rate
        await clock.advance(60)
        s = await status(sim)
        df = await read(sim, c.osd_df_tree(), ceph.parse_osd_df_tree)
        if settled(s, df):
            break
    assert settled(s, df)
    assert s.health == "HEALTH_OK"
    sd = await read(sim, c.osd_safe_to_destroy([2]), ceph.parse_safe_to_destroy)
    assert sd.is_safe([2])
    assert data_moved(sd, s, df, 2)
    node = df.df(2)
    assert node is not None
    assert (node.pgs, node.kb, node.reweight) == (0, 0, 0)

    # stop and disable its daemon on hv3: down (and out: no OSD_DOWN, like Ceph)
    assert (await admin.systemctl("hv3", "stop", "ceph-osd@2")).exit_status == 0
    assert (await admin.systemctl("hv3", "disable", "ceph-osd@2")).exit_status == 0
    assert await admin.systemctl("hv3", "is-active", "ceph-osd@2") == CliResult(3, "inactive\n", "")
    tree = await read(sim, c.osd_tree(), ceph.parse_osd_tree)
    assert tree.down_osds() == (2,)
    s = await status(sim)
    assert (s.num_up_osds, s.health) == (2, "HEALTH_OK")

    # the host bucket is refused while it holds the OSD
    r = await admin.ceph(c.osd_crush_rm_host("hv3"))
    assert (r.exit_status, r.stderr) == (39, "Error ENOTEMPTY: (39) Directory not empty\n")
    r = await admin.ceph(c.osd_crush_remove(2))
    assert (r.exit_status, r.stderr) == (0, "removed item id 2 name 'osd.2' from crush map\n")
    tree = await read(sim, c.osd_tree(), ceph.parse_osd_tree)
    assert tree.host_of(2) is None
    assert tree.osds_on("hv3") == ()
    assert tree.node(2) is not None
    r = await admin.ceph(c.auth_del_osd(2))
    assert (r.exit_status, r.stderr) == (0, "updated\n")
    r = await admin.ceph(c.osd_rm(2))
    assert (r.exit_status, r.stderr) == (0, "removed osd.2\n")
    tree = await read(sim, c.osd_tree(), ceph.parse_osd_tree)
    assert tree.node(2) is None
    assert tree.osd_ids == (0, 1)
    r = await admin.ceph(c.osd_crush_rm_host("hv3"))
    assert r.exit_status == 0
    assert "removed item id -7 name 'hv3'" in r.stderr
    tree = await read(sim, c.osd_tree(), ceph.parse_osd_tree)
    assert tree.host_names == ("hv1", "hv2")

    # the monitor: stopped, it stays in the quorum until the others have elected without it
    assert (await admin.systemctl("hv3", "stop", "ceph-mon@hv3")).exit_status == 0
    q = await read(sim, c.quorum_status(), ceph.parse_quorum_status)
    assert q.quorum_names == ("hv1", "hv2", "hv3")
    r = await admin.ceph(c.mon_remove("hv3"))  # during the election: accepted, then lost
    assert r.exit_status == 0
    assert "removing mon.hv3" in r.stderr
    monmap = await read(sim, c.mon_dump(), ceph.parse_mon_dump)
    assert not mon_removed(monmap, "hv3")
    assert len(monmap.mons) == 3
    await clock.advance(sim.spec.mon_election_s)
    q = await read(sim, c.quorum_status(), ceph.parse_quorum_status)
    assert q.quorum_names == ("hv1", "hv2")
    assert q.out_of_quorum == ("hv3",)
    s = await status(sim)
    assert set(s.checks) == {"MON_DOWN"}
    assert s.quorum_names == ("hv1", "hv2")
    r = await admin.ceph(c.mon_remove("hv3"))
    assert r.exit_status == 0
    monmap = await read(sim, c.mon_dump(), ceph.parse_mon_dump)
    assert mon_removed(monmap, "hv3")
    assert monmap.names == ("hv1", "hv2")
    assert monmap.epoch == 2

    # mon_host on the hosts left, one by one
    assert await sim.crush_name("hv3") == "hv3"
    three = ",".join(f"[v2:{a}:3300,v1:{a}:6789]" for a in ADDR.values())
    two = ",".join(f"[v2:{ADDR[h]}:3300,v1:{ADDR[h]}:6789]" for h in ("hv1", "hv2"))
    assert [await admin.mon_host(h) for h in ADDR] == [three] * 3
    await admin.set_mon_host("hv1", two)
    assert [await admin.mon_host(h) for h in ADDR] == [two, three, three]
    await admin.set_mon_host("hv2", two)
    assert [await admin.mon_host(h) for h in ADDR] == [two, two, three]

    # the end: HEALTH_OK with 2 monitors and 2 OSDs
    s = await status(sim)
    assert s.health == "HEALTH_OK"
    assert s.checks == {}
    assert (s.num_mons, s.quorum_names) == (2, ("hv1", "hv2"))
    assert (s.num_osds, s.num_up_osds, s.num_in_osds) == (2, 2, 2)
    assert states(s) == {CLEAN: 128}
    assert await sim.ceph_status() == s


# -- refusals and failures


async def test_osd_rm_and_purge_are_refused_while_the_osd_is_up(sim: SimBackend) -> None:
    r = await sim.ceph(c.osd_rm(1))
    assert r.exit_status == 16
    assert r.stdout == ""
    assert r.stderr == "Error EBUSY: osd.1 is still up; must be down before removal. \n"
    r = await sim.ceph(c.osd_purge(1))
    assert (r.exit_status, r.stderr) == (16, "Error EBUSY: osd.1 is not `down`.\n")
    tree = await read(sim, c.osd_tree(), ceph.parse_osd_tree)
    assert tree.osd_ids == (0, 1, 2)
    assert tree.host_of(1) == "hv2"


async def test_purge_is_crush_remove_auth_del_and_rm(sim: SimBackend, clock: VirtualClock) -> None:
    assert (await sim.ceph(c.osd_out(2))).exit_status == 0
    await sim.systemctl("hv3", "stop", "ceph-osd@2")
    r = await sim.ceph(c.osd_purge(2))
    assert (r.exit_status, r.stderr) == (0, "purged osd.2\n")
    tree = await read(sim, c.osd_tree(), ceph.parse_osd_tree)
    assert tree.node(2) is None
    assert tree.osds_on("hv3") == ()
    r = await sim.ceph(c.auth_del_osd(2))
    assert (r.exit_status, r.stderr) == (0, "entity osd.2 does not exist\n")
    r = await sim.ceph(c.osd_rm(2))
    assert (r.exit_status, r.stderr) == (0, "osd.2 does not exist. \n")
    sd = await read(sim, c.osd_safe_to_destroy([2]), ceph.parse_safe_to_destroy)
    assert sd.is_safe([2])  # it no longer exists


async def test_unknown_command(sim: SimBackend) -> None:
    for argv in (["ceph", "--connect-timeout", "10", "osd", "frobnicate"], ["ceph"],
                 [*c.osd_out(1)[:-1], "one"]):
        r = await sim.ceph(argv)
        assert (r.exit_status, r.stdout) == (22, "")
        assert r.stderr == "Error EINVAL: (22) Invalid argument\n"
    with pytest.raises(ValueError, match="not a ceph command line"):
        await sim.ceph(["rados", "lspools"])


async def test_ok_to_stop_refuses_when_pgs_would_go_inactive(
    sim: SimBackend, clock: VirtualClock
) -> None:
    sim.power_off_host("hv3")
    await clock.advance(sim.spec.pg_stats_lag_s)
    r = await sim.ceph(c.osd_ok_to_stop([1]))
    assert r.exit_status == 16
    assert r.stderr.startswith("Error EBUSY: unsafe to stop osd(s) at this time (")
    verdict = ceph.parse_ok_to_stop(r.stdout, returncode=r.exit_status, stderr=r.stderr)
    assert not verdict.ok_to_stop
    assert verdict.error.startswith("Error EBUSY")
    raw = json.loads(r.stdout)  # Ceph prints the verdict even so
    assert raw["num_not_ok_pgs"] == len(raw["bad_become_inactive"]) > 0
    r = await sim.ceph(c.osd_ok_to_stop([7]))
    assert r.exit_status == 2
    assert r.stdout == ""


async def test_a_stopped_mon_leaves_quorum_and_removal_keeps_one(
    sim: SimBackend, clock: VirtualClock
) -> None:
    assert (await sim.systemctl("hv3", "stop", "ceph-mon@hv3")).exit_status == 0
    assert await sim.systemctl("hv3", "is-active", "ceph-mon@hv3") == CliResult(3, "inactive\n", "")
    assert await sim.systemctl("hv2", "is-active", "ceph-mon@hv2") == CliResult(0, "active\n", "")
    await clock.advance(sim.spec.mon_election_s)
    detail = await read(sim, c.health_detail(), ceph.parse_health_detail)
    (down,) = detail.checks["MON_DOWN"].detail
    assert down.message == (
        "mon.hv3 (rank 2) addr [v2:192.0.2.13:3300/0,v1:192.0.2.13:6789/0] is down "
        "(out of quorum)"
    )
    # removing a running monitor would leave 1 of 2 in quorum: refused
    r = await sim.ceph(c.mon_remove("hv2"))
    assert r.exit_status == 16
    assert "would lose its quorum" in r.stderr
    assert (await read(sim, c.mon_dump(), ceph.parse_mon_dump)).names == ("hv1", "hv2", "hv3")
    r = await sim.ceph(c.mon_remove("nosuch"))
    assert r.exit_status == 0
    assert r.stderr == "mon.nosuch does not exist or has already been removed\n"


async def test_systemctl_units(sim: SimBackend) -> None:
    r = await sim.systemctl("hv1", "stop", "ceph-osd@2")  # osd.2 lives on hv3
    assert r.exit_status == 5
    assert "Unit ceph-osd@2.service not loaded" in r.stderr
    assert (await sim.systemctl("hv1", "is-active", "ceph-mon@hv2")).exit_status == 5
    with pytest.raises(InvalidState, match="not a Ceph daemon unit"):
        await sim.systemctl("hv1", "stop", "sshd")
    assert await sim.systemctl("hv3", "is-active", "ceph-osd@2") == CliResult(0, "active\n", "")
    assert (await sim.systemctl("hv3", "stop", "ceph-osd@2")).exit_status == 0
    assert not sim.host_osds_up("hv3")
    # a stopped daemon stays down when its host comes back from a power cut
    sim.power_off_host("hv3")
    sim.restore_host("hv3")
    assert not sim.host_osds_up("hv3")
    s = await status(sim)
    assert s.num_up_osds == 2
    assert "OSD_DOWN" in s.checks  # down, still in: a real warning


async def test_no_quorum_no_answer(sim: SimBackend, clock: VirtualClock) -> None:
    sim.power_off_host("hv2")
    sim.cut_network("hv3")
    with pytest.raises(BackendError, match=r"^ceph: no host answered: .*RADOS timed out"):
        await driven(clock, sim.ceph(c.status()))
    for h in ("hv1", "hv2", "hv3"):
        sim.power_off_host(h)
    with pytest.raises(BackendError, match=r"^ceph: no host answered: .*connection timed out"):
        await driven(clock, sim.ceph(c.status()))


async def test_a_host_whose_mon_host_lists_no_live_monitor_does_not_answer(
    sim: SimBackend, clock: VirtualClock
) -> None:
    await sim.set_mon_host("hv1", f"[v2:{ADDR['hv3']}:3300,v1:{ADDR['hv3']}:6789]")
    await sim.systemctl("hv3", "stop", "ceph-mon@hv3")
    await clock.advance(sim.spec.mon_election_s)
    started = clock.now()
    s = await driven(clock, status(sim))  # hv1 times out, hv2 answers
    assert s.quorum_names == ("hv1", "hv2")
    assert clock.now() - started >= 10  # --connect-timeout 10 on hv1
    started = clock.now()
    await status(sim)  # hv2, which answered last, first
    assert clock.now() == started
