"""What every screen of a cluster shares: access to the cluster and live inventory refresh."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from textual.app import SystemCommand
from textual.screen import Screen

from mvm_tui.runs import RunExecutor
from mvm_tui.services.cluster import Cluster
from mvm_tui.services.ha_status import HaStatus

if TYPE_CHECKING:
    from mvm_tui.app import MvmApp


class ClusterScreen(Screen[None]):
    """A screen that shows part of the cluster and repaints when the inventory changes."""

    @property
    def mvm(self) -> MvmApp:
        from mvm_tui.app import MvmApp

        return cast(MvmApp, self.app)

    @property
    def cluster(self) -> Cluster:
        return self.mvm.cluster

    @property
    def executor(self) -> RunExecutor:
        return self.mvm.executor

    def refuse_runs(self) -> bool:
        """True, and says why, when this process records no runs, so starts none (its run
        store cannot be used): the first line of every action that would start one."""
        return self.mvm.refuse_runs()

    def ha_status(self) -> HaStatus | None:
        """What this TUI's HA service says, when it is the active one (else None)."""
        ha = self.mvm.ha
        if ha is None or self.mvm.ha_standby:
            return None
        status = ha.status()
        return status if status.active else None

    def ha_phase(self, host: str) -> str | None:
        status = self.ha_status()
        return None if status is None else status.phases.get(host)

    def on_screen_resume(self) -> None:
        self.refresh_inventory()

    def refresh_inventory(self) -> None:
        """Repaint from `self.cluster.snapshot()`. Cheap: called every poll interval."""

    def palette_commands(self) -> Iterable[SystemCommand]:
        """Commands of this screen for the command palette."""
        return ()
