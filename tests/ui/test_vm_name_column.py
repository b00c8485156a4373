"""The VMs table gives a VM's name at most NAME_WIDTH columns, so a long name does not push
the other columns off to the right: it is cut with "…" there, and VM detail shows it whole."""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path

import pytest

from mvm_tui.app import MvmApp
from mvm_tui.backends.sim.backend import SimBackend
from mvm_tui.backends.sim.clusters import demo_spec
from mvm_tui.backends.sim.spec import SimVmSpec
from mvm_tui.clock import VirtualClock
from mvm_tui.config import demo_config
from mvm_tui.screens.vm_detail import VmDetailScreen
from mvm_tui.screens.vms import VmsScreen
from mvm_tui.session import open_session
from mvm_tui.widgets.vm_table import NAME_WIDTH, VmTable

from .conftest import wait_until

LONG = "reporting-warehouse-etl-worker-eu-west-primary-07"  # 50 characters


def screen_lines(app: MvmApp) -> list[str]:
    svg = app.export_screenshot()
    text = html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")
    return text.splitlines()


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_a_long_vm_name_is_cut_in_the_table_and_whole_in_its_detail(
        tmp_path: Path, size: tuple[int, int]) -> None:
    spec = demo_spec()
    spec = dataclasses.replace(spec, vms=[*spec.vms, SimVmSpec(LONG, "hv3", 1, 1024, 10)])
    clock = VirtualClock()
    session = open_session(demo_config(), demo=True, clock=clock, db_path=tmp_path / "runs.db",
                           backend=SimBackend(spec, clock, seed=7))
    cluster = session.clusters[0]
    app = MvmApp(cluster, refresh_delay=0.0, prompts=session.prompts)
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: cluster.poller.polls_done >= 3 and app.up_to_date,
                         what="first poll")
        await pilot.press("3")
        await wait_until(pilot, lambda: isinstance(app.screen, VmsScreen), what="VMs")
        await pilot.pause()
        table = app.screen.query_one(VmTable)
        name_width = table._widths(table.scrollable_content_region.width)[0]
        assert 4 <= name_width <= NAME_WIDTH
        lines = screen_lines(app)
        header = next(line for line in lines if "Name" in line and "Host" in line)
        assert header.index("Host") <= header.index("Name") + NAME_WIDTH + 1
        row = next(line for line in lines if LONG[:name_width - 1] in line)
        assert LONG not in row
        assert f"{LONG[:name_width - 1]}…" in row
        assert "hv3" in row  # the host column is still on screen

        table.move_to_key(LONG)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, VmDetailScreen), what="detail")
        await pilot.pause()
        assert any(LONG in line for line in screen_lines(app))
    await session.close()
