"""RealBackend's Workloads (issue 17) on an HCI cluster: `rbd` and `qemu-img` on the first host
that answers, `virsh define` on the VM's host, as root over the pooled SSH connections; the
commands are backends/workload_commands.py's, as the previews show them."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Protocol

from mvm_tui.backends import workload_commands as cmd
from mvm_tui.backends.base import BackendError, HostRef, NotFound
from mvm_tui.backends.capabilities import CliResult, Image, KeptVm
from mvm_tui.backends.libvirt.domain_change import copy_xml, parse_shape
from mvm_tui.backends.libvirt.domxml import parse_domain
from mvm_tui.backends.real_vm_changes import DetachHost, RealVmChanges
from mvm_tui.core.new_vm import BASE_SNAP, image_rbd
from mvm_tui.core.vm_spec import VmSpec

SECRET_USAGE = "client.libvirt secret"  # provisioning's (services/ceph_libvirt.py)
IMPORT_TIMEOUT_S = 3600.0  # a cloud image of a few GB over a slow storage network


def guest_addresses_command(vm: str) -> list[str]:
    return [*cmd.VIRSH, "domifaddr", vm, "--source", "agent"]


def parse_guest_addresses(text: str) -> tuple[str, ...]:
    """The addresses in `virsh domifaddr --source agent`'s table, but loopback and IPv6
    link-local ones."""
    out = []
    for line in text.splitlines():
        words = line.split()
        if len(words) != 4 or words[2] not in ("ipv4", "ipv6"):
            continue
        address = words[3]
        if not address.startswith(("127.", "::1/", "fe80:")):
            out.append(address)
    return tuple(out)


class WorkloadHosts(DetachHost, Protocol):
    """What RealWorkloads uses of RealBackend (which builds it: no import back)."""

    name: str
    hosts: tuple[HostRef, ...]

    async def as_root(self, host: str, argv: Sequence[str], stdin: str | None = None,
                      timeout: float | None = None) -> CliResult: ...
    async def on_any_host(self, do: Callable[[str], Awaitable[CliResult]]) -> CliResult: ...
    async def put_file(self, host: str, local: Path, remote: str,
                       progress: Callable[[int, int], None] | None = None) -> None: ...


class RealWorkloads(RealVmChanges):
    backend: WorkloadHosts

    def __init__(self, backend: WorkloadHosts, ha_pool: str, pool: str = "vms") -> None:
        self.backend, self.pool, self.rbd_user = backend, pool, "libvirt"
        self.ha_pool = ha_pool

    async def _run(self, host: str, argv: Sequence[str], stdin: str | None = None,
                   timeout: float | None = None) -> CliResult:
        return await self.backend.as_root(host, argv, stdin, timeout)

    async def _any(self, argv: Sequence[str], stdin: str | None = None) -> CliResult:
        return await self.backend.on_any_host(lambda h: self._run(h, argv, stdin))

    async def _must(self, host: str | None, argv: Sequence[str], stdin: str | None = None,
                    timeout: float | None = None) -> str:
        r = (await self._any(argv, stdin) if host is None
             else await self._run(host, argv, stdin, timeout))
        if r.exit_status != 0:
            raise BackendError(f"{cmd.on(host or 'a host', argv)} failed: "
                               + (r.stderr.strip().splitlines() or ["no message"])[-1])
        return r.stdout

    async def images(self) -> list[Image]:
        listed = json.loads(await self._must(None, cmd.list_images(self.pool)) or "[]")
        out = []
        for entry in listed:
            name = entry.get("image", "")
            if not name.startswith("img.") or entry.get("snapshot"):
                continue
            image = name[4:]
            r = await self._any(cmd.image_os(self.pool, image))
            disks = tuple(sorted(
                e["image"] for e in listed if not e.get("snapshot") and
                (e.get("parent") or {}).get("image") == name))
            ready = any(e.get("image") == name and e.get("snapshot") == BASE_SNAP and
                        e.get("protected") == "true" for e in listed)
            out.append(Image(image, r.stdout.strip() if r.exit_status == 0 else "",
                             int(entry.get("size", 0)), disks, ready))
        return out

    async def secret_uuid(self) -> str:
        text = await self._must(None, [*cmd.VIRSH, "secret-list"])
        for line in text.splitlines():
            if SECRET_USAGE in line:
                return line.split()[0]
        raise NotFound(f"no libvirt secret for {SECRET_USAGE!r} on the host: was the "
                       "cluster's Ceph provisioned by mvm-tui?")

    def upload_commands(self, host: str, local: str, remote: str) -> list[str]:
        return [f"sftp: {local} (this jump box) -> {host}:{remote}"]

    async def upload(self, host: str, local: str, remote: str, size: int,
                     progress: Callable[[int, int], None] | None = None) -> None:
        if await self.file_size(host, remote) != size:
            await self.backend.put_file(host, Path(local), remote, progress)

    async def file_size(self, host: str, path: str) -> int | None:
        r = await self._run(host, ["stat", "-c", "%s", path])
        return int(r.stdout.strip()) if r.exit_status == 0 and r.stdout.strip().isdigit() \
            else None

    async def remove_upload(self, host: str, remote: str) -> None:
        await self._must(host, ["rm", "-f", remote])

    def import_commands(self, host: str, path: str, image: str, os: str) -> list[str]:
        return [cmd.on(host, argv) for argv in cmd.import_image(self.pool, path, image, os)]

    async def import_image(self, host: str, path: str, image: str, os: str) -> None:
        convert, meta, snap, protect = cmd.import_image(self.pool, path, image, os)
        if await self.disk_bytes(image_rbd(image)) is None:
            await self._must(host, convert, timeout=IMPORT_TIMEOUT_S)
        await self._must(host, meta)
        if not any(s.get("name") == BASE_SNAP for s in await self._snaps(host, image)):
            await self._must(host, snap)
        if not any(s.get("name") == BASE_SNAP and s.get("protected") == "true"
                   for s in await self._snaps(host, image)):
            await self._must(host, protect)

    async def _snaps(self, host: str | None, image: str) -> list[dict[str, str]]:
        text = await self._must(host, ["rbd", "snap", "ls", "--format", "json",
                                       f"{self.pool}/{image_rbd(image)}"])
        return list(json.loads(text or "[]"))

    async def image_users(self, image: str) -> list[str]:
        r = await self._any(cmd.image_children(self.pool, image))
        if r.exit_status != 0:
            if "No such file" in r.stderr or "does not exist" in r.stderr:
                return []  # no base snapshot (an import that did not finish): no clone
            raise BackendError(f"cannot list the clones of {image}: {r.stderr.strip()}")
        return [str(c.get("image", "?")) + (" (in the trash)" if c.get("trash") else "")
                for c in json.loads(r.stdout or "[]")]

    def rename_image_commands(self, image: str, new: str) -> list[str]:
        return [cmd.on("a host", cmd.rename_image(self.pool, image, new))]

    async def rename_image(self, image: str, new: str) -> None:
        if await self.disk_bytes(image_rbd(new)) is None:
            await self._must(None, cmd.rename_image(self.pool, image, new))

    def remove_image_commands(self, image: str) -> list[str]:
        return [cmd.on("a host", argv) for argv in cmd.remove_image(self.pool, image)]

    async def remove_image(self, image: str) -> None:
        if await self.disk_bytes(image_rbd(image)) is None:
            return
        unprotect, snap_rm, rm = cmd.remove_image(self.pool, image)
        snaps = await self._snaps(None, image)
        if any(s.get("protected") == "true" for s in snaps):
            await self._must(None, unprotect)
        if snaps:
            await self._must(None, snap_rm)
        await self._must(None, rm)

    def clone_commands(self, image: str, disk: str, size_gb: int) -> list[str]:
        return [cmd.on("a host", argv) for argv in cmd.clone(self.pool, image, disk, size_gb)]

    async def clone(self, image: str, disk: str, size_gb: int) -> None:
        make, resize = cmd.clone(self.pool, image, disk, size_gb)
        if await self.disk_bytes(disk) is None:
            await self._must(None, make)
        if (await self.disk_bytes(disk) or 0) < size_gb * 2**30:
            await self._must(None, resize)

    def volume_commands(self, disk: str, size_gb: int) -> list[str]:
        return [cmd.on("a host", cmd.volume(self.pool, disk, size_gb))]

    async def make_volume(self, disk: str, size_gb: int) -> None:
        if await self.disk_bytes(disk) is None:
            await self._must(None, cmd.volume(self.pool, disk, size_gb))

    async def disk_bytes(self, disk: str) -> int | None:
        r = await self._any(cmd.info(self.pool, disk))
        if r.exit_status != 0:
            if "No such file or directory" in r.stderr or "does not exist" in r.stderr:
                return None
            raise BackendError(f"rbd info {self.pool}/{disk} failed: {r.stderr.strip()}")
        return int(json.loads(r.stdout).get("size", 0))

    def seed_commands(self, seed: str) -> list[str]:
        return [cmd.on("a host", cmd.write_seed(self.pool, seed), "the seed ISO, in base64")]

    async def write_seed(self, seed: str, data: bytes) -> None:
        there = await self.disk_bytes(seed)
        if there == len(data):
            return  # the same seed (it is made from the run's parameters alone)
        if there is not None:
            await self._must(None, cmd.remove(self.pool, seed))
        await self._must(None, cmd.write_seed(self.pool, seed),
                         base64.b64encode(data).decode() + "\n")

    def define_commands(self, host: str, vm: str) -> list[str]:
        return [cmd.on(host, cmd.define(), f"the domain XML of {vm} (above)")]

    async def define(self, host: str, xml: str, spec: VmSpec) -> None:
        await self._must(host, cmd.define(), xml)

    async def defined(self, vm: str) -> dict[str, str]:
        hosts = [h.name for h in self.backend.hosts]
        uuids = await asyncio.gather(*(self._uuid_on(h, vm) for h in hosts))  # (at once)
        return {h: u for h, u in zip(hosts, uuids, strict=True) if u is not None}

    async def _uuid_on(self, host: str, vm: str) -> str | None:
        """The uuid of the domain named `vm` on the host; None when it has none."""
        r = await self._run(host, cmd.domain_uuid(vm))
        if r.exit_status == 0:
            return r.stdout.strip()
        if _no_domain(r.stderr):
            return None
        raise BackendError(f"{host}: cannot tell whether {vm} is defined there: "
                           f"{r.stderr.strip() or 'no answer'}")

    def undefine_commands(self, host: str, vm: str) -> list[str]:
        return [cmd.on(host, cmd.undefine(vm))]

    async def undefine(self, host: str, vm: str) -> None:
        r = await self._run(host, cmd.undefine(vm))
        if r.exit_status != 0 and not _no_domain(r.stderr):
            raise BackendError(f"{host}: virsh undefine {vm} failed: {r.stderr.strip()}")

    def trash_commands(self, disk: str, expires: str) -> list[str]:
        return [cmd.on("a host", cmd.trash(self.pool, disk, expires))]

    async def trash(self, disk: str, expires: str) -> None:
        if await self.disk_bytes(disk) is not None:
            await self._must(None, cmd.trash(self.pool, disk, expires))

    def mark_commands(self, vm: str) -> list[str]:
        return [cmd.on("a host", cmd.mark(self.ha_pool, self.backend.name, vm, "UUID"))]

    async def mark_deleted(self, vm: str, uuid: str) -> None:
        await self._must(None, cmd.mark(self.ha_pool, self.backend.name, vm, uuid))

    async def deleted(self, vm: str) -> str | None:
        r = await self._any(cmd.mark(self.ha_pool, self.backend.name, vm))
        if r.exit_status == 0:
            return r.stdout.strip()
        if "No data available" in r.stderr or "No such file" in r.stderr:
            return None
        raise BackendError(f"cannot tell whether {vm} was deleted: {r.stderr.strip()}")

    async def unmark_deleted(self, vm: str) -> None:
        r = await self._any(cmd.unmark(self.ha_pool, self.backend.name, vm))
        if r.exit_status != 0 and "No data available" not in r.stderr and \
                "No such file" not in r.stderr:
            raise BackendError(f"cannot clear the deletion mark of {vm}: {r.stderr.strip()}")


    def keep_commands(self, host: str, vm: str) -> list[str]:
        return [cmd.on(host, cmd.dumpxml(vm, inactive=True)),
                cmd.on("a host", cmd.keep(self.ha_pool, self.backend.name, vm, write=True),
                       "that definition")]

    async def keep_definition(self, host: str, vm: str) -> None:
        xml = await self._must(host, cmd.dumpxml(vm, inactive=True))
        await self._must(None, cmd.keep(self.ha_pool, self.backend.name, vm, write=True), xml)

    async def kept(self, vm: str) -> KeptVm | None:
        r = await self._any(cmd.keep(self.ha_pool, self.backend.name, vm, write=False))
        if r.exit_status != 0:
            if "No data available" in r.stderr or "No such file" in r.stderr:
                return None
            raise BackendError(f"cannot read the kept definition of {vm}: {r.stderr.strip()}")
        domain = parse_domain(r.stdout)
        shape = parse_shape(r.stdout, r.stdout, False, self.pool)
        return KeptVm(domain.uuid, domain.vcpus, domain.memory_mb,
                      tuple(d.image for d in shape.disks if d.image))

    async def deleted_vms(self) -> list[str]:
        r = await self._any(cmd.list_kept(self.ha_pool, self.backend.name))
        if r.exit_status != 0:
            if "No such file" in r.stderr:
                return []  # (no HA object yet: nothing was deleted)
            raise BackendError(f"cannot list the deleted VMs: {r.stderr.strip()}")
        return sorted(line.strip().removeprefix("definition.") for line in
                      r.stdout.splitlines() if line.strip().startswith("definition."))

    async def forget_kept(self, vm: str) -> None:
        r = await self._any(cmd.forget_kept(self.ha_pool, self.backend.name, vm))
        if r.exit_status != 0 and "No data available" not in r.stderr:
            raise BackendError(f"cannot forget the kept definition of {vm}: "
                               f"{r.stderr.strip()}")

    def untrash_commands(self, image: str) -> list[str]:
        return [cmd.on("a host", cmd.untrash(self.pool, f"ID-OF-{image}"))]

    async def untrash(self, image: str) -> None:
        if await self.disk_bytes(image) is not None:
            return
        listed = json.loads(await self._must(None, cmd.trash_list(self.pool)) or "[]")
        found = sorted((e for e in listed if e.get("name") == image),
                       key=lambda e: str(e.get("deleted_at", "")))
        if not found:
            raise NotFound(f"{self.pool}/{image} is neither in the pool nor in its trash "
                           "(purged after its expiry?)")
        await self._must(None, cmd.untrash(self.pool, str(found[-1]["id"])))

    def copy_disk_commands(self, disk: str, new: str) -> list[str]:
        return [cmd.on("a host", cmd.deep_copy(self.pool, disk, new))]

    async def copy_disk(self, disk: str, new: str) -> None:
        if await self.disk_bytes(new) is None:
            await self._must(None, cmd.deep_copy(self.pool, disk, new),
                             timeout=IMPORT_TIMEOUT_S)

    async def read_seed(self, seed: str) -> bytes | None:
        if await self.disk_bytes(seed) is None:
            return None
        return base64.b64decode(await self._must(None, cmd.export_seed(self.pool, seed)))

    def define_copy_commands(self, host: str, source_host: str, source: str,
                             name: str) -> list[str]:
        return [cmd.on(source_host, cmd.dumpxml(source, inactive=True)),
                cmd.on(host, cmd.define(), f"that definition as {name}: its name, uuid, "
                       "disks, seed and MACs")]

    async def define_copy(self, host: str, source_host: str, source: str, name: str,
                          uuid: str, renames: dict[str, str], macs: list[str]) -> None:
        xml = await self._must(source_host, cmd.dumpxml(source, inactive=True))
        await self._must(host, cmd.define(), copy_xml(xml, name, uuid, self.pool, renames,
                                                      macs))

    def rename_disk_commands(self, disk: str, new: str) -> list[str]:
        return [cmd.on("a host", cmd.rename(self.pool, disk, new))]

    async def rename_disk(self, disk: str, new: str) -> None:
        if await self.disk_bytes(new) is None:
            await self._must(None, cmd.rename(self.pool, disk, new))

    def rename_vm_commands(self, host: str, vm: str, new: str) -> list[str]:
        return [cmd.on(host, cmd.domrename(vm, new)), cmd.on(host, cmd.dumpxml(
            new, inactive=True)), cmd.on(host, cmd.define(), "that definition with its "
                                                             "disks' new names")]

    async def rename_vm(self, host: str, vm: str, new: str, renames: dict[str, str]) -> None:
        if await self._uuid_on(host, new) is None:  # (else a retry after the domrename)
            await self._must(host, cmd.domrename(vm, new))
        xml = await self._must(host, cmd.dumpxml(new, inactive=True))
        uuid = (await self._must(host, cmd.domain_uuid(new))).strip()
        await self._must(host, cmd.define(), copy_xml(xml, new, uuid, self.pool, renames,
                                                      None))

    def define_kept_commands(self, host: str, vm: str) -> list[str]:
        return [cmd.on("a host", cmd.keep(self.ha_pool, self.backend.name, vm, write=False)),
                cmd.on(host, cmd.define(), "that definition"),
                cmd.on("a host", cmd.forget_kept(self.ha_pool, self.backend.name, vm))]

    async def define_kept(self, host: str, vm: str) -> None:
        r = await self._any(cmd.keep(self.ha_pool, self.backend.name, vm, write=False))
        if r.exit_status != 0:
            raise NotFound(f"no definition of {vm} kept: {r.stderr.strip()}")
        await self._must(host, cmd.define(), r.stdout)


def _no_domain(stderr: str) -> bool:
    return "failed to get domain" in stderr or "Domain not found" in stderr
