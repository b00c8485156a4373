"""Creating a VM as a Run (issue 17): its disks cloned from a library image, its cloud-init
seed written where every host reads it, its definition on its host, then started.

The request is checked against the cluster when the run is made (`check_request`); each step
re-checks what it needs right before it acts, on a first run, a retry and a resume alike: the
name is still free (no host has a domain of that name but the one this run defined), the host
still has room (a fresh poll), the failover reserve still holds (unless overridden). Every
step is idempotent, so a retry finishes what a failed run began; the run's parameters hold all
it needs (the VM's uuid too), so the retry makes the same VM.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from functools import cached_property
from typing import Any

from mvm_tui.backends.base import ClusterBackend, InvalidState
from mvm_tui.backends.capabilities import Workloads
from mvm_tui.backends.libvirt.new_domain import RbdAccess, domain_xml
from mvm_tui.core import new_vm
from mvm_tui.core.cloud_init import CloudInit, StaticAddress, seed_files
from mvm_tui.core.failover_plan import HaSettings
from mvm_tui.core.new_vm import NewVm, disk_rbd, seed_rbd
from mvm_tui.core.placement import room_left
from mvm_tui.core.plans import Size, breaks_text, choose_host, where_it_fits
from mvm_tui.models import ClusterSnapshot, Placement, PowerState, Vm
from mvm_tui.runs import Step, StepContext
from mvm_tui.services.seed_iso import seed_iso
from mvm_tui.services.workloads import start_step, workloads_of

NETWORK = "br-compute"  # provisioning's compute bridge and libvirt network (provision/ovs.sh)


class RequestRefused(InvalidState):
    """The request cannot be made: `problems` says which fields and why."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = dict(problems)


def to_params(req: NewVm, host: str, secret: str, pool: str, virt_type: str,
              cpu_mode: str, nic_offload: bool = True) -> dict[str, Any]:
    return {"request": asdict(req), "host": host, "secret": secret, "pool": pool,
            "virt_type": virt_type, "cpu_mode": cpu_mode, "nic_offload": nic_offload}


def from_params(params: Mapping[str, Any]) -> NewVm:
    r = params["request"]
    c, cloud = r["cloud"], None
    if c is not None:
        static = c["static"]
        cloud = CloudInit(**{**c, "ssh_keys": tuple(c["ssh_keys"]),
                             "static": None if static is None else StaticAddress(
                                 static["address"], static["gateway"], tuple(static["dns"]))})
    return NewVm(**{**r, "cloud": cloud, "placement": Placement(r["placement"]),
                    "volumes_gb": tuple(r["volumes_gb"]), "vlans": tuple(r["vlans"])})


async def check_request(req: NewVm, workloads: Workloads, snap: ClusterSnapshot,
                        settings: HaSettings, vlans: tuple[int, ...]) -> tuple[NewVm, str]:
    """The request with its uuid, and its host (the one asked for, or the placement engine's
    choice); RequestRefused naming each field that is wrong, nothing made."""
    library = await workloads.images()
    images = {i.name: i for i in library if i.ready}
    problems = new_vm.problems(req, images=images, vlans=vlans,
                               vms={v.name for v in snap.vms}, hosts={h.name for h in snap.hosts})
    if "image" in problems and any(i.name == req.image for i in library):
        problems["image"] = (f"the import of {req.image} did not finish (no protected base "
                             "snapshot): import it again")
    image = images.get(req.image)
    if image is not None and "disk_gb" not in problems and \
            req.disk_gb * 2**30 < image.size_bytes:
        problems["disk_gb"] = (f"the image {req.image} is {image.size_bytes / 2**30:.1f} GiB: "
                               "the root disk cannot be smaller")
    host = None
    if not problems:
        host, why = choose_host(Size(req.vcpus, req.memory_mb), snap, settings, req.placement,
                                req.host, req.allow_reserve_break)
        if host is None:
            problems["host"] = why
    if problems or host is None:
        raise RequestRefused(problems)
    return replace(req, uuid=req.uuid or str(uuid.uuid4())), host


def create_steps(backend: ClusterBackend, snapshot: Callable[[], ClusterSnapshot],
                 settings: HaSettings, vm_changed: Callable[[Vm], None],
                 params: Mapping[str, Any]) -> Sequence[Step]:
    return CreateRun(backend, workloads_of(backend, "make VMs"), snapshot, settings,
                     vm_changed, params).steps()


