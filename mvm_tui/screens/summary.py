"""Cluster summary: health, hosts, capacity, Ceph and recent events on one page."""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Header, Static

from mvm_tui.core.capacity import Health, capacity, cluster_health
from mvm_tui.core.ha_journal import VmHa, health_reasons
from mvm_tui.models import ClusterSnapshot, EventLevel, HostState
from mvm_tui.screens.base import ClusterScreen
from mvm_tui.screens.incidents import IncidentsScreen
from mvm_tui.units import count
from mvm_tui.widgets import format as fmt
from mvm_tui.widgets.footer import SteadyFooter
from mvm_tui.widgets.literal import literal

HEALTH_TEXT = {
    Health.OK: Text("● OK", style="bold green"),
    Health.DEGRADED: Text("● DEGRADED", style="bold yellow"),
    Health.CRITICAL: Text("● CRITICAL", style="bold red"),
}
EVENT_STYLE = {EventLevel.INFO: "", EventLevel.WARNING: "yellow", EventLevel.ERROR: "red"}
MAX_EVENTS_SHOWN = 12
MAX_HOSTS_LISTED = 16  # above, only hosts not online (or in an HA phase) are listed


class SummaryScreen(ClusterScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("i", "incidents", "HA incidents", id="summary.incidents"),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "incidents":
            return self.ha_status() is not None
        return True

    def action_incidents(self) -> None:
        status = self.ha_status()
        if status is not None:
            self.app.push_screen(IncidentsScreen(status.incidents))

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="summary-top"):
            yield Static(id="summary-cluster", classes="panel")
            yield Static(id="summary-capacity", classes="panel")
        with Horizontal(id="summary-bottom"):
            yield Static(id="summary-ceph", classes="panel")
            yield Static(id="summary-events", classes="panel")
        yield SteadyFooter()

    def on_mount(self) -> None:
        titles = {
            "summary-cluster": "Cluster",
            "summary-capacity": "Capacity",
            "summary-ceph": "Ceph",
            "summary-events": "Recent events",
        }
        for widget_id, title in titles.items():
            self.query_one(f"#{widget_id}").border_title = title
        self.refresh_inventory()

    def refresh_inventory(self) -> None:
        snap = self.cluster.snapshot()
        self.query_one("#summary-cluster", Static).update(self._cluster_panel(snap))
        self.query_one("#summary-capacity", Static).update(self._capacity_panel(snap))
        self.query_one("#summary-ceph", Static).update(self._ceph_panel(snap))
        self.query_one("#summary-events", Static).update(self._events_panel())

    def _cluster_panel(self, snap: ClusterSnapshot) -> RenderableType:
        status = self.ha_status()
        phases = status.phases if status is not None else {}
        health = cluster_health(snap, health_reasons(phases, status.vms) if status else ())
        head = Text.assemble(
            (snap.name, "bold"), f"  ({snap.layout.value.upper()})   ", HEALTH_TEXT[health.level]
        )
        hosts = Table.grid(padding=(0, 2))
        vms_on = Counter(v.host for v in snap.vms)
        listed = snap.hosts
        if len(listed) > MAX_HOSTS_LISTED:  # a summary: the hosts that need a look
            listed = tuple(h for h in snap.hosts
                           if h.state is not HostState.ONLINE or h.name in phases)
        for host in listed[:MAX_HOSTS_LISTED]:
            hosts.add_row(literal(host.name), literal(host.address),
                          fmt.host_state(host.state, phases.get(host.name)),
                          count(vms_on[host.name], "VM"),
                          Text(host.error or "", style="red"))
        reasons = Text("\n".join(health.reasons), style="yellow")
        parts: list[RenderableType] = [head, reasons, self._ha_line(), Text(""), hosts]
        unlisted = len(snap.hosts) - min(len(listed), MAX_HOSTS_LISTED)
        if unlisted:
            parts.append(Text(f"{count(unlisted, 'more host')} (2 lists every host)", "dim"))
        return Group(*parts)

    def _ha_line(self) -> Text:
        refused, shown = self.session.runs_refused, self.session.shown
        if refused is not None:  # nothing can be recorded, so nothing is done
            return Text(f"ACTIONS ARE OFF, HA does not run here: {refused}",
                        style="bold white on red")
        if shown.ha is None:
            return Text("HA: not running in this session", style="dim")
        if shown.ha_standby:
            return Text(f"HA: standby, {shown.ha_standby}", style="yellow")
        status = shown.ha.status()
        if not status.active:
            return Text(f"HA: standby, the cluster's lock is held by {status.holder}",
                        style="yellow")
        troubled = [f"{h} {phase}" for h, phase in status.phases.items() if phase != "ok"]
        text = Text("HA: active in this session", style="green")
        if troubled:
            text.append(f"; {', '.join(troubled)}", style="yellow")
        for problem in status.trouble:  # the banner: HA cannot record or keep something
            text.append(f"\nHA PROBLEM: {problem}", style="bold white on red")
        for vm in sorted(status.vms.values(), key=lambda v: v.vm):
            style = "yellow" if vm.state is VmHa.BY_POLICY else "bold red"
            text.append(f"\nHA: {vm.line()}", style=style)
        current = [i for i in status.incidents if i.lost and i.end is None]
        if current or status.incidents:
            text.append(f"\nHA incidents: {len(current)} open, {len(status.incidents)} kept "
                        "(i: timelines)", style="yellow" if current else "dim")
        if status.pending_failbacks:
            text.append("\nHA asks: fail back " + ", ".join(
                f"{vm} to {home}" for vm, home in sorted(status.pending_failbacks.items())),
                style="yellow")
        return text

    def _capacity_panel(self, snap: ClusterSnapshot) -> RenderableType:
        cap = capacity(snap)
        table = Table.grid(padding=(0, 2))
        table.add_row("CPU", fmt.used_of(cap.cpu_used, cap.vcpus_total, "vCPU"),
                      f"{cap.vcpus_allocated} vCPU allocated")
        table.add_row("Memory", fmt.used_of(cap.memory_used_mb / 1024,
                                            cap.memory_total_mb / 1024, "GiB"),
                      f"{fmt.mib(cap.memory_allocated_mb)} allocated")
        table.add_row("Storage", fmt.used_of(cap.storage_used_gb, cap.storage_total_gb, "GB"), "")
        return table

    def _ceph_panel(self, snap: ClusterSnapshot) -> RenderableType:
        if snap.ceph_error:
            return Text(f"unavailable: {snap.ceph_error}", style="red")
        ceph = snap.ceph
        if ceph is None:
            return Text("no Ceph (external storage)" if snap.layout == "external" else "waiting…",
                        style="dim")
        table = Table.grid(padding=(0, 2))
        table.add_row("Health", fmt.health(ceph.health))
        for name, check in ceph.checks.items():
            table.add_row("", Text(f"{name}: {check.message}", style="yellow"))
        table.add_row("Monitors", literal(f"{len(ceph.quorum_names)}/{ceph.num_mons} in quorum "
                                          f"({', '.join(ceph.quorum_names)})"))
        table.add_row("OSDs", f"{ceph.num_osds} total, {ceph.num_up_osds} up, "
                              f"{ceph.num_in_osds} in")
        pgs = Table.grid(padding=(0, 1))
        for pg in sorted(ceph.pgs_by_state, key=lambda p: -p.count):
            style = "green" if pg.state_name == "active+clean" else "yellow"
            pgs.add_row(Text(str(pg.count), style=style), literal(pg.state_name))
        table.add_row(f"PGs ({ceph.num_pgs})", pgs)
        table.add_row("Usage", fmt.used_of(ceph.bytes_used / 1e9, ceph.bytes_total / 1e9, "GB"))
        return table

    def _events_panel(self) -> RenderableType:
        events = self.cluster.poller.events()[:MAX_EVENTS_SHOWN]
        if not events:
            return Text("nothing has happened yet", style="dim")
        table = Table.grid(padding=(0, 1))
        for event in events:
            table.add_row(fmt.clock_time(event.time), Text(event.subject, style="bold"),
                          Text(event.message, style=EVENT_STYLE[event.level]))
        return table
