"""The decommission's decisions on the real lab samples: healthy, rebalancing, an OSD down,
the stale status right after `osd out`, and after removal."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pytest

from mvm_tui.backends.capabilities import CliResult
from mvm_tui.clock import VirtualClock
from mvm_tui.core.decommission import without_address
from mvm_tui.decommission_cli import run_decommission
from mvm_tui.runs import StepContext
from mvm_tui.services.decommission import DecommissionSteps, GuardFailed

S = Path(__file__).parent.parent / "fixtures" / "ceph"


class SampleCeph:
    """Answers `ceph ...` with the lab's samples."""

    def __init__(self, **files: str) -> None:
        self.files = files  # "status" / "osd df tree" / "osd safe-to-destroy" -> sample path

    async def ceph(self, argv: Sequence[str]) -> CliResult:
        words = [w for w in argv[3:] if w not in ("-f", "json")]
        key = next(k for k in self.files if " ".join(words).startswith(k))
        return CliResult(0, (S / self.files[key]).read_text(), "")


def steps(admin: SampleCeph) -> DecommissionSteps:
    async def forget(host: str) -> None: ...

    return DecommissionSteps(admin, VirtualClock(), forget, lambda h: True)  # type: ignore[arg-type]


def ctx() -> StepContext:
    return StepContext(1, 0, VirtualClock())


# `ceph pg ls` from lab16's moving run, every PG moved off osd.2 (moving-03): the cases that
# have not moved must say so from their own status, tree and verdict
MOVED = "lab16/ceph-pg-ls.moving-03.json"


@pytest.mark.parametrize(("status", "tree", "verdict", "osd", "moved"), [
    # 2 s after `osd out osd.2`: every PG still active+clean at the same epoch, osd.2 holds PGs
    ("memstore/ceph-s.2s-after-osd-out-STALE-still-ok.json", "memstore/ceph-osd-df-tree.json",
     "synthetic/ceph-osd-safe-to-destroy.busy.json", 2, False),
    # the same status, even if safe-to-destroy said "safe" too early: the statistics still
    # give osd.2 its 27 PGs
    ("memstore/ceph-s.2s-after-osd-out-STALE-still-ok.json", "ceph-osd-df-tree.json",
     "synthetic/ceph-osd-safe-to-destroy.safe.json", 2, False),
    ("ceph-s.rebalancing.json", "ceph-osd-df-tree.rebalancing.json",
     "synthetic/ceph-osd-safe-to-destroy.busy.json", 1, False),
    ("ceph-s.osd-down-degraded.json", "ceph-osd-df-tree.osd-down.json",
     "synthetic/ceph-osd-safe-to-destroy.busy.json", 1, False),
    # moved: osd.2 holds no PG any more, everything active+clean, safe to destroy
    ("ceph-s.after-decom.json", "ceph-osd-df-tree.after-rm.json",
     "synthetic/ceph-osd-safe-to-destroy.safe.json", 2, True),
])
async def test_when_the_data_has_moved_off_an_osd(
    status: str, tree: str, verdict: str, osd: int, moved: bool
) -> None:
    s = steps(SampleCeph(**{"status": status, "osd df tree": tree,
                            "osd safe-to-destroy": verdict, "pg ls": MOVED}))
    assert await s._moved_off(ctx(), osd, report=False) is moved


async def test_the_health_guard_shows_the_health_detail() -> None:
    s = steps(SampleCeph(status="ceph-s.osd-down-degraded.json",
                         **{"osd df tree": "ceph-osd-df-tree.osd-down.json"}))
    health = s.build({"host": "h3", "bucket": "mvmlab-h3", "address": "10.213.0.13",
                      "osds": [2], "mon": None, "others": ["h1", "h2"]})[0]
    with pytest.raises(GuardFailed, match="HEALTH_WARN: OSD_DOWN: 1 osds down"):
        await health.action(ctx())
    ok = steps(SampleCeph(status="ceph-s.healthy.json",
                          **{"osd df tree": "ceph-osd-df-tree.json"})).build(
        {"host": "h3", "bucket": "b", "address": "a", "osds": [], "mon": None,
         "others": []})[0]
    await ok.action(ctx())


def test_mon_host_without_the_removed_monitor() -> None:
    value = ("[v2:10.213.0.11:3300,v1:10.213.0.11:6789],[v2:10.213.0.12:3300,v1:10.213.0.12:6789],"
             "[v2:10.213.0.13:3300,v1:10.213.0.13:6789]")
    assert without_address(value, "10.213.0.13") == (
        "[v2:10.213.0.11:3300,v1:10.213.0.11:6789],[v2:10.213.0.12:3300,v1:10.213.0.12:6789]")
    assert without_address("10.0.0.1,10.0.0.2:6789,10.0.0.3", "10.0.0.2") == "10.0.0.1,10.0.0.3"
    assert without_address(value, "10.9.9.9") == value


async def test_dry_run_prints_every_command_and_runs_nothing(tmp_path: Path) -> None:
    out = io.StringIO()
    code = await run_decommission("hv3", None, demo=True, dry_run=True, out=out,
                                  db_path=tmp_path / "runs.sqlite3")
    text = out.getvalue()
    assert code == 0, text
    assert "maintenance: NO (enter it first)" in text
    assert "osd.2:" in text
    assert "monitor: hv3" in text
    assert "[ok] the other OSDs can take the data:" in text
    assert "(nearfull at 85%)" in text
    assert "[warning] without hv3, 2 monitors are in quorum and 2 are needed" in text
    assert "$ ceph --connect-timeout 10 osd out 2" in text
    assert "$ ceph --connect-timeout 10 mon remove hv3" in text
    assert "$ ssh hv3 sudo systemctl stop ceph-osd@2" in text
    assert "run #" not in text


async def test_headless_refuses_a_host_not_in_maintenance(tmp_path: Path) -> None:
    out = io.StringIO()
    code = await run_decommission("hv3", None, demo=True, out=out,
                                  db_path=tmp_path / "runs.sqlite3")
    assert code == 1
    assert "not started: hv3 is not in maintenance" in out.getvalue()
