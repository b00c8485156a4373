"""The simulated Ceph: degraded PGs, OSDs marked out, backfill, recovery, quorum."""

from __future__ import annotations

import re

import pytest

from mvm_tui.backends.base import BackendError, InvalidState, NotFound
from mvm_tui.backends.sim import SimBackend
from mvm_tui.clock import VirtualClock
from mvm_tui.models import CephStatus

CLEAN = "active+clean"


async def status(sim: SimBackend) -> CephStatus:
    s = await sim.ceph_status()
    assert s is not None
    assert sum(p.count for p in s.pgs_by_state) == s.num_pgs == 128
    assert s.health == ("HEALTH_WARN" if s.checks else "HEALTH_OK")
    return s


def states(s: CephStatus) -> dict[str, int]:
    return {p.state_name: p.count for p in s.pgs_by_state}


async def settle_clean(sim: SimBackend, clock: VirtualClock, limit_s: float) -> list[CephStatus]:
    """Advance a minute at a time until every PG is active+clean; returns what it saw."""
    seen = []
    for _ in range(int(limit_s / 60)):
        await clock.advance(60)
        s = await status(sim)
        seen.append(s)
        if s.pgs_clean == 128:
            return seen
    raise AssertionError(f"not clean after {limit_s} s: {states(seen[-1])}")


async def test_healthy(sim: SimBackend) -> None:
    s = await status(sim)
    assert s.health == "HEALTH_OK"
    assert s.checks == {}
    assert (s.num_osds, s.num_up_osds, s.num_in_osds) == (3, 3, 3)
    assert (s.num_mons, s.quorum_names) == (3, ("hv1", "hv2", "hv3"))
    assert states(s) == {CLEAN: 128}
    assert s.bytes_total == 3 * 250 * 10**9
    assert 0.2 < s.bytes_used / s.bytes_total < 0.8
    assert s.num_objects > 0
    assert s.degraded_objects == s.misplaced_objects == 0
    # each host reports its OSD's share of the same data
    used = [(await sim.poll_host(h)).facts.storage_used_gb for h in ("hv1", "hv2", "hv3")]
    assert sum(used) == pytest.approx(s.bytes_used / 10**9, rel=0.01)


async def test_host_lost_degrade_out_backfill_clean(sim: SimBackend, clock: VirtualClock) -> None:
    epoch = (await status(sim)).osdmap_epoch
    sim.power_off_host("hv2")
    s = await status(sim)
    # the osdmap knows at once; the PG stats do not yet
    assert (s.num_up_osds, s.num_in_osds, s.osdmap_epoch) == (2, 3, epoch + 1)
    assert set(s.checks) == {"MON_DOWN", "OSD_DOWN", "OSD_HOST_DOWN"}
    assert s.checks["OSD_DOWN"].message == "1 osds down"
    assert s.checks["OSD_HOST_DOWN"].message == "1 host (1 osds) down"
    assert s.checks["MON_DOWN"].message == "1/3 mons down, quorum hv1,hv3"
    assert s.quorum_names == ("hv1", "hv3")
    # the PGs whose primary is osd.1 keep their last state, marked stale (the lab's Ceph 16:
    # 14 of 33 stale+active+clean a second after `ceph osd down 2`)
    stale = states(s)["stale+active+clean"]
    assert states(s) == {CLEAN: 128 - stale, "stale+active+clean": stale}
    assert 25 < stale < 60  # about 1/3 of the PGs have osd.1 as their primary

    await clock.advance(sim.spec.pg_stats_lag_s)
    s = await status(sim)
    degraded_pgs = states(s)["active+undersized+degraded"]
    assert set(states(s)) == {CLEAN, "active+undersized+degraded"}
    assert 60 < degraded_pgs < 110  # about 2/3 of the PGs have a copy on osd.1
    copies = 2 * s.num_objects
    assert s.degraded_objects == pytest.approx(copies / 3, rel=0.15)
    pct = f"{100 * s.degraded_objects / copies:.3f}%"
    assert s.checks["PG_DEGRADED"].message == (
        f"Degraded data redundancy: {s.degraded_objects}/{copies} objects degraded ({pct}), "
        f"{degraded_pgs} pgs degraded, {degraded_pgs} pgs undersized"
    )
    assert s.health == "HEALTH_WARN"

    # nothing moves until the monitors mark the OSD out
    await clock.advance(sim.spec.down_out_interval_s - sim.spec.pg_stats_lag_s - 1)
    s = await status(sim)
    assert states(s) == {CLEAN: 128 - degraded_pgs, "active+undersized+degraded": degraded_pgs}
    assert s.num_in_osds == 3
    await clock.advance(1 + sim.spec.pg_stats_lag_s)
    s = await status(sim)
    # down, out, then the pg_temp of the PGs remapped to backfill
    assert (s.num_in_osds, s.osdmap_epoch) == (2, epoch + 3)
    assert states(s)["active+undersized+degraded+remapped+backfilling"] > 0
    assert states(s)["active+undersized+degraded+remapped+backfill_wait"] > 0

    seen = await settle_clean(sim, clock, 3 * 3600)
    degraded = [x.degraded_objects for x in seen]
    assert degraded == sorted(degraded, reverse=True)
    assert degraded[-1] == 0
    assert len(seen) > 5  # it took a while: data moves at the recovery rate
    s = seen[-1]
    # data safe; like Ceph, an OSD down but out raises no OSD_DOWN (only down+in ones do)
    assert set(s.checks) == {"MON_DOWN"}
    assert s.health == "HEALTH_WARN"

    # backfilled PGs drop their pg_temp: more epochs
    assert s.osdmap_epoch > epoch + 3
    # the host returns: its OSD is marked in again; data moves back (misplaced, not degraded)
    epoch = s.osdmap_epoch
    sim.restore_host("hv2")
    s = await status(sim)
    assert (s.num_up_osds, s.num_in_osds, s.osdmap_epoch) == (3, 3, epoch + 1)
    await clock.advance(sim.spec.pg_stats_lag_s)
    s = await status(sim)
    assert s.misplaced_objects > 0
    assert s.degraded_objects == 0
    assert set(s.checks) == {"OBJECT_MISPLACED"}
    assert any("remapped+backfill" in name for name in states(s))
    s = (await settle_clean(sim, clock, 3 * 3600))[-1]
    assert s.health == "HEALTH_OK"
    assert s.checks == {}


