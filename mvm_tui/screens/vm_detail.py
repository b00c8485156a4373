"""VM detail: Summary, Disks, NICs, Metrics and History tabs, and its power actions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.widgets import Header, Static, TabbedContent, TabPane

from mvm_tui.backends.base import BackendError
from mvm_tui.core.graphics_tunnel import JumpBox
from mvm_tui.models import MemSource, PowerState, Vm
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.screens.vm_actions import VmActionsScreen
from mvm_tui.services.cluster import POWER_TITLES, power_actions
from mvm_tui.widgets import format as fmt
from mvm_tui.widgets import graphics
from mvm_tui.widgets.ask import AskModal
from mvm_tui.widgets.footer import SteadyFooter
from mvm_tui.widgets.literal import literal
from mvm_tui.widgets.metric_plot import MetricPlot
from mvm_tui.widgets.resource_table import Column, ResourceTable, Row
from mvm_tui.widgets.runs_table import RunsTable

DISK_COLUMNS = (
    Column("target", "Device", 8),
    Column("bus", "Bus", 8),
    Column("size", "Size", 10, "right"),
    Column("source", "Source", 0),
)
ADDRESSES_EVERY_S = 30.0  # how often the guest agent is asked while the detail is open
NIC_COLUMNS = (
    Column("mac", "MAC", 18),
    Column("network", "Network", 0),
    Column("vlan", "VLAN", 5, "right"),
    Column("model", "Model", 8),
)
KEPT = "vm-detail"  # the name of the VM detail screen the app keeps


def open_vm_detail(app: App[Any], vm: str) -> None:
    """Show VM `vm`'s detail. One detail screen is kept and shown again for the next VM:
    composing one (its tabs, tables and chart) took ~100 ms at 64 hosts x 5,000 VMs."""
    kept = app.get_screen(KEPT) if app.is_screen_installed(KEPT) else None
    if kept is None:
        kept = VmDetailScreen(vm)
        app.install_screen(kept, KEPT)
    elif any(kept in stack for stack in app._screen_stacks.values()):
        kept = VmDetailScreen(vm)  # shown already, under others or in another mode: a new one
    else:
        assert isinstance(kept, VmDetailScreen)
        kept.show(vm)
    app.push_screen(kept)


class VmDetailScreen(VmActionsScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="detail.back"),
        Binding("a", "add_device", "Add", id="vm.add_device"),
        Binding("g", "grow_disk", "Grow disk", id="vm.grow_disk"),
        Binding("x", "remove_device", "Remove", id="vm.remove_device"),
    ]

    def __init__(self, vm: str) -> None:
        super().__init__()
        self.vm_name = vm
        self.addresses: tuple[str, ...] | None = None  # the guest agent's last answer
        self.pending = ""  # what its next boot changes (its definition's size), when read
        self._asked_at: float | None = None  # (cluster clock) when it was last asked
        self.jump_box: JumpBox | None = None  # this machine, for the consoles' tunnels

    def show(self, vm: str) -> None:
        """Show `vm` from now on (a kept screen, opened again: see `open_vm_detail`)."""
        self.workers.cancel_group(self, "addresses")
        self.vm_name, self.addresses, self.pending, self._asked_at = vm, None, "", None
        self.sub_title = f"VM {vm}"
        self.query_one("#vm-tabs", TabbedContent).active = "vm-summary"

    async def _ask_addresses(self) -> None:
        """The guest agent's addresses, and whether a resize waits for a restart."""
        name, backend = self.vm_name, self.cluster.backend
        try:
            addresses: tuple[str, ...] | None = await backend.guest_addresses(name)
        except BackendError:
            addresses = None
        pending = ""
        vm, w = self.selected_vm(), backend.workloads()
        if w is not None and vm is not None and vm.host is not None:
            with contextlib.suppress(BackendError):
                pending = (await w.shape(vm.host, name)).pending
        if name == self.vm_name:  # (not another VM's answer, on a screen shown again)
            self.addresses, self.pending = addresses, pending
            self.refresh_inventory()

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="vm-tabs"):
            with TabPane("Summary", id="vm-summary"):
                yield Static(id="vm-facts", classes="panel")
            with TabPane("Disks", id="vm-disks"):
                yield ResourceTable(DISK_COLUMNS, id="vm-disk-table")
            with TabPane("NICs", id="vm-nics"):
                yield ResourceTable(NIC_COLUMNS, id="vm-nic-table")
            with TabPane("Metrics", id="vm-metrics"):
                yield MetricPlot("CPU % of its vCPUs", ("cpu",), top=100, id="vm-chart-cpu")
            with TabPane("History", id="vm-history"):
                yield RunsTable(id="vm-runs")
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.sub_title = f"VM {self.vm_name}"
        self.refresh_inventory()
        self.run_worker(self._look_up_jump_box(), group="jump-box", exit_on_error=False)

    async def _look_up_jump_box(self) -> None:
        """This machine's name, for the graphical consoles' tunnels (a DNS lookup, once)."""
        self.jump_box = await asyncio.to_thread(graphics.this_jump_box)
        self.refresh_inventory()

    def selected_vm(self) -> Vm | None:
        return self.cluster.poller.vm(self.vm_name)

    def refresh_inventory(self) -> None:
        super().refresh_inventory()
        vm = self.selected_vm()
        if vm is None:
            self.query_one("#vm-facts", Static).update(
                Text(f"{self.vm_name} is not in the inventory (any more).", style="yellow"))
            return
        now = self.cluster.clock.now()
        if vm.power is PowerState.RUNNING and (
                self._asked_at is None or now - self._asked_at >= ADDRESSES_EVERY_S):
            self._asked_at = now
            self.run_worker(self._ask_addresses(), exclusive=True, group="addresses",
                            exit_on_error=False)
        self.query_one("#vm-facts", Static).update(self._facts(vm))
        self.query_one("#vm-disk-table", ResourceTable).set_rows([
            Row(d.target, (d.target, d.bus, f"{d.size_gb:g} GB", d.source),
                (d.target, d.bus, d.size_gb, d.source)) for d in vm.disks])
        self.query_one("#vm-nic-table", ResourceTable).set_rows([
            Row(n.mac, (n.mac, n.network, str(n.vlan or "-"), n.model),
                (n.mac, n.network, n.vlan or 0, n.model)) for n in vm.nics])
        cpu = self.cluster.poller.vm_cpu_history(vm.name)
        interval = self.cluster.poller.timers.interval
        xs = [-(len(cpu) - 1 - i) * interval / 60 for i in range(len(cpu))]
        self.query_one(MetricPlot).show(xs, [list(cpu)])
        self.query_one(RunsTable).show(
            self.executor.store.list_runs(cluster=self.cluster.name, vm=self.vm_name))

    def _facts(self, vm: Vm) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_row("VM", Text(vm.name, style="bold"))
        table.add_row("UUID", literal(vm.uuid))
        table.add_row("Power", fmt.power_state(vm.power))
        table.add_row("Host", literal(vm.host or "-"))
        home = f" (home {vm.home_host})" if vm.home_host and vm.home_host != vm.host else ""
        table.add_row("Placement", literal(vm.placement.value + home))
        table.add_row("vCPU", str(vm.vcpus))
        table.add_row("Memory", fmt.mib(vm.memory_mb))
        if self.pending and vm.power is PowerState.RUNNING:
            table.add_row("Next boot", Text(self.pending, style="yellow"))
        if vm.power is PowerState.RUNNING:
            table.add_row("Addresses", literal(
                ", ".join(self.addresses) if self.addresses else
                "none" if self.addresses is not None else
                "not known: its qemu guest agent does not answer (yet)"))
            table.add_row("CPU", fmt.pct(vm.cpu_pct).strip())
            if vm.mem_source is MemSource.GUEST:
                table.add_row("Memory used", fmt.mib(vm.mem_used_mb))
            else:  # no balloon driver reports the guest's own use
                table.add_row("Memory used", literal(
                    f"not reported by the guest ({fmt.mib(vm.mem_used_mb)} allocated)"))
            table.add_row("Disk I/O", f"read {fmt.rate(vm.disk_rd_bps)}, "
                                      f"write {fmt.rate(vm.disk_wr_bps)}")
            table.add_row("Network", f"rx {fmt.rate(vm.net_rx_bps)}, tx {fmt.rate(vm.net_tx_bps)}")
        if vm.graphics:
            for label, text in graphics.graphics_rows(vm, self.cluster.config, self.jump_box):
                table.add_row(label, text)
        return table

    # -- disks and NICs (on their tabs)

    def _tab(self) -> str:
        return self.query_one("#vm-tabs", TabbedContent).active

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("add_device", "remove_device"):
            return self._tab() in ("vm-disks", "vm-nics") and self.can_change()
        if action == "grow_disk":
            return self._tab() == "vm-disks" and self.can_change()
        return super().check_action(action, parameters)

    def on_tabbed_content_tab_activated(self) -> None:
        self.refresh_bindings()

    def action_add_device(self) -> None:
        vm = self.selected_vm()
        if vm is None:
            return
        if self._tab() == "vm-disks":
            self.ask_change(vm, AskModal(f"Add a disk to {vm.name}", "Size (GiB)", "10",
                                         "An empty RBD image, attached live."),
                            "disk-add", "size_gb")
        else:
            vlans = self.cluster.config.compute_vlans if self.cluster.config else []
            self.ask_change(vm, AskModal(f"Add a NIC to {vm.name}", "VLAN",
                                         str(vlans[0]) if vlans else "",
                                         "On the VLAN's port group, live. The cluster's: "
                                         + (", ".join(map(str, vlans)) or "none")),
                            "nic-add", "vlan")

    def action_grow_disk(self) -> None:
        vm, target = self.selected_vm(), self.query_one("#vm-disk-table",
                                                          ResourceTable).cursor_key
        disk = next((d for d in vm.disks if d.target == target), None) if vm else None
        if vm is not None and disk is not None:
            self.ask_change(vm, AskModal(f"Grow {disk.target} of {vm.name}", "New size (GiB)",
                                         str(int(disk.size_gb) + 10),
                                         "The image grows; a running guest is told."),
                            "disk-grow", "size_gb", disk=disk.target)

    def action_remove_device(self) -> None:
        vm = self.selected_vm()
        if vm is None:
            return
        if self._tab() == "vm-disks":
            target = self.query_one("#vm-disk-table", ResourceTable).cursor_key
            if target:
                self.plan_change(vm, {"kind": "disk-remove", "disk": target})
        else:
            mac = self.query_one("#vm-nic-table", ResourceTable).cursor_key
            if mac:
                self.plan_change(vm, {"kind": "nic-remove", "nic": mac})

    def on_resource_table_row_selected(self, event: ResourceTable.RowSelected) -> None:
        if isinstance(event.table, RunsTable):
            self.app.push_screen(RunDetailScreen(int(event.key)))

    def palette_commands(self) -> Iterable[SystemCommand]:
        vm = self.selected_vm()
        yield from self.key_commands(skip=("power",))  # placement
        for action in power_actions(vm) if vm else ():
            yield SystemCommand(f"{POWER_TITLES[action]} {self.vm_name}", "Power action",
                                lambda a=action: self.action_power(a.value))
