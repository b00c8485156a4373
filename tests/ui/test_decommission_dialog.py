"""The decommission plan dialog: centred on the screen (at two terminal sizes), and its footer
says what is needed for each blocker (not "until: h3 is not in maintenance")."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.geometry import Region

from mvm_tui.backends import ceph
from mvm_tui.core.decommission import DecommissionPlan, Pool, plan_decommission
from mvm_tui.screens.decommission import DecommissionScreen, TypeHostScreen
from mvm_tui.services.decommission_runs import decommissions_for

from .conftest import first_poll_shown, make_demo, wait_until

SAMPLES = Path(__file__).parent.parent / "fixtures" / "ceph"  # taken on the lab (see there)
TREE = ceph.parse_osd_df_tree((SAMPLES / "ceph-osd-df-tree.json").read_text())
MONMAP = ceph.parse_mon_dump((SAMPLES / "ceph-mon-dump.json").read_text())
QUORUM = ceph.parse_quorum_status((SAMPLES / "ceph-quorum-status.json").read_text())
VMS = Pool("vms", 2, 1)


def lab_plan(*, maintenance: bool = True, pools: tuple[Pool, ...] = (VMS,),
             quorum: tuple[str, ...] | None = None, nearfull: float = 0.85) -> DecommissionPlan:
    return plan_decommission("h3", "10.213.0.13", "mvmlab-h3", maintenance, TREE, MONMAP,
                             QUORUM.quorum_names if quorum is None else quorum, list(pools),
                             nearfull_ratio=nearfull)


def centred(region: Region, size: tuple[int, int]) -> bool:
    """The region's centre is the screen's, to the cell (an odd leftover goes either way)."""
    dx = 2 * region.x + region.width - size[0]
    dy = 2 * region.y + region.height - size[1]
    return abs(dx) <= 1 and abs(dy) <= 1


@pytest.mark.parametrize("size", [(120, 40), (160, 50)])
async def test_the_plan_dialog_is_centred(tmp_path: Path, size: tuple[int, int]) -> None:
    demo = make_demo(tmp_path)
    demo.app.decommissions = decommissions_for(demo.session, demo.session.clusters[0], None)
    async with demo.app.run_test(size=size) as pilot:
        await first_poll_shown(pilot, demo)
        await pilot.press("2", "down", "down", "x")  # hv3 on Hosts
        await wait_until(pilot, lambda: isinstance(demo.app.screen, DecommissionScreen),
                         what="the plan")
        await pilot.pause()
        region = demo.app.screen.query_one("#decommission-dialog").region
        assert region.width < size[0], region
        assert region.height < size[1], region
        assert centred(region, size), (region, size)
        await pilot.press("escape")
        demo.app.push_screen(TypeHostScreen("hv3", "guard 'health' said no"))
        await pilot.pause()
        region = demo.app.screen.query_one("#override-dialog").region
        assert centred(region, size), (region, size)


@pytest.mark.parametrize(("plan", "needed"), [
    (lab_plan(maintenance=False), ["h3 is in maintenance (m enters it)"]),
    (lab_plan(nearfull=0.05), [
        "the other OSDs can take the data (now: 0.2 GB used of 2.1 GB left: 9% after "
        "removal (nearfull at 5%))"]),
    (lab_plan(pools=(VMS, Pool("triple", 3, 2))), [
        "enough hosts are left for every pool (now: 2 hosts with an OSD up and in would be "
        "left, too few for triple (size 3))"]),
    (lab_plan(maintenance=False, quorum=("mvmlab-h1", "mvmlab-h3")), [
        "h3 is in maintenance (m enters it)",
        "a monitor quorum is left (now: without mvmlab-h3, 1 of 2 monitors are in quorum; 2 "
        "are needed)"]),
], ids=["maintenance", "capacity", "hosts", "maintenance-and-quorum"])
async def test_the_footer_says_what_is_needed(tmp_path: Path, plan: DecommissionPlan,
                                              needed: list[str]) -> None:
    demo = make_demo(tmp_path)
    async with demo.app.run_test(size=(160, 50)) as pilot:
        await first_poll_shown(pilot, demo)
        demo.app.push_screen(DecommissionScreen(plan, []))
        await wait_until(pilot, lambda: isinstance(demo.app.screen, DecommissionScreen))
        await pilot.pause()
        footer = str(demo.app.screen.query_one("#decommission-blocked").render())
        assert footer.splitlines() == ["Nothing can run until:", *(f"  • {n}" for n in needed)]
        assert "not in maintenance" not in footer
        assert not demo.app.screen.query("#decommission-name")  # nothing to type: blocked
