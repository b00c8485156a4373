"""The decommission of a cluster's Ceph hosts: its plan (read from Ceph), the run that does it
(services.decommission), registered with the executor, and the operator's guard overrides."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from mvm_tui.backends import ceph
from mvm_tui.backends.base import BackendError, ClusterBackend
from mvm_tui.backends.ceph import commands as cmd
from mvm_tui.clock import Clock
from mvm_tui.config import load_config, remove_host
from mvm_tui.core.decommission import DecommissionPlan, Pool, plan_decommission
from mvm_tui.models import Layout
from mvm_tui.runs import RunExecutor, RunRecord, Step, Targets
from mvm_tui.services.cluster import Cluster
from mvm_tui.services.decommission import GUARDS, DecommissionSteps, plan_params

KIND = "ceph.decommission"


class Wiring(Protocol):
    """What a decommission needs of the session that built the cluster."""

    @property
    def clock(self) -> Clock: ...

    @property
    def executor(self) -> RunExecutor: ...


class Decommissions:
    def __init__(
        self,
        backend: ClusterBackend,
        clock: Clock,
        executor: RunExecutor,
        forget_host: Callable[[str], Awaitable[None]],
        host_known: Callable[[str], bool],
        **timing: Any,
    ) -> None:
        admin = backend.ceph_admin()
        if admin is None:
            raise BackendError(f"cluster {backend.name} has no Ceph to decommission hosts from")
        self.backend, self.executor = backend, executor
        self.admin = admin
        self.steps = DecommissionSteps(self.admin, clock, forget_host, host_known, **timing)
        self.kind = f"{backend.name}:{KIND}"
        if not executor.is_registered(self.kind):
            executor.register(self.kind, self.steps.build)

    async def plan(self, host: str, in_maintenance: bool) -> DecommissionPlan:
        """What the host holds and whether the cluster can do without it (reads Ceph)."""
        ref = next((h for h in self.backend.hosts if h.name == host), None)
        if ref is None:
            raise BackendError(f"no host {host} in cluster {self.backend.name}")
        bucket = await self.admin.crush_name(host)
        tree = await self.steps.read(cmd.osd_df_tree(), ceph.parse_osd_df_tree)
        monmap = await self.steps.read(cmd.mon_dump(), ceph.parse_mon_dump)
        quorum = await self.steps.read(cmd.quorum_status(), ceph.parse_quorum_status)
        pools = await self.steps.read(cmd.osd_pool_ls_detail(), ceph.parse_pool_ls_detail)
        osdmap = await self.steps.read(cmd.osd_dump(), ceph.parse_osd_dump)
        return plan_decommission(host, ref.address, bucket, in_maintenance, tree, monmap,
                                 quorum.quorum_names,
                                 [Pool(p.pool_name, p.size, p.min_size) for p in pools],
                                 nearfull_ratio=osdmap.nearfull_ratio)

    def params(self, plan: DecommissionPlan) -> dict[str, Any]:
        others = [h.name for h in self.backend.hosts if h.name != plan.host]
        return plan_params(plan, others)

    def preview(self, plan: DecommissionPlan) -> list[Step]:
        return self.steps.build(self.params(plan))

    def create(self, plan: DecommissionPlan) -> RunRecord:
        if plan.blockers:
            raise BackendError("cannot decommission " + plan.host + ": "
                               + "; ".join(plan.blockers))
        return self.executor.create(self.kind, f"Decommission {plan.host}", self.params(plan),
                                    Targets(cluster=self.backend.name, host=plan.host))

    def override(self, run: RunRecord, guard: str, typed: str) -> None:
        """Let the run pass `guard` once retried: only with the host's name typed exactly."""
        host = str(run.params.get("host"))
        if typed != host:
            raise BackendError(f"type the host's name ({host}) to override a guard")
        if guard not in GUARDS:
            raise BackendError(f"no guard {guard!r}; the guards are {', '.join(GUARDS)}")
        self.steps.overrides.setdefault(run.id, set()).add(guard)

    def unfinished(self) -> list[RunRecord]:
        return [r for r in self.executor.store.unfinished() if r.kind == self.kind]


def host_remover(cluster: str, config_path: Path | None
                 ) -> tuple[Callable[[str], Awaitable[None]], Callable[[str], bool]]:
    """forget_host / host_known of a cluster: the host's entry leaves the config file (on the
    demo, which has none, the host is only forgotten for this session)."""
    removed: set[str] = set()

    async def forget(host: str) -> None:
        if config_path is not None:  # under the file's lock, from the file as it is now
            remove_host(config_path, cluster, host)
        removed.add(host)

    def known(host: str) -> bool:
        if host in removed:
            return False
        if config_path is None:
            return True
        return any(h.name == host for c in load_config(config_path).clusters
                   if c.name == cluster for h in c.hosts)

    return forget, known


def decommissions_for(session: Wiring, cluster: Cluster, config_path: Path | None
                      ) -> Decommissions | None:
    """The cluster's decommissions, when it has Ceph hosts."""
    if cluster.backend.layout is not Layout.HCI:
        return None
    forget_config, known = host_remover(cluster.name, config_path)

    async def forget(host: str) -> None:  # out of the config, and out of the cluster now
        await forget_config(host)
        # the backend's host list, the inventory poller and the HA service all hear it
        cluster.backend.host_left(host)

    try:
        return Decommissions(cluster.backend, session.clock, session.executor, forget, known)
    except BackendError:
        return None