async def test_short_outage_recovers_from_the_log(sim: SimBackend, clock: VirtualClock) -> None:
    sim.cut_network("hv3")
    await clock.advance(120)
    s = await status(sim)
    assert s.num_up_osds == 2
    assert s.num_in_osds == 3
    assert "active+undersized+degraded" in states(s)
    sim.restore_host("hv3")
    await clock.advance(sim.spec.pg_stats_lag_s)
    s = await status(sim)
    assert not any("undersized" in name or "remapped" in name for name in states(s))
    assert states(s).get("active+recovering+degraded", 0) > 0
    assert 0 < s.degraded_objects < s.num_objects * 2 / 3 * 0.05  # only what changed meanwhile
    assert set(s.checks) == {"PG_DEGRADED"}
    s = (await settle_clean(sim, clock, 600))[-1]
    assert s.health == "HEALTH_OK"


async def test_osd_out_while_up_backfills_misplaced(sim: SimBackend, clock: VirtualClock) -> None:
    epoch = (await status(sim)).osdmap_epoch
    sim.osd_out(1)
    s = await status(sim)
    # like real Ceph: right after `ceph osd out`, the PG stats still say all is clean
    assert (s.num_up_osds, s.num_in_osds, s.osdmap_epoch) == (3, 2, epoch + 1)
    assert states(s) == {CLEAN: 128}
    assert s.health == "HEALTH_OK"
    await clock.advance(sim.spec.pg_stats_lag_s)
    s = await status(sim)
    assert s.degraded_objects == 0
    assert s.misplaced_objects == pytest.approx(2 * s.num_objects / 3, rel=0.15)
    assert set(states(s)) == {CLEAN, "active+remapped+backfilling", "active+remapped+backfill_wait"}
    assert set(s.checks) == {"OBJECT_MISPLACED"}
    assert re.fullmatch(
        r"\d+/\d+ objects misplaced \(\d+\.\d{3}%\)", s.checks["OBJECT_MISPLACED"].message
    )
    seen = await settle_clean(sim, clock, 3 * 3600)
    misplaced = [x.misplaced_objects for x in seen]
    assert misplaced == sorted(misplaced, reverse=True)
    s = seen[-1]
    assert s.health == "HEALTH_OK"
    assert s.num_in_osds == 2
    osd1 = (await sim.poll_host("hv2")).facts.storage_used_gb
    assert osd1 < 2  # emptied: only BlueStore's own gigabyte left

    with pytest.raises(InvalidState, match=r"osd\.1 is already out"):
        sim.osd_out(1)
    # the out, a pg_temp for each PG to backfill, and one more as each of them was done
    assert s.osdmap_epoch > epoch + 2
    epoch = s.osdmap_epoch
    sim.osd_in(1)
    assert (await status(sim)).osdmap_epoch == epoch + 1
    with pytest.raises(InvalidState, match=r"osd\.1 is already in"):
        sim.osd_in(1)
    with pytest.raises(NotFound, match=r"osd\.7"):
        sim.osd_out(7)
    s = (await settle_clean(sim, clock, 3 * 3600))[-1]
    assert s.health == "HEALTH_OK"
    assert s.num_in_osds == 3


async def test_quorum_loss(sim: SimBackend, clock: VirtualClock) -> None:
    sim.power_off_host("hv1")
    assert (await status(sim)).quorum_names == ("hv2", "hv3")
    sim.cut_network("hv3")
    with pytest.raises(BackendError, match=r"^ceph: monitors have no quorum$"):
        await sim.ceph_status()
    await clock.advance(60)
    sim.restore_host("hv3")
    s = await status(sim)
    assert s.quorum_names == ("hv2", "hv3")
    assert s.num_up_osds == 2


async def test_epoch_counts_every_osd_change(sim: SimBackend, clock: VirtualClock) -> None:
    epoch = (await status(sim)).osdmap_epoch
    sim.cut_network("hv1")  # down
    sim.cut_network("hv1")  # no change
    sim.restore_host("hv1")  # up
    sim.set_latency("hv1", 5)  # not an OSD change
    sim.osd_out(0)
    sim.osd_in(0)
    assert (await status(sim)).osdmap_epoch == epoch + 4
    await clock.advance(3600)
    assert (await status(sim)).health == "HEALTH_OK"


async def test_too_few_osds_in_stays_degraded(
    sim: SimBackend, clock: VirtualClock
) -> None:
    # an OSD marked out on a healthy host while another host is down: only one copy of the
    # PGs they shared is left, degraded but active with min_size 1
    sim.power_off_host("hv3")
    sim.osd_out(0)
    await clock.advance(10)
    s = await status(sim)
    assert all(name.startswith("active") for name in states(s))
    assert s.degraded_objects > 0
    await clock.advance(2 * 3600)
    s = await status(sim)
    assert s.degraded_objects > 0  # nowhere to put a second copy with only hv2 in
    assert s.checks["PG_DEGRADED"].count > 0
