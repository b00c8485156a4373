"""Parsing real `ceph ... -f json` output (tests/fixtures/ceph, from the lab) into typed models."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mvm_tui.backends import ceph
from mvm_tui.backends.base import BackendError
from mvm_tui.models import CephStatus

FIXTURES = Path(__file__).parent.parent / "fixtures" / "ceph"
SAMPLES = sorted(FIXTURES.rglob("*.json"))
STALE = "memstore/ceph-s.2s-after-osd-out-STALE-still-ok.json"

Parser = Callable[[str], object]
# The file name up to its first dot names the command that printed it.
PARSERS: dict[str, tuple[Parser, str]] = {
    "ceph-s": (ceph.parse_status, "status"),
    "ceph-health-detail": (ceph.parse_health_detail, "health detail"),
    "ceph-osd-df-tree": (ceph.parse_osd_df_tree, "osd df tree"),
    "ceph-osd-tree": (ceph.parse_osd_tree, "osd tree"),
    "ceph-mon-dump": (ceph.parse_mon_dump, "mon dump"),
    "ceph-quorum-status": (ceph.parse_quorum_status, "quorum_status"),
    "ceph-pg-stat": (ceph.parse_pg_stat, "pg stat"),
    "ceph-osd-ok-to-stop": (ceph.parse_ok_to_stop, "osd ok-to-stop"),
    "ceph-osd-safe-to-destroy": (ceph.parse_safe_to_destroy, "osd safe-to-destroy"),
    "ceph-osd-dump": (ceph.parse_osd_dump, "osd dump"),
    "ceph-osd-blocklist-ls": (ceph.parse_blocklist_ls, "osd blocklist ls"),
    "ceph-pg-ls": (ceph.parse_pg_ls, "pg ls"),
    "ceph-pg-ls-by-osd": (ceph.parse_pg_ls, "pg ls"),
}


def text(name: str) -> str:
    return (FIXTURES / name).read_text()


def status(name: str) -> CephStatus:
    return ceph.parse_status(text(name))


def states(s: CephStatus) -> dict[str, int]:
    return {p.state_name: p.count for p in s.pgs_by_state}


def test_the_samples_are_there() -> None:
    assert len(SAMPLES) >= 20
    assert (FIXTURES / STALE).is_file()


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_sample_parses(path: Path) -> None:
    prefix = path.name.split(".")[0]
    assert prefix in PARSERS, f"no parser for {path.name}: add it to PARSERS"
    assert PARSERS[prefix][0](path.read_text()) is not None


@pytest.mark.parametrize("path", [p for p in SAMPLES if p.name.startswith("ceph-s.")], ids=str)
def test_status_samples_are_consistent(path: Path) -> None:
    s = ceph.parse_status(path.read_text())
    assert sum(p.count for p in s.pgs_by_state) == s.num_pgs == 33
    assert len(s.quorum_names) <= s.num_mons
    assert s.num_up_osds <= s.num_osds
    assert s.num_in_osds <= s.num_osds
    assert s.osdmap_epoch > 0
    assert 0 < s.bytes_used < s.bytes_total
    assert (s.health == "HEALTH_OK") == (not s.checks)


@pytest.mark.parametrize("name", ["ceph-s.healthy.json", "memstore/ceph-s.healthy.json"])
def test_status_healthy(name: str) -> None:
    s = status(name)
    assert s.health == "HEALTH_OK"
    assert s.checks == {}
    assert states(s) == {"active+clean": 33}
    assert s.pgs_clean == s.num_pgs
    assert (s.num_mons, s.num_osds, s.num_up_osds, s.num_in_osds) == (3, 3, 3, 3)
    assert s.quorum_names == ("mvmlab-h1", "mvmlab-h2", "mvmlab-h3")
    assert s.degraded_objects == s.misplaced_objects == 0


def test_status_rebalancing_before_health_notices() -> None:
    raw = ceph.parse_status_report(text("ceph-s.rebalancing.json"))
    s = ceph.parse_status(text("ceph-s.rebalancing.json"))
    assert s.health == "HEALTH_OK"  # health checks lag pgs_by_state
    assert states(s) == {"peering": 16, "active+clean": 12, "active+recovering": 5}
    assert s.pgs_by_state[0].state_name == "peering"  # most PGs first, as the simulator does
    assert (s.num_osds, s.num_in_osds, s.osdmap_epoch) == (3, 2, 16)
    assert s.misplaced_objects == 17
    assert s.degraded_objects == 0
    assert raw.pgmap.recovering_bytes_per_sec == 1179127
    assert raw.pgmap.inactive_pgs_ratio == pytest.approx(16 / 33)
    assert any("osd.1 marked out" in e.message for e in raw.progress_events.values())


def test_status_rebalancing_warn() -> None:
    s = status("ceph-s.rebalancing-warn.json")
    assert s.health == "HEALTH_WARN"
    assert s.checks["PG_DEGRADED"].count == 6
    assert len(s.checks) == 1
    assert s.checks["PG_DEGRADED"].message.startswith("Degraded data redundancy: 11/400")
    assert (s.degraded_objects, s.misplaced_objects) == (11, 40)
    assert not all(ceph.pg_state_settled(p.state_name) for p in s.pgs_by_state)
    raw = ceph.parse_status_report(text("ceph-s.rebalancing-warn.json"))
    assert (raw.pgmap.recovering_objects_per_sec, raw.pgmap.recovering_bytes_per_sec) == (
        6,
        7231286,
    )


def test_status_osd_down() -> None:
    s = status("ceph-s.osd-down-degraded.json")
    assert set(s.checks) == {"OSD_DOWN", "OSD_HOST_DOWN", "PG_DEGRADED"}
    assert s.health == "HEALTH_WARN"
    assert s.checks["OSD_DOWN"].count == s.checks["OSD_HOST_DOWN"].count == 1
    assert (s.num_osds, s.num_up_osds, s.num_in_osds) == (2, 1, 2)
    assert states(s) == {"active+undersized+degraded": 32, "active+undersized": 1}
    assert s.degraded_objects == 150
    assert s.pgs_clean == 0


def test_status_after_decommission() -> None:
    s = status("ceph-s.after-decom.json")
    assert s.health == "HEALTH_OK"
    assert s.pgs_clean == 33
    assert (s.num_mons, s.num_osds, s.num_up_osds, s.num_in_osds) == (2, 2, 2, 2)
    assert s.quorum_names == ("mvmlab-h1", "mvmlab-h2")


def test_nested_osdmap_of_older_releases() -> None:
    data = json.loads(text("ceph-s.healthy.json"))
    data["osdmap"] = {"osdmap": data["osdmap"]}
    assert ceph.parse_status(json.dumps(data)).osdmap_epoch == 14


def test_settled_refuses_the_stale_status_right_after_an_out() -> None:
    before, stale = status("memstore/ceph-s.healthy.json"), status(STALE)
    assert before.num_in_osds == 3
    assert stale.num_in_osds == 2  # the osdmap has the out...
    assert stale.health == "HEALTH_OK"
    assert stale.pgs_clean == stale.num_pgs  # ...PG stats not yet
    tree = ceph.parse_osd_df_tree(text("memstore/ceph-osd-df-tree.json"))
    out = tree.model_copy(update={"nodes": tuple(
        n.model_copy(update={"reweight": 0.0}) if n.name == "osd.2" else n for n in tree.nodes)})
    assert ceph.settled(stale, tree)  # the tree from before the out: nothing tells
    assert not ceph.settled(stale, out)  # osd.2 is out and still holds its PGs
    assert ceph.stale_reasons(stale, out) == ["osd.2 is out but still holds 27 PGs"]


def test_settled_through_a_decommission() -> None:
    for name in ("ceph-s.rebalancing.json", "ceph-s.rebalancing-warn.json",
                 "ceph-s.osd-down-degraded.json"):
        assert not ceph.settled(status(name)), name
    assert ceph.settled(status("ceph-s.after-decom.json"))
    unreported = status("ceph-s.after-decom.json").model_copy(update={"num_pgs": 34})
    assert not ceph.settled(unreported)


SETTLED = ["active+clean", "active+clean+scrubbing+deep", "active+clean+snaptrim"]
UNSETTLED = ["active+clean+remapped", "stale+active+clean", "active+undersized+degraded"]
UNSETTLED += ["active+recovering", "active+remapped+backfilling", "peering", "unknown"]


@pytest.mark.parametrize(
    ("state", "settled"), [(s, True) for s in SETTLED] + [(s, False) for s in UNSETTLED]
)
def test_pg_state_settled(state: str, settled: bool) -> None:
    assert ceph.pg_state_settled(state) is settled


def test_health_detail() -> None:
    ok = ceph.parse_health_detail(text("ceph-health-detail.healthy.json"))
    assert ok.status == "HEALTH_OK"
    assert ok.checks == {}
    degraded = ceph.parse_health_detail(text("ceph-health-detail.degraded.json"))
    check = degraded.checks["PG_DEGRADED"]
    assert (check.severity, check.summary.count, len(check.detail)) == ("HEALTH_WARN", 6, 6)
    down = ceph.parse_health_detail(text("ceph-health-detail.osd-down.json"))
    assert list(down.checks) == ["OSD_DOWN", "OSD_HOST_DOWN", "PG_DEGRADED"]
    assert len(down.checks["PG_DEGRADED"].detail) == 32
    assert down.to_checks()["OSD_HOST_DOWN"].message == "1 host (1 osds) down"


def test_osd_df_tree_healthy() -> None:
    t = ceph.parse_osd_df_tree(text("ceph-osd-df-tree.json"))
    assert t.osd_ids == (0, 1, 2)
    assert t.host_names == ("mvmlab-h1", "mvmlab-h2", "mvmlab-h3")
    assert [n.name for n in t.of_type("root")] == ["default"]
    root = t.node(-1)
    assert root is not None
    assert root.children == (-7, -5, -3)
    assert {o: t.host_of(o) for o in t.osd_ids} == {0: "mvmlab-h1", 1: "mvmlab-h2", 2: "mvmlab-h3"}
    osd0 = t.df(0)
    assert osd0 is not None
    assert (osd0.type, osd0.status, osd0.device_class, osd0.reweight) == ("osd", "up", "hdd", 1)
    assert osd0.kb == 1048576
    assert osd0.kb_used + osd0.kb_avail <= osd0.kb
    assert osd0.crush_weight == pytest.approx(0.00099, abs=1e-5)
    assert osd0.pgs == 17
    assert osd0.utilization == pytest.approx(100 * osd0.kb_used / osd0.kb)
    assert t.summary.total_kb == 3 * 1048576
    assert t.down_osds() == t.out_osds() == ()


def test_osd_df_tree_rebalancing_shows_the_out_osd() -> None:
    t = ceph.parse_osd_df_tree(text("ceph-osd-df-tree.rebalancing.json"))
    assert t.out_osds() == (1,)
    assert t.down_osds() == ()
    osd1 = t.df(1)
    assert osd1 is not None
    assert (osd1.reweight, osd1.pgs, osd1.status) == (0, 0, "up")


def test_osd_df_tree_osd_down() -> None:
    t = ceph.parse_osd_df_tree(text("ceph-osd-df-tree.osd-down.json"))
    assert t.down_osds() == (1,)
    assert t.host_of(1) == "mvmlab-h2"
    assert t.osds_on("mvmlab-h2") == (1,)
    assert t.osds_on("mvmlab-h3") == ()


def test_osd_df_tree_after_rm() -> None:
    t = ceph.parse_osd_df_tree(text("ceph-osd-df-tree.after-rm.json"))
    assert t.osd_ids == (0, 1)
    assert t.host_of(2) is None
    assert t.node(2) is None
    assert "mvmlab-h3" in t.host_names
    assert t.osds_on("mvmlab-h3") == ()  # the empty bucket
    assert t.summary.total_kb == 2 * 1048576


def test_osd_tree() -> None:
    t = ceph.parse_osd_tree(text("ceph-osd-tree.json"))
    assert t.osd_ids == (0, 1, 2)
    assert t.host_of(2) == "mvmlab-h3"
    assert t.stray == ()
    assert all(n.exists == 1 and n.status == "up" for n in t.nodes if n.type == "osd")


def test_mon_dump() -> None:
    m = ceph.parse_mon_dump(text("ceph-mon-dump.json"))
    assert (m.epoch, m.names, m.quorum) == (1, ("mvmlab-h1", "mvmlab-h2", "mvmlab-h3"), (0, 1, 2))
    h3 = m.mons[2]
    assert (h3.rank, h3.public_addr) == (2, "10.213.0.13:6789/0")
    assert [a.addr for a in h3.public_addrs.addrvec] == ["10.213.0.13:3300", "10.213.0.13:6789"]
    assert not ceph.mon_removed(m, "mvmlab-h3")
    assert ceph.mon_removed(m, "mvmlab-h4")


def test_quorum_status() -> None:
    q = ceph.parse_quorum_status(text("ceph-quorum-status.json"))
    assert q.quorum_leader_name == "mvmlab-h1"
    assert q.quorum_names == q.monmap.names == ("mvmlab-h1", "mvmlab-h2", "mvmlab-h3")
    lost = q.model_copy(update={"quorum_names": ("mvmlab-h1",)})
    assert q.out_of_quorum == ()
    assert lost.out_of_quorum == ("mvmlab-h2", "mvmlab-h3")


def test_pg_stat() -> None:
    p = ceph.parse_pg_stat(text("ceph-pg-stat.json"))
    assert p.pg_ready
    assert p.all_active_clean
    assert p.pg_summary.num_pgs == 33
    assert p.pg_summary.total_bytes == 3221225472


def test_ok_to_stop_ok() -> None:
    r = ceph.parse_ok_to_stop(text("ceph-osd-ok-to-stop.json"))
    assert r.ok_to_stop
    assert r.osds == (2,)
    assert r.error == ""
    assert (r.num_ok_pgs, r.num_not_ok_pgs, len(r.ok_become_degraded)) == (27, 0, 27)


def test_ok_to_stop_refused_prints_json_and_exits_ebusy() -> None:
    stderr = "Error EBUSY: unsafe to stop osd(s) at this time (3 PGs are or would become offline)"
    r = ceph.parse_ok_to_stop(
        text("synthetic/ceph-osd-ok-to-stop.not-ok.json"), returncode=16, stderr=stderr
    )
    assert not r.ok_to_stop
    assert r.bad_become_inactive == ("2.3", "2.7", "2.1c")
    assert r.error == stderr


def test_ok_to_stop_nonzero_exit_is_never_ok() -> None:
    r = ceph.parse_ok_to_stop("", returncode=2, stderr="Error EINVAL: osd.9 does not exist\n")
    assert not r.ok_to_stop
    assert r.error == "Error EINVAL: osd.9 does not exist"
    r = ceph.parse_ok_to_stop("\n", returncode=1)
    assert not r.ok_to_stop
    assert "exited with status 1" in r.error
    r = ceph.parse_ok_to_stop(text("ceph-osd-ok-to-stop.json"), returncode=11, stderr="EAGAIN")
    assert not r.ok_to_stop
    assert r.error == "EAGAIN"


def test_safe_to_destroy() -> None:
    safe = ceph.parse_safe_to_destroy(text("synthetic/ceph-osd-safe-to-destroy.safe.json"))
    busy = ceph.parse_safe_to_destroy(text("synthetic/ceph-osd-safe-to-destroy.busy.json"))
    assert safe.is_safe([2])
    assert not safe.is_safe([1, 2])
    assert not safe.is_safe([])
    assert not busy.is_safe([2])
    assert busy.active == (2,)
    failed = ceph.parse_safe_to_destroy("", returncode=11, stderr="Error EAGAIN: 1 pgs unknown")
    assert not failed.is_safe([2])
    assert failed.error.startswith("Error EAGAIN")


def test_data_moved_needs_a_settled_rebalance_too() -> None:
    # safe-to-destroy once said "safe" right after the out, while PGs were still recovering
    safe = ceph.parse_safe_to_destroy(text("synthetic/ceph-osd-safe-to-destroy.safe.json"))
    after = ceph.parse_osd_df_tree(text("ceph-osd-df-tree.after-rm.json"))
    assert not ceph.data_moved(safe, status("ceph-s.rebalancing-warn.json"), after, 2)
    assert ceph.data_moved(safe, status("ceph-s.after-decom.json"), after, 2)
    busy = ceph.parse_safe_to_destroy(text("synthetic/ceph-osd-safe-to-destroy.busy.json"))
    assert not ceph.data_moved(busy, status("ceph-s.after-decom.json"), after, 2)


BAD = ["", "  \n", "<html><body><h1>502 Bad Gateway</h1></body></html>", "Error EACCES: denied"]
BAD += ["null", "[]", '"HEALTH_OK"', '{"foo": 1}', '{"status": 42, "nodes": "x", "epoch": "one"}']


@pytest.mark.parametrize("prefix", list(PARSERS))
@pytest.mark.parametrize("bad", [*BAD, "TRUNCATED"], ids=range(len(BAD) + 1))
def test_malformed_output_raises_a_typed_error(prefix: str, bad: str) -> None:
    parser, command = PARSERS[prefix]
    if bad == "TRUNCATED":
        good = next(p for p in SAMPLES if p.name.startswith(prefix + ".")).read_text()
        bad = good[: len(good) // 2]
    if prefix == "ceph-osd-blocklist-ls" and bad == "[]":  # a Ceph without range blocklists
        assert parser(bad) == ceph.Blocklist()
        return
    with pytest.raises(ceph.CephParseError) as e:
        parser(bad)
    assert isinstance(e.value, BackendError)
    assert e.value.command == command
    assert str(e.value).startswith(f"`ceph {command}`: ")
    assert len(str(e.value)) < 400


def test_wrong_command_output_is_rejected() -> None:
    with pytest.raises(ceph.CephParseError, match="osd df tree"):
        ceph.parse_osd_df_tree(text("ceph-s.healthy.json"))
    with pytest.raises(ceph.CephParseError, match=r"^`ceph status`: unexpected JSON shape: health"):
        ceph.parse_status(text("ceph-osd-tree.json"))


# -- osd dump and osd blocklist ls, captured on the lab's Ceph 16.2.15 (lab16/README.md)


def test_osd_dump_has_the_clusters_nearfull_ratio() -> None:
    default = ceph.parse_osd_dump(text("lab16/ceph-osd-dump.healthy.json"))
    changed = ceph.parse_osd_dump(text("lab16/ceph-osd-dump.nearfull-0.8.json"))
    # Ceph keeps the ratios as 32-bit floats: 0.85 prints as 0.8500000238418579
    assert default.nearfull_ratio == pytest.approx(0.85)
    assert changed.nearfull_ratio == \
        pytest.approx(0.8)
    assert changed.full_ratio == pytest.approx(0.95)
    assert changed.backfillfull_ratio == pytest.approx(0.9)
    assert changed.epoch > default.epoch
    assert [(o.osd, o.up, o.in_) for o in default.osds] == [(0, 1, 1), (1, 1, 1), (2, 1, 1)]


def blocklist(name: str) -> ceph.Blocklist:
    return ceph.parse_blocklist_ls(text(f"lab16/ceph-osd-blocklist-ls.{name}.json"))


def test_blocklist_ls_prints_two_documents_addresses_then_ranges() -> None:
    assert text("lab16/ceph-osd-blocklist-ls.empty.json").strip() == "[][]"
    assert blocklist("empty") == ceph.Blocklist()
    addrs = blocklist("addrs")
    assert addrs.addrs == ("10.213.0.12:6800/1234", "10.213.0.13:0/0")
    assert addrs.ranges == ()
    ranges = blocklist("with-ranges")
    assert [str(r.network) for r in ranges.ranges] == ["10.213.0.0/24", "10.213.0.128/25"]
    assert ranges.addrs == addrs.addrs
    assert ceph.parse_blocklist_ls('[{"addr":"10.0.0.3:0/0","until":"x"}]').addrs == (
        "10.0.0.3:0/0",)  # a Ceph without range blocklists prints only the first list


@pytest.mark.parametrize(("sample", "ip", "fenced"), [
    ("empty", "10.213.0.13", False),
    ("addrs", "10.213.0.13", True),  # 10.213.0.13:0/0: every client of the address
    ("addrs", "10.213.0.12", False),  # 10.213.0.12:6800/1234: one client instance only
    ("with-range", "10.213.0.12", True),  # inside 10.213.0.0/24
    ("with-range", "10.213.0.200", True),
    ("with-range", "10.213.1.12", False),
    ("with-ranges", "10.213.0.129", True),
    ("after-rm", "10.213.0.13", False),
])
def test_an_address_in_a_blocklisted_range_is_fenced(sample: str, ip: str, fenced: bool) -> None:
    assert blocklist(sample).covers(ip) is fenced


@pytest.mark.parametrize("bad", ["", "{}", "[]x", "[][][]", '[{"until": "x"}]',
                                 '[{"addr": "nonsense:0/0"}]', '[][{"range": "10.0.0.0:0/x"}]'])
def test_a_blocklist_that_is_not_cephs_is_an_error(bad: str) -> None:
    with pytest.raises(ceph.CephParseError, match="osd blocklist ls"):
        ceph.parse_blocklist_ls(bad)


def test_pg_ls_reports_each_pg_with_its_epoch() -> None:
    before = ceph.parse_pg_ls(text("lab16/ceph-pg-ls-by-osd.moving-before.json"))
    assert len(before.pg_stats) == 23
    assert all(p.on(2) for p in before.pg_stats)
    held = ceph.parse_pg_ls(text("lab16/ceph-pg-ls.held-2.json"))
    assert len(held.pg_stats) == 33
    assert {p.state for p in held.pg_stats} == {"active+clean", "peering"}
    p = next(p for p in held.pg_stats if p.pgid == "1.0")
    assert (p.state, p.reported_epoch, p.up, p.acting) == ("peering", 14, (0, 1), (0, 1))
