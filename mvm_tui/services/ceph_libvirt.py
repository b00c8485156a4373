"""The Ceph run's libvirt step: on each host, the key of client.libvirt as a libvirt secret and,
where libvirt has the RBD storage backend, the RBD storage pool (else VMs use RBD network
disks with that secret)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from mvm_tui.backends.base import BackendError
from mvm_tui.runs import Step, StepContext
from mvm_tui.services import ceph_bootstrap_commands as cmd
from mvm_tui.services.ceph_bootstrap_commands import CONF, VIRSH, CephHost, fsid_of
from mvm_tui.services.ceph_shell import CephShell
from mvm_tui.services.provision import script_argv


def secret_uuid(fsid: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ceph:{fsid}:client.libvirt"))


def secret_xml(secret: str) -> str:
    return (f"<secret ephemeral='no' private='yes'><uuid>{secret}</uuid><usage "
            "type='ceph'><name>client.libvirt secret</name></usage></secret>")


def pool_xml(pool: str, hosts: Sequence[CephHost], secret: str) -> str:
    return (f"<pool type='rbd'><name>{pool}</name><source><name>{pool}</name>"
            + "".join(f"<host name='{h.address}' port='6789'/>" for h in hosts)
            + f"<auth username='libvirt' type='ceph'><secret uuid='{secret}'/>"
            "</auth></source></pool>")


class LibvirtRbd:
    def __init__(self, shell: CephShell, hosts: Sequence[CephHost], targets: Sequence[str],
                 rbd_pool: str) -> None:
        self.sh, self.hosts, self.targets, self.rbd_pool = shell, hosts, targets, rbd_pool
        self.first = hosts[0].name

    def step(self) -> Step:
        return Step(
            f"libvirt: the key of client.libvirt and the RBD storage pool {self.rbd_pool} on "
            f"{', '.join(self.targets)}", cmd.preview_libvirt(self.first, self.targets,
                                                              self.rbd_pool),
            self.action, self.pools_active)

    async def action(self, ctx: StepContext) -> None:
        status, key = await self.sh.run(self.first, cmd.libvirt_key(self.rbd_pool))
        if status != 0 or not key.strip():
            raise BackendError(f"cannot make the key of client.libvirt on {self.first}")
        fsid = fsid_of(await self.sh.read(self.first, CONF) or "") or ""
        secret = secret_uuid(fsid)
        for h in self.targets:
            await self._secret(h, secret, key)
            await self._storage_pool(ctx, h, secret)
            ctx.log(f"{h}: libvirt secret {secret}: the key of client.libvirt")

    async def _secret(self, h: str, secret: str, key: str) -> None:
        for argv, stdin in (
                ([*VIRSH, "secret-define", "/dev/stdin"], secret_xml(secret)),
                # the key is base64, as the file is read (not on a command line)
                ([*VIRSH, "secret-set-value", secret, "--file", "/dev/stdin"], key.strip())):
            status, _ = await self.sh.run(h, argv, stdin)
            if status != 0:
                raise BackendError(f"{' '.join(argv[4:6])} failed on {h}")

    async def _storage_pool(self, ctx: StepContext, h: str, secret: str) -> None:
        if not await self.rbd_backend(h) and self.sh.install:
            # a failure leaves VMs on RBD network disks, said below: not fatal
            await self.sh.run(h, script_argv(["libvirt-rbd"]), self.sh.script, ctx)
        if not await self.rbd_backend(h):
            ctx.log(f"{h}: libvirt has no RBD storage backend (package "
                    "libvirt-daemon-driver-storage-rbd): no storage pool; VMs use RBD "
                    f"network disks with the secret {secret}", "err")
        elif not await self.pool_active(h):
            status, _ = await self.sh.run(h, [*VIRSH, "pool-define", "/dev/stdin"],
                                          pool_xml(self.rbd_pool, self.hosts, secret))
            for verb in ("pool-start", "pool-autostart"):
                status = status or (await self.sh.run(h, [*VIRSH, verb, self.rbd_pool]))[0]
            if status != 0:
                raise BackendError(f"cannot define the storage pool on {h}")
            ctx.log(f"{h}: storage pool {self.rbd_pool}")

    async def pool_active(self, h: str) -> bool:
        status, out = await self.sh.run(h, [*VIRSH, "pool-info", self.rbd_pool])
        return status == 0 and any(line.startswith("State:") and "running" in line
                                   for line in out.splitlines())

    async def rbd_backend(self, h: str) -> bool:
        status, out = await self.sh.run(h, [*VIRSH, "pool-capabilities"])
        return status == 0 and "type='rbd' supported='yes'" in out

    async def prepared(self, h: str) -> bool:
        status, out = await self.sh.run(h, [*VIRSH, "secret-list"])
        has_secret = status == 0 and "client.libvirt secret" in out
        return has_secret and (await self.pool_active(h) or not await self.rbd_backend(h))

    async def pools_active(self, ctx: StepContext) -> bool:
        return all(await self.sh.on_all(self.targets, self.prepared))
