"""The Cluster facade: what the UI and the headless commands use, whatever the backend.

It owns the inventory poller of one cluster and turns every change to the cluster into a Run
(preview -> confirm -> run with a live log -> History).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from mvm_tui.backends.base import ClusterBackend, InvalidState, NotFound
from mvm_tui.clock import Clock
from mvm_tui.config import ClusterConfig, PlanConfig
from mvm_tui.core.failover import HaSettings
from mvm_tui.core.maintenance import EvacuationPlan, ReturnPlan
from mvm_tui.core.new_vm import NewVm
from mvm_tui.core.vm_change import find_disk
from mvm_tui.models import ClusterSnapshot, EventLevel, PowerAction, PowerState, Vm
from mvm_tui.runs import RunExecutor, RunRecord, RunState, Step, Targets
from mvm_tui.services.consoles.sessions import ConsoleSessions
from mvm_tui.services.inventory import InventoryPoller, PollTimers
from mvm_tui.services.maintenance import MaintenanceRuns
from mvm_tui.services.placement import (
    PlacementChoice,
    check_choice,
    placement_params,
    placement_steps,
)
from mvm_tui.services.power_runs import OUTCOME, PowerRuns
from mvm_tui.services.power_runs import POWER_TITLES as POWER_TITLES  # for the screens
from mvm_tui.services.stopping import stop_within
from mvm_tui.services.workloads import change
from mvm_tui.services.workloads.clone import clone_params, clone_steps
from mvm_tui.services.workloads.create import check_request, create_steps, to_params
from mvm_tui.services.workloads.delete import KEEP_DAYS, delete_params, delete_steps
from mvm_tui.services.workloads.images import import_steps, remove_steps, rename_steps
from mvm_tui.services.workloads.rename import rename_vm_params, rename_vm_steps
from mvm_tui.services.workloads.restore import restore_params, restore_steps
from mvm_tui.services.workloads.snapshots import SnapshotRuns

# Which actions apply in which power state; the UI offers nothing else.
POWER_ACTIONS_BY_STATE: dict[PowerState, tuple[PowerAction, ...]] = {
    PowerState.SHUTOFF: (PowerAction.START,),
    PowerState.CRASHED: (PowerAction.START,),
    PowerState.RUNNING: (PowerAction.SHUTDOWN, PowerAction.POWEROFF, PowerAction.REBOOT),
    PowerState.PAUSED: (PowerAction.POWEROFF,),
    PowerState.SHUTTING_DOWN: (PowerAction.POWEROFF,),
}


def power_actions(vm: Vm) -> tuple[PowerAction, ...]:
    return POWER_ACTIONS_BY_STATE.get(vm.power, ())


class Cluster:
    def __init__(
        self,
        backend: ClusterBackend,
        clock: Clock,
        executor: RunExecutor,
        timers: PollTimers,
        power_timeout: float = 120.0,
        config: ClusterConfig | None = None,
        ha_settings: HaSettings | None = None,
        plans: Mapping[str, PlanConfig] | None = None,
    ) -> None:
        self.backend = backend
        self.config = config  # the cluster's configuration, when it has one
        self.plans = dict(plans or {})  # the config's named sizes, for new VMs
        # HA's timers and policies as the config sets them (session.ha_settings): the HA
        # service runs with them, the failover drill decides with them
        self.ha_settings = ha_settings or HaSettings()
        self.clock = clock
        self.executor = executor
        self.poller = InventoryPoller(backend, clock, timers)
        self._stopping: asyncio.Future[None] | None = None
        self.power = PowerRuns(backend, clock, self._known_vm, self.poller.update_vm,
                               power_timeout)
        executor.register(self._kind("vm.power"), self.power.steps)
        executor.register(self._kind("vm.placement"), self._build_placement_run)
        executor.register(self._kind("vm.create"), self._build_create_run)
        executor.register(self._kind("image.import"), partial(import_steps, backend))
        executor.register(self._kind("vm.delete"), partial(delete_steps, backend))
        executor.register(self._kind("image.rename"), partial(rename_steps, backend))
        executor.register(self._kind("image.remove"), partial(remove_steps, backend))
        executor.register(self._kind("vm.clone"), partial(
            clone_steps, backend, self.ha_settings))
        executor.register(self._kind("vm.rename"), partial(rename_vm_steps, backend))
        executor.register(self._kind("vm.restore"), partial(
            restore_steps, backend, self.snapshot, self.ha_settings))
        executor.register(self._kind("vm.change"), partial(
            change.change_steps, backend, self.snapshot, self.ha_settings,
            self.poller.update_vm))
        self.consoles = ConsoleSessions(backend, clock, executor)
        self.snapshots = SnapshotRuns(executor, self._kind(""), backend)
        self.maintenance = MaintenanceRuns(
            executor, self._kind(""), backend, clock, self.snapshot,
            vm_changed=self.poller.update_vm,
        )

    @property
    def name(self) -> str:
        return self.backend.name

    def start(self) -> None:
        self._stopping = None
        self.poller.start()

    async def stop(self) -> None:
        """Polling stopped and the connections closed, each bounded (see stop_within); once,
        however many callers (the TUI's quit and its session's close)."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(stop_within(
                f"cluster {self.name}",
                [("polling", self.poller.stop), ("its connections", self.backend.close)]))
        await asyncio.shield(self._stopping)

    def snapshot(self) -> ClusterSnapshot:
        return self.poller.snapshot()

    def vm(self, name: str) -> Vm:
        vm = self.poller.vm(name)
        if vm is None:
            raise NotFound(f"no VM named {name!r} in cluster {self.name}")
        return vm

    # -- VM power --------------------------------------------------------------------------

    def power_params(self, vm: Vm, action: PowerAction) -> dict[str, Any]:
        return {"vm": vm.name, "host": vm.host, "action": action.value}

    def power_preview(self, vm: Vm, action: PowerAction) -> list[Step]:
        return self.executor.preview(self._kind("vm.power"), self.power_params(vm, action))

    def create_power_run(self, vm: Vm, action: PowerAction) -> RunRecord:
        return self.executor.create(
            self._kind("vm.power"),
            f"{POWER_TITLES[action]} {vm.name}",
            self.power_params(vm, action),
            Targets(cluster=self.name, host=vm.host, vm=vm.name),
        )

    async def execute(self, run_id: int) -> RunRecord:
        record = await self.executor.execute(run_id)
        level = EventLevel.INFO if record.state is RunState.DONE else EventLevel.ERROR
        subject = record.targets.vm or record.targets.host or self.name
        if record.state is RunState.DONE:
            how = self.executor.store.notes(run_id).get(OUTCOME)
            outcome = "done" if how is None else f"done: {how}"
        elif record.state is RunState.CANCELLED:
            level = EventLevel.WARNING
            outcome = f"cancelled: {record.error}" if record.error else "cancelled"
        else:  # never "failed: None"
            outcome = f"{record.state.value}: {record.error}" if record.error else (
                record.state.value)
        self.poller.record_event(level, subject, f"{record.title}: {outcome}")
        return record

    # -- VM placement and live migration -------------------------------------------------------

    def placement_preview(self, vm: Vm, choice: PlacementChoice) -> list[Step]:
        return self.executor.preview(self._kind("vm.placement"), placement_params(vm, choice))

    def create_placement_run(self, vm: Vm, choice: PlacementChoice) -> RunRecord:
        """Raises InvalidState, with the reason, when the chosen host cannot take the VM."""
        check_choice(self.snapshot(), vm, choice)
        title = (f"Migrate {vm.name} to {choice.host}" if choice.host != vm.host
                 else f"Set placement of {vm.name}")
        return self.executor.create(
            self._kind("vm.placement"), title, placement_params(vm, choice),
            Targets(cluster=self.name, host=vm.host, vm=vm.name),
        )

    def _build_placement_run(self, params: Mapping[str, Any]) -> Sequence[Step]:
        return placement_steps(self.backend, self._known_vm, self.poller.update_vm, params)

    # -- new VMs (issue 17) ---------------------------------------------------------------------

    async def new_vm_params(self, req: NewVm) -> dict[str, Any]:
        """The parameters of the run that makes `req`, its host chosen (or the one asked for
        checked); RequestRefused naming the fields that are wrong, nothing made."""
        workloads = self.backend.workloads()
        if workloads is None:
            raise InvalidState(f"cluster {self.name} has no image library (only HCI clusters "
                               "make VMs from images for now)")
        vlans = tuple(self.config.compute_vlans) if self.config else ()
        req, host = await check_request(req, workloads, self.snapshot(), self.ha_settings,
                                        vlans)
        c = self.config
        return to_params(req, host, await workloads.secret_uuid(), workloads.pool,
                         c.vm_virt_type if c else "kvm", c.cpu_model if c else "host-model",
                         nic_offload=c is None or c.ovs_datapath != "netdev")

    def create_vm_preview(self, params: Mapping[str, Any]) -> list[Step]:
        return self.executor.preview(self._kind("vm.create"), params)

    def create_vm_run(self, params: Mapping[str, Any]) -> RunRecord:
        name = params["request"]["name"]
        return self.executor.create(self._kind("vm.create"), f"Create {name}", params,
                                    Targets(cluster=self.name, host=params["host"], vm=name))

    def delete_params(self, vm: Vm, keep_days: int = KEEP_DAYS) -> dict[str, Any]:
        """InvalidState, saying why, when it cannot be deleted here (nothing is done)."""
        workloads = self.backend.workloads()
        if workloads is None:
            raise InvalidState(f"cluster {self.name} cannot delete VMs (HCI clusters only)")
        return delete_params(vm, workloads.pool, self.clock.now(), keep_days)

    def delete_preview(self, params: Mapping[str, Any]) -> list[Step]:
        return self.executor.preview(self._kind("vm.delete"), params)

    def create_delete_run(self, params: Mapping[str, Any]) -> RunRecord:
        return self.executor.create(
            self._kind("vm.delete"), f"Delete {params['vm']}", params,
            Targets(cluster=self.name, host=params["host"], vm=params["vm"]))

    async def change_params(self, vm: Vm, request: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters of the run that makes `request` ({"kind": ..., its values}; see
        services/workloads/change.py) to `vm`; ValueError or InvalidState saying why it
        cannot be done (nothing is done)."""
        w = self.backend.workloads()
        if w is None:
            raise InvalidState(f"cluster {self.name} cannot change VMs (HCI clusters only)")
        if vm.host is None:
            raise InvalidState(f"{vm.name} is on no host")
        shape = await w.shape(vm.host, vm.name)
        size = None
        if request.get("kind") == "disk-grow":
            disk = find_disk(shape, str(request.get("disk")))
            size = await w.disk_bytes(disk.image) if disk.image else None
        c = self.config
        params = change.change_params(
            vm, shape, request, pool=w.pool, now=self.clock.now(),
            vlans=tuple(c.compute_vlans) if c else (),
            offload=c is None or c.ovs_datapath != "netdev", disk_bytes=size)
        if params["kind"] == "resize":
            why = await change.growth_refusal(self.backend, self.snapshot(), self.ha_settings,
                                              vm.name, vm.host, shape, params)
            if why:
                raise InvalidState(why)
        return params

    def change_preview(self, params: Mapping[str, Any]) -> list[Step]:
        return self.executor.preview(self._kind("vm.change"), params)

    def create_change_run(self, params: Mapping[str, Any]) -> RunRecord:
        return self.executor.create(
            self._kind("vm.change"), change.title(params), params,
            Targets(cluster=self.name, host=params["host"], vm=params["vm"]))

    async def restore_params(self, vm: str, host: str | None = None,
                             start: bool = False) -> dict[str, Any]:
        """InvalidState, saying why, when `vm` cannot be restored (nothing is done)."""
        w = self.backend.workloads()
        if w is None:
            raise InvalidState(f"cluster {self.name} cannot restore VMs (HCI clusters only)")
        return restore_params(vm, await w.kept(vm), await w.defined(vm), self.snapshot(),
                              self.ha_settings, host, start)

    async def clone_params(self, vm: Vm, name: str, **options: Any) -> dict[str, Any]:
        """Cloning stopped `vm` as `name`, or `vm` as its snapshot was (options: host, start,
        address, gateway, dns, snapshot); ValueError or InvalidState saying why not (nothing
        is done)."""
        w = self.backend.workloads()
        if w is None or vm.host is None:
            raise InvalidState(f"{vm.name} cannot be cloned here (HCI clusters only, on a "
                               "host)")
        at = options.get("snapshot")
        if at is not None and not any(s.name == at and s.complete
                                      for s in await self.snapshots.of(vm)):
            raise ValueError(f"{vm.name} has no complete snapshot named {at}")
        return clone_params(vm, await w.shape(vm.host, vm.name), name, self.snapshot(),
                            self.ha_settings, **options)

    async def rename_params(self, vm: Vm, new: str) -> dict[str, Any]:
        w = self.backend.workloads()
        if w is None or vm.host is None:
            raise InvalidState(f"{vm.name} cannot be renamed here (HCI clusters only, on a "
                               "host)")
        return rename_vm_params(vm, await w.shape(vm.host, vm.name), new, self.snapshot())

    def rename_preview(self, params: Mapping[str, Any]) -> list[Step]:
        return self.executor.preview(self._kind("vm.rename"), params)

    def create_rename_run(self, params: Mapping[str, Any]) -> RunRecord:
        return self.executor.create(
            self._kind("vm.rename"), f"Rename {params['vm']} to {params['new']}", params,
            Targets(cluster=self.name, host=params["host"], vm=params["vm"]))

    def clone_preview(self, params: Mapping[str, Any]) -> list[Step]:
        return self.executor.preview(self._kind("vm.clone"), params)

    def create_clone_run(self, params: Mapping[str, Any]) -> RunRecord:
        return self.executor.create(
            self._kind("vm.clone"), f"Clone {params['source']} as {params['name']}", params,
            Targets(cluster=self.name, host=params["host"], vm=params["name"]))

    def restore_preview(self, params: Mapping[str, Any]) -> list[Step]:
        return self.executor.preview(self._kind("vm.restore"), params)

    def create_restore_run(self, params: Mapping[str, Any]) -> RunRecord:
        return self.executor.create(
            self._kind("vm.restore"), f"Restore {params['vm']}", params,
            Targets(cluster=self.name, host=params["host"], vm=params["vm"]))

    def image_preview(self, kind: str, params: Mapping[str, Any]) -> list[Step]:
        """`kind`: "rename" or "remove"."""
        return self.executor.preview(self._kind(f"image.{kind}"), params)

    def create_image_run(self, kind: str, params: Mapping[str, Any]) -> RunRecord:
        what = (f"Rename the image {params['image']} to {params['new']}" if kind == "rename"
                else f"Remove the image {params['image']}")
        return self.executor.create(self._kind(f"image.{kind}"), what, params,
                                    Targets(cluster=self.name))

    def import_preview(self, params: Mapping[str, Any]) -> list[Step]:
        return self.executor.preview(self._kind("image.import"), params)

    def create_import_run(self, params: Mapping[str, Any]) -> RunRecord:
        return self.executor.create(
            self._kind("image.import"), f"Import the image {params['image']}", params,
            Targets(cluster=self.name, host=params["host"]))

    def _build_create_run(self, params: Mapping[str, Any]) -> Sequence[Step]:
        return create_steps(self.backend, self.snapshot, self.ha_settings,
                            self.poller.update_vm, params)

    # -- host maintenance ---------------------------------------------------------------------

    def maintenance_preview(self, plan: EvacuationPlan) -> list[Step]:
        params = self.maintenance.enter_params(plan)
        return self.executor.preview(self.maintenance.enter_kind, params)

    def leave_preview(self, host: str, plan: ReturnPlan | None) -> list[Step]:
        params = self.maintenance.leave_params(host, plan)
        return self.executor.preview(self.maintenance.leave_kind, params)

    def _known_vm(self, name: str, host: str | None) -> Vm:
        try:
            return self.vm(name)
        except NotFound:  # e.g. a run rebuilt at start-up, before the first poll
            return Vm(name=name, uuid="", host=host, power=PowerState.UNKNOWN, vcpus=0, memory_mb=0)

    def _kind(self, kind: str) -> str:
        # Run kinds are per cluster: each cluster's facade registers its own builders.
        return f"{self.name}:{kind}"
