"""Hosts: every host with its state, VM count, load and a CPU sparkline."""

from __future__ import annotations

from collections import Counter

from textual.app import ComposeResult
from textual.widgets import Header

from mvm_tui.models import Host
from mvm_tui.screens.host_actions import HostActionsScreen
from mvm_tui.screens.host_detail import HostDetailScreen
from mvm_tui.widgets import format as fmt
from mvm_tui.widgets.footer import SteadyFooter
from mvm_tui.widgets.resource_table import Column, ResourceTable, Row

SPARK_WIDTH = 30

COLUMNS = (
    Column("name", "Name", 14),
    Column("address", "Address", 16),
    Column("state", "State", 11),
    Column("vms", "VMs", 4, "right"),
    Column("cpu", "CPU", 7, "right"),
    Column("mem", "Memory", 7, "right"),
    Column("spark", "CPU, last minutes", 0),
)


class HostsScreen(HostActionsScreen):
    def compose(self) -> ComposeResult:
        yield Header()
        yield ResourceTable(COLUMNS, id="hosts-table")
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.refresh_inventory()

    def refresh_inventory(self) -> None:
        snap = self.cluster.snapshot()
        vm_count = Counter(v.host for v in snap.vms)
        status = self.ha_status()
        phases = status.phases if status is not None else {}
        rows = []
        for host in snap.hosts:
            history = [m.cpu_pct for m in self.cluster.poller.host_history(host.name)]
            rows.append(
                Row(
                    key=host.name,
                    cells=(
                        host.name,
                        host.address,
                        fmt.host_state(host.state, phases.get(host.name)),
                        str(vm_count[host.name]),
                        fmt.pct(host.cpu_pct),
                        fmt.pct(host.mem_pct),
                        fmt.sparkline(history, SPARK_WIDTH),
                    ),
                    sort_values=(
                        host.name,
                        host.address,
                        fmt.host_state(host.state, phases.get(host.name)).plain,
                        vm_count[host.name],
                        host.cpu_pct,
                        host.mem_pct,
                        host.cpu_pct,
                    ),
                )
            )
        self.query_one(ResourceTable).set_rows(rows)
        super().refresh_inventory()

    def selected_host(self) -> Host | None:
        key = self.query_one(ResourceTable).cursor_key
        return next((h for h in self.cluster.snapshot().hosts if h.name == key), None)

    def on_resource_table_cursor_moved(self, event: ResourceTable.CursorMoved) -> None:
        self.refresh_bindings()

    def on_resource_table_row_selected(self, event: ResourceTable.RowSelected) -> None:
        self.app.push_screen(HostDetailScreen(event.key))
