"""Building a new cluster from its configuration, or adding a worker to one: the preflight of
the new hosts (nothing changes unless every one passes), a provisioning Run per new host (at
once), then for HCI the Ceph Run (across all hosts; for a worker, its joining, verified), the
hosts' mutual trust for live migration (a Run across every host: a worker's addition re-does it
on all of them), and the cluster saved in the config file. Shared by the wizard, Add Worker
and `mvm-tui cluster create --from FILE.toml`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mvm_tui.backends.reach import ssh_target
from mvm_tui.backends.ssh import SshOptions, SshPool, SshTarget
from mvm_tui.backends.ssh.errors import AuthFailed
from mvm_tui.backends.ssh.pool import Purpose, UnknownKeyPolicy
from mvm_tui.clock import Clock
from mvm_tui.config import ClusterConfig, HostConfig, add_cluster, add_hosts
from mvm_tui.models import Layout
from mvm_tui.runs import RunEvent, RunExecutor, RunRecord, RunState, Step
from mvm_tui.services.ceph_bootstrap_commands import CephHost
from mvm_tui.services.migration_trust import MigrationTrust, trust_hosts
from mvm_tui.services.preflight import PreflightReport, run_preflight, spec_from_config
from mvm_tui.services.provision import Compute, Provisioning, datastore_args
from mvm_tui.services.provision_ceph import CephBootstrap

BRIDGE = "br-compute"


@dataclass
class BuildResult:
    preflight: list[PreflightReport]
    runs: list[RunRecord] = field(default_factory=list)
    saved: Path | None = None

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.preflight) and bool(self.runs) and all(
            r.state is RunState.DONE for r in self.runs)


class ClusterBuilder:
    def __init__(self, executor: RunExecutor, clock: Clock, *,
                 unknown_key: UnknownKeyPolicy | None = None) -> None:
        self.executor, self.clock, self.unknown_key = executor, clock, unknown_key

    async def build(self, cluster: ClusterConfig, passwords: Mapping[str, str],
                    config_path: Path | None,
                    on_event: Callable[[RunEvent], None] | None = None) -> BuildResult:
        """A new cluster: every host provisioned, Ceph across them (HCI)."""
        return await self._provision(cluster, cluster.hosts, passwords, config_path, on_event)

    async def add_worker(self, cluster: ClusterConfig, host: HostConfig,
                         passwords: Mapping[str, str], config_path: Path | None,
                         on_event: Callable[[RunEvent], None] | None = None) -> BuildResult:
        """Add Worker: one more host, provisioned, joining the cluster's Ceph (HCI); the join
        is verified (libvirt answers, its OSDs up and in the CRUSH map) before it is saved."""
        grown = cluster.model_copy(update={"hosts": [*cluster.hosts, host]})
        return await self._provision(grown, [host], passwords, config_path, on_event)

    def plan(self, cluster: ClusterConfig, new: Sequence[HostConfig] | None = None) -> list[Step]:
        """The steps provisioning `new` (default: every host) would run, each with its exact
        commands, for the confirmation before anything is changed."""
        new = cluster.hosts if new is None else new
        pool = SshPool([])  # never connected: the steps are only read
        hosts, ceph = self._runs(cluster, pool, register=False)
        steps = [replace(step, title=f"{h.name}: {step.title}")
                 for h, params in zip(new, self._host_params(cluster, new), strict=True)
                 for step in hosts.build(params)]
        if ceph is not None:
            steps += ceph.build(ceph.params([CephHost(h.name, h.address) for h in cluster.hosts],
                                            list(cluster.data_devices),
                                            _joining(cluster, new)))
        trust = MigrationTrust(self.executor, pool, cluster.name, register=False)
        return steps + list(trust.build(trust.params(trust_hosts(cluster))))

    def _runs(self, cluster: ClusterConfig, pool: SshPool,
              register: bool) -> tuple[Provisioning, CephBootstrap | None]:
        hosts = Provisioning(self.executor, pool, cluster.name, cluster.install_packages,
                             register=register)
        if cluster.layout is not Layout.HCI:
            return hosts, None
        return hosts, CephBootstrap(self.executor, pool, self.clock, cluster.name,
                                    extra_conf=tuple(cluster.ceph_extra_conf),
                                    install=cluster.install_packages, register=register)

    @staticmethod
    def _host_params(cluster: ClusterConfig,
                     new: Sequence[HostConfig]) -> list[dict[str, Any]]:
        compute = Compute(BRIDGE, cluster.interfaces.compute, tuple(cluster.compute_vlans),
                          cluster.ovs_datapath)
        return [Provisioning.params(h.name, compute, cluster.cpu_model,
                                    datastore_args(cluster.datastore)) for h in new]

    async def _provision(self, cluster: ClusterConfig, new: Sequence[HostConfig],
                         passwords: Mapping[str, str], config_path: Path | None,
                         on_event: Callable[[RunEvent], None] | None) -> BuildResult:
        only_new = cluster.model_copy(update={"hosts": list(new)})
        reports = await run_preflight(spec_from_config(only_new, passwords), self.unknown_key)
        result = BuildResult(reports)
        if not all(r.ok for r in reports):
            return result

        async def password(target: SshTarget, purpose: Purpose) -> str:
            if target.name not in passwords:
                raise AuthFailed(f"{target.label}: no {purpose} password given")
            return passwords[target.name]

        pool = SshPool([ssh_target(cluster, h) for h in cluster.hosts],
                       SshOptions(connect_timeout=10, command_timeout=1800),
                       ask_password=password, unknown_key=self.unknown_key)
        unsubscribe = self.executor.subscribe(on_event) if on_event else (lambda: None)
        try:
            hosts, ceph = self._runs(cluster, pool, register=True)
            records = [hosts.create(params) for params in self._host_params(cluster, new)]
            result.runs = list(await asyncio.gather(
                *(self.executor.execute(r.id) for r in records)))
            if ceph is not None and all(r.state is RunState.DONE for r in result.runs):
                record = ceph.create([CephHost(h.name, h.address) for h in cluster.hosts],
                                     list(cluster.data_devices), join=_joining(cluster, new))
                result.runs.append(await self.executor.execute(record.id))
            if all(r.state is RunState.DONE for r in result.runs):
                trust = MigrationTrust(self.executor, pool, cluster.name)
                record = trust.create(trust_hosts(cluster))
                result.runs.append(await self.executor.execute(record.id))
        finally:
            unsubscribe()
            await pool.close()
        if result.ok and config_path is not None:  # from the file as it is now, locked
            if len(new) < len(cluster.hosts):  # workers joined the cluster
                add_hosts(config_path, cluster, new)
            else:
                save_cluster(cluster, config_path)
            result.saved = config_path
        return result


def _joining(cluster: ClusterConfig, new: Sequence[HostConfig]) -> list[str]:
    """The new hosts when they join a running cluster (Add Worker), else none."""
    return [h.name for h in new] if len(new) < len(cluster.hosts) else []


def save_cluster(cluster: ClusterConfig, path: Path) -> None:
    """Add the cluster to the config file (or replace the one of the same name), under the
    file's lock, from the file as it is now."""
    add_cluster(path, cluster)
