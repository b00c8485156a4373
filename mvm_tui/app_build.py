"""Building clusters from the TUI: the New Cluster wizard and Add Worker, each a form, the
preflight of its hosts, a confirmation with every command, then the provisioning runs (in
History). Mixed into MvmApp (mvm_tui/app.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from mvm_tui.app_clusters import ClusterSwitching
from mvm_tui.backends.libvirt.cpu_map import cpu_model_names
from mvm_tui.backends.ssh import HostKeyUnknown
from mvm_tui.config import ClusterConfig, HostConfig, cluster_from_form, host_from_row
from mvm_tui.core.cluster_form import ClusterForm, HostRow
from mvm_tui.models import Layout
from mvm_tui.runs import RunExecutor
from mvm_tui.screens.add_cluster import AddClusterScreen
from mvm_tui.screens.add_worker import AddWorkerScreen
from mvm_tui.screens.preflight import PreflightResult, PreflightScreen
from mvm_tui.screens.provisioning import ProvisioningScreen
from mvm_tui.services.cluster_builder import ClusterBuilder
from mvm_tui.services.preflight import (
    PreflightReport,
    PreflightSpec,
    run_preflight,
    spec_from_config,
)
from mvm_tui.widgets.confirm import ConfirmModal

# what a new cluster takes from the cluster shown (the wizard does not ask for them)
INHERITED = ("known_hosts", "ovs_datapath", "install_packages", "ceph_extra_conf")


class ClusterBuilding(ClusterSwitching):
    config_path: Path | None  # where a new cluster is added
    executor: RunExecutor

    async def _ask_host_key(self, unknown: HostKeyUnknown) -> bool:
        raise NotImplementedError

    def refuse_runs(self) -> bool:
        raise NotImplementedError

    def action_add_worker(self, start: HostRow | None = None) -> None:
        cluster = self.cluster.config
        if cluster is None or self.refuse_runs():
            return
        taken = {h.name for h in cluster.hosts} | {h.address for h in cluster.hosts}

        def filled(row: HostRow | None) -> None:
            if row is None:
                return
            host = host_from_row(row)
            passwords = ({host.name: row.password.get_secret_value()} if host.password_auth
                         else {})
            only = cluster.model_copy(update={"hosts": [host]})

            async def run(s: PreflightSpec) -> list[PreflightReport]:
                return await run_preflight(s, unknown_key=self._ask_host_key)

            def checked(result: PreflightResult | None) -> None:
                if result is not None and result.provision:
                    grown = cluster.model_copy(update={"hosts": [*cluster.hosts, host]})
                    self._confirm_provision(grown, [host], lambda: self._add_worker(
                        cluster, host, passwords))
                else:  # back to the form, to fix what the preflight found
                    self.action_add_worker(row)

            self.push_screen(PreflightScreen(spec_from_config(only, passwords), run,
                                             close="Back to the form"), checked)

        self.push_screen(AddWorkerScreen(cluster.name, taken, start), filled)

    async def _add_worker(self, cluster: ClusterConfig, host: HostConfig,
                          passwords: dict[str, str]) -> None:
        builder = ClusterBuilder(self.executor, self.cluster.clock,
                                 unknown_key=self._ask_host_key)
        result = await builder.add_worker(cluster, host, passwords, self.config_path)
        if result.ok:
            self.notify(f"{host.name} joined {cluster.name}" + (
                f"; added to {result.saved} (restart mvm-tui to watch it)" if result.saved
                else ""), title="Worker added")
        else:
            self.notify(f"{host.name} did not join: see its runs in History",
                        title="Add worker", severity="error")

    def action_new_cluster(self, start: ClusterForm | None = None) -> None:
        """The Add Cluster wizard: the form, the preflight of its hosts, then (every host
        ready, and confirmed) the provisioning, its runs in History; the cluster is then added
        to the config file. Esc on the preflight goes back to the form, as it was filled in."""
        if self.refuse_runs():
            return

        def filled(form: ClusterForm | None) -> None:
            if form is None:
                return
            cluster = cluster_from_form(form)
            base = self.cluster.config
            if base is not None:  # what the form does not ask: as for the cluster shown
                cluster = cluster.model_copy(update={k: getattr(base, k) for k in INHERITED})
            passwords = {k: v.get_secret_value() for k, v in form.passwords().items()}

            async def run(s: PreflightSpec) -> list[PreflightReport]:
                return await run_preflight(s, unknown_key=self._ask_host_key)

            def checked(result: PreflightResult | None) -> None:
                if result is not None and result.provision:
                    self._confirm_provision(cluster, cluster.hosts,
                                            lambda: self._provision(cluster, passwords))
                else:  # back to the form, to fix what the preflight found
                    self.action_new_cluster(form)

            self.push_screen(PreflightScreen(spec_from_config(cluster, passwords), run,
                                             close="Back to the form"), checked)

        self.push_screen(AddClusterScreen(start, cpu_models=cpu_model_names()), filled)

    def _confirm_provision(self, cluster: ClusterConfig, new: Sequence[HostConfig],
                           work: Callable[[], Awaitable[None]]) -> None:
        """Show what provisioning `new` will do, every command; run `work()` once confirmed."""
        names = ", ".join(h.name for h in new)
        if cluster.layout is Layout.HCI:
            storage = (f", and {'their' if len(new) > 1 else 'its'} Ceph OSDs on "
                       f"{', '.join(cluster.data_devices)} (the data on them is wiped)")
        elif cluster.datastore is not None:
            storage = f", and the datastore {cluster.datastore.name} as a libvirt pool"
        else:
            storage = ""
        joining = len(new) < len(cluster.hosts)
        modal = ConfirmModal(
            title=(f"Add {names} to {cluster.name}?" if joining
                   else f"Provision cluster {cluster.name}?"),
            consequence=f"{names} get KVM and libvirt, Open vSwitch with br-compute on "
            f"{cluster.interfaces.compute}{storage}. Every host of the cluster then trusts the "
            "others for live migration (each host's own key). Each host is a Run, shown as it "
            "goes and kept in History.",
            steps=ClusterBuilder(self.executor, self.cluster.clock).plan(cluster, new),
            verb="Provision")

        def confirmed(ok: bool | None) -> None:
            if ok:
                last = max((r.id for r in self.executor.store.list_runs(limit=1)), default=0)
                self.push_screen(ProvisioningScreen(cluster.name, after_run=last))
                self.run_worker(work(), name="provisioning", group="runs", exit_on_error=False)

        self.push_screen(modal, confirmed)

    async def _provision(self, cluster: ClusterConfig, passwords: dict[str, str]) -> None:
        builder = ClusterBuilder(self.executor, self.cluster.clock,
                                 unknown_key=self._ask_host_key)
        result = await builder.build(cluster, passwords, self.config_path)
        if result.ok:
            where = f"; added to {result.saved}" if result.saved else ""
            self.notify(f"cluster {cluster.name} is ready{where}", title="Provisioned")
            self.adopt(cluster)  # shown beside the others at once
        else:
            self.notify("provisioning did not finish: see its runs in History", title=
                        f"Cluster {cluster.name}", severity="error")
