"""A refresh of the VM table costs what changed (issue 16): a VM whose object is the one shown
keeps its row and cells, and the rows are sorted again only when a value of the sort column
moved or the set of rows changed."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult

from mvm_tui.models import PowerState, Vm
from mvm_tui.widgets import resource_table
from mvm_tui.widgets.format import pct
from mvm_tui.widgets.vm_table import VmRow, VmTable


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield VmTable()


def vms(n: int) -> list[Vm]:
    return [Vm(name=f"vm-{i:03d}", uuid=str(i), host=f"h{i % 3}", power=PowerState.RUNNING,
               vcpus=2, memory_mb=1024, cpu_pct=float(i)) for i in range(n)]


class Counts:
    """How often the table sorted and how many rows made their cells."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sorts = 0
        self.cells_made: list[str] = []
        resort, make = resource_table.ResourceTable._resort, VmRow.make_cells

        def counted_resort(table: Any) -> None:
            self.sorts += 1
            resort(table)

        def counted_make(row: VmRow) -> Any:
            self.cells_made.append(row.key)
            return make(row)

        monkeypatch.setattr(resource_table.ResourceTable, "_resort", counted_resort)
        monkeypatch.setattr(VmRow, "make_cells", counted_make)

    def reset(self) -> None:
        self.sorts = 0
        self.cells_made.clear()


async def test_a_refresh_with_nothing_changed_makes_no_row_and_sorts_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    counts = Counts(monkeypatch)
    shown = vms(200)
    async with TableApp().run_test(size=(120, 30)) as pilot:
        table = pilot.app.query_one(VmTable)
        table.show(shown)
        await pilot.pause()
        rows = {row.key: row for row in table.rows}
        assert counts.sorts == 1
        assert len(counts.cells_made) > 0
        counts.reset()

        table.show(shown)
        await pilot.pause()
        assert counts.sorts == 0
        assert counts.cells_made == []
        assert all(rows[row.key] is row for row in table.rows)


async def test_a_changed_vm_remakes_its_row_only_and_sorts_only_when_its_sort_value_moved(
        monkeypatch: pytest.MonkeyPatch) -> None:
    counts = Counts(monkeypatch)
    shown = vms(200)
    async with TableApp().run_test(size=(120, 30)) as pilot:
        table = pilot.app.query_one(VmTable)
        table.show(shown)
        await pilot.pause()
        counts.reset()

        busier = shown[3].model_copy(update={"cpu_pct": 99.0})  # sorted by name: stays put
        table.show([*shown[:3], busier, *shown[4:]])
        await pilot.pause()
        assert counts.sorts == 0
        assert counts.cells_made == ["vm-003"]
        assert table.rows[3].cells[-1] == pct(99.0)

        table.action_sort_next()  # host, then power, ..., up to CPU
        while table.sort_by != "cpu":
            table.action_sort_next()
        counts.reset()
        idle = busier.model_copy(update={"cpu_pct": 0.5})  # moves in the CPU order
        table.show([*shown[:3], idle, *shown[4:]])
        await pilot.pause()
        assert counts.sorts == 1
        assert [row.key for row in table.rows[:2]] == ["vm-000", "vm-003"]


async def test_a_vm_that_appears_or_leaves_sorts_the_rows_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    counts = Counts(monkeypatch)
    shown = vms(50)
    async with TableApp().run_test(size=(120, 30)) as pilot:
        table = pilot.app.query_one(VmTable)
        table.show(shown[1:])
        await pilot.pause()
        counts.reset()
        table.show(shown)
        await pilot.pause()
        assert counts.sorts == 1
        assert table.rows[0].key == "vm-000"
        table.show(shown[:-1])
        await pilot.pause()
        assert counts.sorts == 2
        assert [row.key for row in table.rows] == [v.name for v in shown[:-1]]
        renamed = [*shown[:-2], shown[-2].model_copy(update={"name": "vm-zzz"})]  # as many
        table.show(renamed)
        await pilot.pause()
        assert counts.sorts == 3
        assert [row.key for row in table.rows] == [v.name for v in renamed]
        assert table.vm(shown[-2].name) is None


async def test_a_refresh_repaints_only_the_lines_on_screen_whose_vm_changed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    shown = vms(200)
    async with TableApp().run_test(size=(120, 30)) as pilot:
        table = pilot.app.query_one(VmTable)
        table.show(shown)
        await pilot.pause()
        lines: list[int] = []
        whole: list[bool] = []
        refresh_line, refresh = VmTable.refresh_line, VmTable.refresh

        def counted_line(t: VmTable, y: int) -> None:
            lines.append(y)
            refresh_line(t, y)

        def counted(t: VmTable, *regions: Any, **kw: Any) -> Any:
            whole.append(not regions)
            return refresh(t, *regions, **kw)

        monkeypatch.setattr(VmTable, "refresh_line", counted_line)
        monkeypatch.setattr(VmTable, "refresh", counted)
        changed = [*shown]
        changed[2] = shown[2].model_copy(update={"cpu_pct": 50.5})  # on screen, 3rd line
        changed[150] = shown[150].model_copy(update={"cpu_pct": 50.5})  # off screen
        table.show(changed)
        await pilot.pause()
        assert lines == [3]  # (line 0 is the header)
        assert True not in whole
        assert "50.5%" in pilot.app.export_screenshot().replace("\xa0", " ")


async def test_the_filter_keeps_the_rows_it_leaves_out() -> None:
    shown = vms(30)
    async with TableApp().run_test(size=(120, 30)) as pilot:
        table = pilot.app.query_one(VmTable)
        assert table.show(shown, ["h1"]) == 10
        assert {row.key for row in table.rows} == {v.name for v in shown if v.host == "h1"}
        left_out = table._vm_rows["vm-000"]
        assert table.vm("vm-000") is shown[0]
        assert table.show(shown, ["vm-00", "h2"]) == 3  # vm-002, vm-005, vm-008
        assert table.show(shown) == 30
        assert table._vm_rows["vm-000"] is left_out
