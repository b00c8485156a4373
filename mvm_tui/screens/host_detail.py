"""Host detail: Summary, VMs, Monitoring (charts over the last minutes) and History tabs."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid
from textual.widgets import Header, Static, TabbedContent, TabPane

from mvm_tui.models import Host
from mvm_tui.screens.host_actions import HostActionsScreen
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.screens.vm_detail import open_vm_detail
from mvm_tui.widgets import format as fmt
from mvm_tui.widgets.footer import SteadyFooter
from mvm_tui.widgets.literal import literal
from mvm_tui.widgets.metric_plot import MetricPlot
from mvm_tui.widgets.runs_table import RunsTable
from mvm_tui.widgets.vm_table import VmTable


class HostDetailScreen(HostActionsScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="detail.back"),
    ]

    def __init__(self, host: str) -> None:
        super().__init__()
        self.host_name = host

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="host-tabs"):
            with TabPane("Summary", id="host-summary"):
                yield Static(id="host-facts", classes="panel")
            with TabPane("VMs", id="host-vms"):
                yield VmTable(id="host-vm-table")
            with TabPane("Monitoring", id="host-monitoring"), Grid(id="host-charts"):
                yield MetricPlot("CPU %", ("cpu",), top=100, id="chart-cpu")
                yield MetricPlot("Memory %", ("memory",), top=100, id="chart-mem")
                yield MetricPlot("Network MiB/s", ("rx", "tx"), id="chart-net")
                yield MetricPlot("Disk MiB/s", ("read", "write"), id="chart-disk")
            with TabPane("History", id="host-history"):
                yield RunsTable(id="host-runs")
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.sub_title = f"host {self.host_name}"
        self.refresh_inventory()

    def selected_host(self) -> Host | None:
        return self._host()

    def _host(self) -> Host | None:
        return next((h for h in self.cluster.snapshot().hosts if h.name == self.host_name), None)

    def refresh_inventory(self) -> None:
        host = self._host()
        if host is None:  # it left the cluster (decommissioned): nothing is offered for it
            self.query_one("#host-facts", Static).update(
                Text(f"{self.host_name} is no longer in cluster {self.cluster.name}."))
            self.refresh_bindings()
            return
        snap = self.cluster.snapshot()
        self.query_one("#host-facts", Static).update(self._facts(host))
        self.query_one(VmTable).show([v for v in snap.vms if v.host == host.name])
        self._plot()
        self.query_one(RunsTable).show(self.executor.store.list_runs(
            cluster=self.cluster.name, host=self.host_name))
        super().refresh_inventory()

    def _facts(self, host: Host) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_row("Host", Text(host.name, style="bold"))
        table.add_row("Address", literal(host.address))
        table.add_row("State", fmt.host_state(host.state, self.ha_phase(host.name)))
        if host.error:
            table.add_row("Last error", Text(host.error, style="red"))
        if host.last_seen is not None:
            table.add_row("Last answer", fmt.date_time(host.last_seen))
        if host.facts:
            f = host.facts
            table.add_row("CPU", f"{f.vcpus} vCPU, {fmt.pct(host.cpu_pct).strip()} busy")
            used = host.metrics.mem_used_mb if host.metrics else 0
            table.add_row("Memory", fmt.used_of(used / 1024, f.memory_mb / 1024, "GiB"))
            table.add_row("Storage", fmt.used_of(f.storage_used_gb, f.storage_gb, "GB"))
            table.add_row("OS", literal(f.os or "-"))
            table.add_row("libvirt", literal(f.libvirt_version or "-"))
        m = host.metrics
        if m is not None and (m.net_devices or m.disk_devices):
            # the charts' network and disk figures: the host's own counters of these devices
            table.add_row("Network of", Text(", ".join(m.net_devices) or "-"))
            table.add_row("Disk I/O of", Text(", ".join(m.disk_devices) or "-"))
        spec = self.cluster.config
        if spec is not None:
            ifaces = spec.interfaces
            table.add_row("Interfaces", literal(f"management {ifaces.management}, storage "
                                                f"{ifaces.storage}, compute {ifaces.compute}"))
            table.add_row("Data devices", literal(", ".join(spec.data_devices) or "-"))
        return table

    def _plot(self) -> None:
        history = self.cluster.poller.host_history(self.host_name)
        if not history:
            return
        now = history[-1].time
        xs = [(m.time - now) / 60 for m in history]
        host = self._host()
        memory = host.facts.memory_mb if host and host.facts else 0
        mib = 1024 * 1024
        self.query_one("#chart-cpu", MetricPlot).show(xs, [[m.cpu_pct for m in history]])
        self.query_one("#chart-mem", MetricPlot).show(
            xs, [[100 * m.mem_used_mb / memory if memory else 0 for m in history]])
        self.query_one("#chart-net", MetricPlot).show(
            xs, [[m.net_rx_bps / mib for m in history], [m.net_tx_bps / mib for m in history]])
        self.query_one("#chart-disk", MetricPlot).show(
            xs, [[m.disk_rd_bps / mib for m in history], [m.disk_wr_bps / mib for m in history]])

    def on_resource_table_row_selected(self, event: VmTable.RowSelected) -> None:
        event.stop()
        if isinstance(event.table, RunsTable):
            self.app.push_screen(RunDetailScreen(int(event.key)))
        else:
            open_vm_detail(self.app, event.key)