class CreateRun:
    """The steps of one creation, from the run's parameters."""

    def __init__(self, backend: ClusterBackend, workloads: Workloads,
                 snapshot: Callable[[], ClusterSnapshot], settings: HaSettings,
                 vm_changed: Callable[[Vm], None], params: Mapping[str, Any]) -> None:
        self.backend, self.w, self.snapshot = backend, workloads, snapshot
        self.settings, self.vm_changed = settings, vm_changed
        self.req, self.host = from_params(params), str(params["host"])
        self.spec = self.req.spec(params["pool"])
        self.xml = domain_xml(self.spec, RbdAccess((), workloads.rbd_user, params["secret"]),
                              NETWORK, params["cpu_mode"], params["virt_type"],
                              params.get("nic_offload", True))
        cloud = self.req.cloud
        macs = [self.req.mac(i) for i in range(len(self.req.vlans))]
        self.files = seed_files(cloud, self.req.uuid, macs) if cloud is not None else {}
        self.sizes = (self.req.disk_gb, *self.req.volumes_gb)

    def steps(self) -> list[Step]:
        req, w = self.req, self.w
        disks = w.clone_commands(req.image, disk_rbd(req.name, 0), req.disk_gb) + [
            c for i, size in enumerate(req.volumes_gb, start=1)
            for c in w.volume_commands(disk_rbd(req.name, i), size)]
        more = f" and {len(req.volumes_gb)} more" if req.volumes_gb else ""
        steps = [Step(f"Make the disks of {req.name}: a clone of {req.image}{more}",
                      tuple(disks), self.make_disks, self.disks_made)]
        if self.files:
            seed_text = [f"--- {name} ---\n{text}" for name, text in sorted(self.files.items())]
            steps.append(Step(f"Write the cloud-init seed of {req.name}",
                              (*w.seed_commands(seed_rbd(req.name)), *seed_text),
                              self.write_seed, self.seed_written))
        steps.append(Step(f"Define {req.name} on {self.host}",
                          (self.xml, *w.define_commands(self.host, req.name)),
                          self.define, self.defined))
        if req.start:
            vm = Vm(name=req.name, uuid=req.uuid, host=self.host, power=PowerState.SHUTOFF,
                    vcpus=req.vcpus, memory_mb=req.memory_mb)
            steps.append(start_step(self.backend, vm, self.room, self.vm_changed))
        return steps

    async def name_free(self, ctx: StepContext) -> None:
        where = await self.w.defined(self.req.name)
        other = [h for h, u in where.items() if h != self.host or u != self.req.uuid]
        if other:
            raise InvalidState(f"a VM named {self.req.name} is defined on {', '.join(other)}:"
                               " nothing more is made")
        ctx.log(f"no other host has a VM named {self.req.name}")

    async def room(self, ctx: StepContext) -> None:
        req, host = self.req, self.host
        why = room_left(await self.backend.poll_host(host), host, (req.memory_mb, req.vcpus),
                        self.settings.limits)
        if why:
            raise InvalidState(f"{req.name} is not put there: {why}")
        fits = where_it_fits(Size(req.vcpus, req.memory_mb), self.snapshot(), self.settings,
                             req.placement)
        fit = next((f for f in fits if f.host == host), None)
        if fit is not None and fit.breaks_reserve and not req.allow_reserve_break:
            raise InvalidState(f"{req.name} is not put there: {breaks_text(fit)}")
        ctx.log(f"{host} has room for {req.name} now")

    async def make_disks(self, ctx: StepContext) -> None:
        await self.name_free(ctx)
        req = self.req
        await self.w.clone(req.image, disk_rbd(req.name, 0), req.disk_gb)
        ctx.log(f"{disk_rbd(req.name, 0)}: a clone of {req.image}, {req.disk_gb} GiB")
        for i, size in enumerate(req.volumes_gb, start=1):
            await self.w.make_volume(disk_rbd(req.name, i), size)
            ctx.log(f"{disk_rbd(req.name, i)}: {size} GiB, empty")

    async def disks_made(self, ctx: StepContext) -> bool:
        for i, size in enumerate(self.sizes):
            if (await self.w.disk_bytes(disk_rbd(self.req.name, i)) or 0) < size * 2**30:
                return False
        return True

    @cached_property
    def seed(self) -> bytes:
        """The seed's ISO, made once per run (its size is what the check compares)."""
        return seed_iso(self.files)

    async def write_seed(self, ctx: StepContext) -> None:
        data = self.seed
        await self.w.write_seed(seed_rbd(self.req.name), data)
        ctx.log(f"{seed_rbd(self.req.name)}: the NoCloud seed, {len(data)} bytes, "
                f"instance-id {self.req.uuid}")

    async def seed_written(self, ctx: StepContext) -> bool:
        return await self.w.disk_bytes(seed_rbd(self.req.name)) == len(self.seed)

    async def define(self, ctx: StepContext) -> None:
        await self.name_free(ctx)
        await self.room(ctx)
        if await self.w.deleted(self.req.name) is not None:  # an earlier VM of that name's
            await self.w.unmark_deleted(self.req.name)
        await self.w.define(self.host, self.xml, self.spec)
        ctx.log(f"{self.req.name} defined on {self.host} (uuid {self.req.uuid})")

    async def defined(self, ctx: StepContext) -> bool:
        return (await self.w.defined(self.req.name)).get(self.host) == self.req.uuid
