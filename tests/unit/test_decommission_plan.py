"""The decommission plan from the real lab samples: a host's OSDs and monitor, and whether the
cluster can do without it (data below nearfull, hosts for every pool, a monitor quorum)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvm_tui.backends import ceph
from mvm_tui.core.decommission import DecommissionPlan, Pool, mon_of, plan_decommission

SAMPLES = Path(__file__).parent.parent / "fixtures" / "ceph"
TREE = ceph.parse_osd_df_tree((SAMPLES / "ceph-osd-df-tree.json").read_text())
MONMAP = ceph.parse_mon_dump((SAMPLES / "ceph-mon-dump.json").read_text())
QUORUM = ceph.parse_quorum_status((SAMPLES / "ceph-quorum-status.json").read_text())
VMS = Pool("vms", 2, 1)


def plan(pools: list[Pool] | None = None, quorum: tuple[str, ...] | None = None,
         maintenance: bool = True, nearfull: float = 0.85) -> DecommissionPlan:
    return plan_decommission("h3", "10.213.0.13", "mvmlab-h3", maintenance, TREE, MONMAP,
                             QUORUM.quorum_names if quorum is None else quorum,
                             [VMS] if pools is None else pools, nearfull_ratio=nearfull)


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
    assert p.blockers == ["enough hosts are left for every pool: 2 hosts with an OSD up and in "
                          "would be left, too few for triple (size 3)"]


LAB = SAMPLES / "lab16"


@pytest.mark.parametrize(("state", "host", "left"), [
    ("healthy", "mvmlab-h1", 2),
    ("down-1", "mvmlab-h1", 1),  # osd.2 (mvmlab-h3) just went down: it is still in
    ("out-02", "mvmlab-h1", 1),  # osd.2 is out, up: it takes no data
    ("stopped-1", "mvmlab-h1", 1),  # osd.2 out and down, still in the CRUSH map
])
def test_hosts_left_count_only_hosts_with_an_osd_up_and_in(state: str, host: str,
                                                           left: int) -> None:
    tree = ceph.parse_osd_df_tree((LAB / f"ceph-osd-df-tree.{state}.json").read_text())
    assert {n.name for n in tree.of_type("host") if n.children} == {
        "mvmlab-h1", "mvmlab-h2", "mvmlab-h3"}  # every host still has its OSD in the tree
    p = plan_decommission(host, "10.213.0.11", host, True, tree, MONMAP, QUORUM.quorum_names,
                          [VMS], nearfull_ratio=0.85)
    assert p.checks[1].ok is (left >= VMS.size)
    word = "host" if left == 1 else "hosts"  # "1 host"
    assert p.checks[1].detail.startswith(f"{left} {word} with an OSD up and in")


def test_the_capacity_left_counts_only_osds_up_and_in() -> None:
    tree = ceph.parse_osd_df_tree((LAB / "ceph-osd-df-tree.down-1.json").read_text())
    p = plan_decommission("h1", "10.213.0.11", "mvmlab-h1", True, tree, MONMAP,
                          QUORUM.quorum_names, [VMS], nearfull_ratio=0.85)
    assert "of 1.1 GB left" in p.checks[0].detail  # osd.1 only: osd.2 is down


def test_no_warning_while_the_monitors_left_can_lose_one() -> None:
    five = MONMAP.model_copy(update={"mons": (*MONMAP.mons, *(
        m.model_copy(update={"name": f"extra{i}", "rank": 3 + i}) for i, m in
        enumerate(MONMAP.mons[:2])))})
    p = plan_decommission("h3", "10.213.0.13", "mvmlab-h3", True, TREE, five,
                          five.names, [VMS], nearfull_ratio=0.85)
    assert p.mon == "mvmlab-h3"
    assert p.warnings == ()  # 4 left, 3 needed: one may go


def test_the_plan_warns_when_the_monitors_left_can_lose_no_further_one() -> None:
    p = plan()  # 3 monitors: without mvmlab-h3, 2 left and 2 needed
    assert p.blockers == []
    assert p.warnings == (
        "without mvmlab-h3, 2 monitors are in quorum and 2 are needed: the cluster can lose no "
        "further monitor (add one after the decommission)",)


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
