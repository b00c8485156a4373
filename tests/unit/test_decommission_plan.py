"""The decommission plan from the real lab samples: a host's OSDs and monitor, and whether the
cluster can do without it (data below nearfull, hosts for every pool, a monitor quorum)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvm_tui.backends import ceph
from mvm_tui.core.decommission import Pool, mon_of, plan_decommission

SAMPLES = Path(__file__).parent.parent / "fixtures" / "ceph"
TREE = ceph.parse_osd_df_tree((SAMPLES / "ceph-osd-df-tree.json").read_text())
MONMAP = ceph.parse_mon_dump((SAMPLES / "ceph-mon-dump.json").read_text())
QUORUM = ceph.parse_quorum_status((SAMPLES / "ceph-quorum-status.json").read_text())
VMS = Pool("vms", 2, 1)


def plan(pools: list[Pool] | None = None, quorum: tuple[str, ...] | None = None,
         maintenance: bool = True, nearfull: float = 0.85):  # type: ignore[no-untyped-def]
    return plan_decommission("h3", "10.213.0.13", "mvmlab-h3", maintenance, TREE, MONMAP,
                             QUORUM.quorum_names if quorum is None else quorum,
                             [VMS] if pools is None else pools, nearfull)


def test_the_lab_host_h3_can_go() -> None:
    p = plan()
    assert [(o.id, o.size_gb, o.pgs, o.up, o.in_) for o in p.osds] == [
        (2, 1.07, 27, True, True)]
    assert p.mon == "mvmlab-h3"
    assert all(c.ok for c in p.checks), p.checks
    assert p.blockers == []
    assert "2 of 2 monitors left in quorum (2 needed)" in p.checks[2].detail


def test_a_pool_of_size_3_needs_3_hosts_left() -> None:
    p = plan([VMS, Pool("triple", 3, 2)])
    assert p.blockers == ["enough hosts left for every pool: 2 hosts would be left, too few "
                          "for triple (size 3)"]


def test_no_quorum_left_when_another_monitor_is_already_out() -> None:
    p = plan(quorum=("mvmlab-h1", "mvmlab-h3"))
    assert not p.checks[2].ok
    assert "1 of 2 monitors are in quorum; 2 are needed" in p.checks[2].detail


@pytest.mark.parametrize(("nearfull", "ok"), [(0.85, True), (0.05, False)])
def test_the_data_must_fit_below_nearfull(nearfull: float, ok: bool) -> None:
    # 183408 kB used of the two other OSDs' 2 x 1048576 kB: 8.7%
    assert plan(nearfull=nearfull).checks[0].ok is ok


def test_not_in_maintenance_blocks() -> None:
    assert plan(maintenance=False).blockers == ["h3 is not in maintenance"]


def test_the_monitor_is_found_by_address_too() -> None:
    assert mon_of(MONMAP, "other-name", "10.213.0.12") == "mvmlab-h2"
    assert mon_of(MONMAP, "nope", "10.0.0.9") is None
