"""What a screen reaches of the session the app runs: every cluster with the services built for
it (the one shown first of all), the run executor, and whether this process may start runs.
MvmApp provides it (mvm_tui/app.py imports the screens, so they never import it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from mvm_tui.runs import RunExecutor
from mvm_tui.services.cluster import Cluster
from mvm_tui.services.decommission_runs import Decommissions
from mvm_tui.services.ha import HaService


class ManagedCluster(Protocol):
    """One cluster of the UI, with what runs for it while the app is open."""

    @property
    def name(self) -> str: ...
    @property
    def cluster(self) -> Cluster: ...
    @property
    def ha(self) -> HaService | None: ...  # its failover service, when one runs here
    @property
    def decommissions(self) -> Decommissions | None: ...  # Ceph host removal (HCI clusters)
    @property
    def ha_standby(self) -> str | None: ...  # why its HA does not act here
    @property
    def color(self) -> str: ...


class SessionHandle(Protocol):
    """The app, as its screens see it."""

    @property
    def shown(self) -> ManagedCluster: ...  # the cluster the screens show and act on
    @property
    def managed(self) -> Sequence[ManagedCluster]: ...  # every cluster, the shown one too
    @property
    def executor(self) -> RunExecutor: ...  # (one run store for every cluster)
    @property
    def runs_refused(self) -> str | None: ...  # why this process records no runs

    def refuse_runs(self) -> bool:
        """True, and says why, when this process records no runs (so starts none)."""
        ...

    def switch_cluster(self, name: str, mode: str | None = None) -> bool:
        """Show cluster `name`; False (and why, said) when it cannot be now."""
        ...
