"""Clusters: every cluster of the config (the one shown marked), with the hosts and VMs of all
of them in two tables with a cluster column; Enter on a cluster (or on one of its hosts or
VMs) shows that cluster."""

from __future__ import annotations

from collections import Counter
from functools import partial

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Header, Static

from mvm_tui.models import HostState, PowerState
from mvm_tui.screens.base import ClusterScreen
from mvm_tui.screens.handle import ManagedCluster
from mvm_tui.services.ha_status import HaStatus
from mvm_tui.units import count
from mvm_tui.widgets import format as fmt
from mvm_tui.widgets.footer import SteadyFooter
from mvm_tui.widgets.resource_table import Column, ResourceTable, Row

CLUSTER_COLUMNS = (
    Column("name", "Cluster", 16),
    Column("layout", "Layout", 9),
    Column("hosts", "Hosts online", 13, "right"),
    Column("vms", "VMs running", 12, "right"),
    Column("ha", "HA", 0),
)
HOST_COLUMNS = (
    Column("cluster", "Cluster", 14),
    Column("name", "Host", 14),
    Column("state", "State", 12),
    Column("vms", "VMs", 5, "right"),
    Column("cpu", "CPU", 7, "right"),
    Column("mem", "Memory", 7, "right"),
)
VM_COLUMNS = (
    Column("cluster", "Cluster", 14),
    Column("name", "VM", 24),
    Column("host", "Host", 14),
    Column("power", "Power", 10),
    Column("placement", "Placement", 10),
    Column("cpu", "CPU", 7, "right"),
)


def _vm_cells(values: tuple[str, ...], cpu_pct: float) -> tuple[str, ...]:
    return (*values, fmt.pct(cpu_pct))  # (made only for the rows on screen)


def ha_text(m: ManagedCluster, status: HaStatus | None) -> str:
    """HA of the cluster in a few words; `status`: its service's, when one runs here."""
    if m.ha is None:
        return "off"
    if m.ha_standby:
        return f"standby ({m.ha_standby})"
    assert status is not None
    if not status.active:
        return f"standby, active: {status.holder}" if status.holder else "starting"
    down = [f"{count(len(status.vms), 'VM')} down"] if status.vms else []
    return ", ".join(["active", *down, *(f"{h} {p}" for h, p in status.phases.items()
                                         if p != "ok")])


class ClustersScreen(ClusterScreen):
    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="clusters-body"):
            yield Static("Clusters (Enter: show it)", classes="dim")
            yield ResourceTable(CLUSTER_COLUMNS, id="clusters-table")
            yield Static("Hosts of every cluster", classes="dim")
            yield ResourceTable(HOST_COLUMNS, id="all-hosts")
            yield Static("VMs of every cluster", classes="dim")
            yield ResourceTable(VM_COLUMNS, id="all-vms")
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.refresh_inventory()

    def refresh_inventory(self) -> None:
        clusters, hosts, vms = [], [], []
        for m in self.session.managed:
            snap = m.cluster.snapshot()
            online = sum(h.state is HostState.ONLINE for h in snap.hosts)
            running = sum(v.power is PowerState.RUNNING for v in snap.vms)
            shown = Text(("▶ " if m is self.session.shown else "  ") + m.name, style=m.color)
            status = m.ha.status() if m.ha is not None and not m.ha_standby else None
            ha = ha_text(m, status)
            clusters.append(Row(m.name, (
                shown, m.cluster.backend.layout.value, f"{online}/{len(snap.hosts)}",
                f"{running}/{len(snap.vms)}", ha),
                (m.name, m.cluster.backend.layout.value, online, running, ha)))
            vms_on = Counter(v.host for v in snap.vms)
            phases = status.phases if status is not None and status.active else {}
            for h in snap.hosts:
                state = fmt.host_state(h.state, phases.get(h.name))
                hosts.append(Row(f"{m.name}/{h.name}", (
                    m.name, h.name, state, str(vms_on[h.name]), fmt.pct(h.cpu_pct),
                    fmt.pct(h.mem_pct)),
                    (m.name, h.name, state.plain, vms_on[h.name], h.cpu_pct, h.mem_pct)))
            for v in snap.vms:
                values = (m.name, v.name, v.host or "", v.power.value, v.placement.value)
                vms.append(Row(f"{m.name}/{v.name}", partial(_vm_cells, values, v.cpu_pct),
                               (*values, v.cpu_pct)))
        self.query_one("#clusters-table", ResourceTable).set_rows(clusters)
        self.query_one("#all-hosts", ResourceTable).set_rows(hosts)
        self.query_one("#all-vms", ResourceTable).set_rows(vms)
        super().refresh_inventory()

    def on_resource_table_row_selected(self, event: ResourceTable.RowSelected) -> None:
        cluster = event.key.split("/", 1)[0]  # (a cluster's name holds no "/")
        self.session.switch_cluster(cluster, mode="summary")
