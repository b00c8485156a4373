"""Every cluster of the config in one UI, as k9s contexts: one is shown at a time, its name in
the header bar, coloured per cluster (so "prod" never looks like "lab"); each keeps its own
inventory poller, HA service (with its own lock), decommissions and runs, whether shown or
not. Actions only ever go to the cluster shown: switching is refused while a dialog waits
for an answer, and it closes the screens open on top of the lists (a detail screen of one
cluster never acts on another). A cluster created in the wizard is adopted at once. Mixed
into MvmApp (mvm_tui/app.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.app import App
from textual.screen import ModalScreen

from mvm_tui.config import CLUSTER_COLORS, ClusterConfig
from mvm_tui.core.failover_plan import Decision, Kind
from mvm_tui.core.ha_journal import Notice
from mvm_tui.models import EventLevel
from mvm_tui.screens.failback import ask_failback
from mvm_tui.services.cluster import Cluster
from mvm_tui.services.decommission_runs import Decommissions
from mvm_tui.services.ha import HaService
from mvm_tui.services.ha_lock import HaLockHeld

ALARMING = frozenset({Kind.LOST, Kind.FENCE, Kind.FENCED, Kind.RESTART, Kind.STAY_DOWN})
FAILING = frozenset({Kind.FENCE_FAILED, Kind.RESTART_FAILED, Kind.FAILBACK_FAILED})


@dataclass
class Managed:
    """One cluster of the UI, with what runs for it while the app is open."""

    cluster: Cluster
    ha: HaService | None = None  # its failover service
    decommissions: Decommissions | None = None  # Ceph host removal (HCI clusters)
    ha_standby: str | None = None  # why its HA does not act here (another service does)
    color: str = ""

    @property
    def name(self) -> str:
        return self.cluster.name


def assign_colors(managed: list[Managed]) -> None:
    """The colour each cluster's config names, else the first one no other cluster has (in
    the config's order), so clusters look different as long as there are colours left."""
    taken = {m.cluster.config.color for m in managed
             if m.cluster.config is not None and m.cluster.config.color}
    free = [c for c in CLUSTER_COLORS if c not in taken] or list(CLUSTER_COLORS)
    for i, m in enumerate(managed):
        chosen = m.cluster.config.color if m.cluster.config is not None else None
        if not m.color:
            m.color = chosen or free[i % len(free)]


class ClusterSwitching(App[None]):
    managed: list[Managed]
    _shown: int
    # builds what a new cluster needs (its backend, poller, HA service): the session's
    add_cluster: Callable[[ClusterConfig], Managed] | None

    # -- the cluster shown

    @property
    def shown(self) -> Managed:
        return self.managed[self._shown]

    @property
    def cluster(self) -> Cluster:
        return self.shown.cluster

    @property
    def ha(self) -> HaService | None:
        return self.shown.ha

    @ha.setter
    def ha(self, service: HaService | None) -> None:
        self.shown.ha = service

    @property
    def decommissions(self) -> Decommissions | None:
        return self.shown.decommissions

    @decommissions.setter
    def decommissions(self, value: Decommissions | None) -> None:
        self.shown.decommissions = value

    @property
    def ha_standby(self) -> str | None:
        return self.shown.ha_standby

    def _show_name(self) -> None:
        self.sub_title = f"cluster {self.cluster.name}"
        for color in CLUSTER_COLORS:
            self.set_class(color == self.shown.color, f"-cluster-{color}")

    def switch_cluster(self, name: str, mode: str | None = None) -> bool:
        """Show cluster `name` (on the screen of `mode`, else the current one); False (and
        why, said) when it cannot be now."""
        index = next((i for i, m in enumerate(self.managed) if m.name == name), None)
        if index is None:
            self.notify(f"there is no cluster {name}", severity="error")
            return False
        if isinstance(self.screen, ModalScreen):
            self.notify("answer the open dialog first", title="Cluster not switched",
                        severity="warning")
            return False
        changed, self._shown = index != self._shown, index
        self._show_name()
        self.run_worker(self._after_switch(changed, mode), group="switch", exclusive=True)
        return True

    async def _after_switch(self, changed: bool, mode: str | None) -> None:
        """What was open on top of the lists belonged to the other cluster: closed."""
        if mode is not None and mode != self.current_mode:
            await self.switch_mode(mode)
        while len(self.screen_stack) > 1 and not isinstance(self.screen, ModalScreen):
            await self.pop_screen()
        if changed:
            self._inventory_changed()

    def _inventory_changed(self) -> None:
        raise NotImplementedError

    # -- every cluster, shown or not

    def _start_all(self) -> None:
        assign_colors(self.managed)
        self._show_name()
        for m in self.managed:
            self._start(m)

    def _start(self, m: Managed) -> None:
        m.cluster.poller.subscribe(self._inventory_changed)
        m.cluster.start()
        if m.ha is None:
            return
        m.ha.subscribe(lambda d: self._ha_decided(m, d))
        m.ha.on_trouble(lambda problem: self._ha_trouble(m, problem))
        m.ha.news.listen(lambda notice: self._ha_notice(m, notice))
        try:
            m.ha.start()
        except HaLockHeld as exc:
            m.ha_standby = str(exc)

    async def _stop_all(self) -> None:
        for m in self.managed:
            if m.ha is not None:
                await m.ha.stop()
            await m.cluster.stop()

    def adopt(self, config: ClusterConfig) -> None:
        """A cluster just created (and saved to the config file): shown beside the others."""
        if self.add_cluster is None or any(m.name == config.name for m in self.managed):
            return
        try:
            m = self.add_cluster(config)
        except Exception as exc:  # (its backend could not be made: said, the rest goes on)
            self.notify(f"cluster {config.name} cannot be shown: {exc}", severity="error")
            return
        self.managed.append(m)
        assign_colors(self.managed)
        self._start(m)
        self.notify(f"cluster {config.name} is shown beside the others: 5 lists them",
                    title="New cluster")

    def _prefix(self, m: Managed) -> str:
        return f"{m.name}: " if len(self.managed) > 1 else ""

    def _ha_decided(self, m: Managed, decision: Decision) -> None:
        level = (EventLevel.ERROR if decision.kind in FAILING else
                 EventLevel.WARNING if decision.kind in ALARMING else EventLevel.INFO)
        m.cluster.poller.record_event(level, decision.host, f"HA: {decision.text()}")
        if decision.kind is Kind.ASK_FAILBACK and decision.vm and m.ha is not None:
            ask_failback(self, m.ha, decision.vm, decision.host)

    def _ha_notice(self, m: Managed, notice: Notice) -> None:
        """A fence, a failure, VMs left down: a toast that stays until read."""
        self.notify(self._prefix(m) + notice.message, title=f"HA: {notice.event}",
                    severity="error" if notice.level == "error" else "warning", timeout=120)

    def _ha_trouble(self, m: Managed, problem: str) -> None:
        """Said loudly: HA cannot record or keep something (it tries again)."""
        if problem:
            self.notify(self._prefix(m) + problem, title="HA", severity="error", timeout=60)
            m.cluster.poller.record_event(EventLevel.ERROR, m.name, f"HA: {problem}")
