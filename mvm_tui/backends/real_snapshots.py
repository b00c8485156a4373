"""RealBackend's Snapshots (issue 19): RBD snapshots of a VM's disks, taken on the VM's host as
root over its pooled SSH connection. libvirt's own snapshots need qcow2; on RBD a snapshot is
`rbd snap create` on every disk, with the guest's filesystems frozen by its agent meanwhile.

A running VM's snapshot is one shell script on its host, so the host itself thaws the guest
(and resumes it, if it was paused for the snapshot) whatever happens to this process or its
connection: an exit trap runs on every end of the script, also on SIGHUP when the SSH session
drops. A guest whose agent does not answer is snapshotted crash-consistent; one of several
disks is paused meanwhile, so every disk is taken at the same instant.
"""

from __future__ import annotations

import asyncio
import calendar
import json
import secrets
import time
from collections.abc import Sequence
from typing import Protocol

from mvm_tui.backends import workload_commands as cmd
from mvm_tui.backends.base import BackendError, NotFound
from mvm_tui.backends.capabilities import CliResult, GroupMember, VmSnapshot

TAKE_TIMEOUT_S = 600.0
ROLLBACK_TIMEOUT_S = 6 * 3600.0  # a rollback writes back every block of the image


class RootOnHost(Protocol):
    async def as_root(self, host: str, argv: Sequence[str], stdin: str | None = None,
                      timeout: float | None = None) -> CliResult: ...


def parse_snaps(text: str) -> dict[str, tuple[float, int]]:
    """`rbd snap ls --format json`: name -> (taken, size in bytes)."""
    out = {}
    for snap in json.loads(text or "[]"):
        try:  # ctime's format, in the host's time zone (UTC on hypervisors, assumed)
            taken = float(calendar.timegm(time.strptime(snap["timestamp"],
                                                        "%a %b %d %H:%M:%S %Y")))
        except (KeyError, ValueError):
            taken = 0.0
        out[str(snap["name"])] = (taken, int(snap.get("size", 0)))
    return out


class RealSnapshots:
    def __init__(self, backend: RootOnHost, pool: str = "vms") -> None:
        self.backend, self.pool = backend, pool

    async def _must(self, host: str, argv: Sequence[str], timeout: float = 120.0) -> str:
        r = await self.backend.as_root(host, argv, timeout=timeout)
        if r.exit_status != 0:
            raise BackendError(f"{cmd.on(host, argv)} failed: "
                               + (r.stderr.strip().splitlines() or ["no message"])[-1])
        return r.stdout

    async def snapshots(self, host: str, vm: str, images: Sequence[str]) -> list[VmSnapshot]:
        if not images:
            return []
        per_image = [parse_snaps(await self._must(
            host, ["rbd", "snap", "ls", "--format", "json", f"{self.pool}/{i}"]))
            for i in images]
        meta = json.loads(await self._must(host, ["rbd", "image-meta", "list", "--format",
                                                  "json", f"{self.pool}/{images[0]}"]) or "{}")
        names = sorted({n for snaps in per_image for n in snaps},
                       key=lambda n: min(s[n][0] for s in per_image if n in s))
        return [VmSnapshot(
            name=n, taken=min(s[n][0] for s in per_image if n in s),
            size_bytes=sum(s[n][1] for s in per_image if n in s),
            consistency=str(meta.get(cmd.META + n, "")),
            disks=tuple(i for i, s in zip(images, per_image, strict=True) if n in s),
            complete=all(n in s for s in per_image)) for n in names]

    def take_commands(self, host: str, vm: str, images: Sequence[str], name: str,
                      running: bool) -> list[str]:
        return [cmd.on(host, argv) for argv in cmd.snap_take(self.pool, vm, images, name, running)]

    async def take(self, host: str, vm: str, images: Sequence[str], name: str,
                   running: bool) -> str:
        out = ""
        for argv in cmd.snap_take(self.pool, vm, images, name, running):
            out = await self._must(host, argv, TAKE_TIMEOUT_S)
        return out.strip() if running else "stopped"

    def revert_commands(self, host: str, vm: str, images: Sequence[str],
                        name: str) -> list[str]:
        return [cmd.on(host, cmd.snap_rollback(self.pool, i, name)) for i in images]

    async def revert(self, host: str, vm: str, images: Sequence[str], name: str) -> None:
        for image in images:
            await self._must(host, cmd.snap_rollback(self.pool, image, name), ROLLBACK_TIMEOUT_S)

    def delete_commands(self, host: str, vm: str, images: Sequence[str],
                        name: str) -> list[str]:
        return [cmd.on(host, argv) for argv in cmd.snap_delete(self.pool, images, name)]

    async def delete(self, host: str, vm: str, images: Sequence[str], name: str) -> None:
        have = {s.name: s for s in await self.snapshots(host, vm, images)}.get(name)
        if have is None:
            raise NotFound(f"{vm} has no snapshot named {name}")
        # the disks that have it (a resumed delete may find some gone), then the note (no
        # such key: nothing to remove)
        *snaps, _ = cmd.snap_delete(self.pool, have.disks, name)
        for argv in snaps:
            await self._must(host, argv)
        await self.backend.as_root(host, cmd.snap_delete(self.pool, images, name)[-1])

    def group_commands(self, members: Sequence[GroupMember], name: str) -> list[str]:
        return cmd.group_preview(self.pool, members, name)

    async def take_group(self, members: Sequence[GroupMember], name: str) -> dict[str, str]:
        token = secrets.token_hex(6)
        by_host, freezes, snaps = cmd.group_plan(self.pool, members, name, token)
        how: dict[str, str] = {}
        frozen_on: list[str] = []  # hosts whose freeze ran (or may have)

        async def freeze(host: str, argv: list[str]) -> None:
            frozen_on.append(host)
            for line in (await self._must(host, argv, TAKE_TIMEOUT_S)).splitlines():
                vm, _, state = line.partition(" ")
                how[vm] = state

        try:
            # every host's freeze ended (not one still freezing while the others thaw)
            outcomes = await asyncio.gather(*(freeze(h, f) for h, f in zip(
                by_host, freezes, strict=True)), return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
            failed = [vm for vm, state in how.items() if state == "failed"]
            if failed:
                raise BackendError(f"neither frozen nor paused: {', '.join(failed)}: no "
                                   "snapshot taken")
            await self._must(next(iter(by_host)), snaps, TAKE_TIMEOUT_S)
        finally:
            await asyncio.gather(*(self._thaw(h, by_host[h], how, token) for h in frozen_on),
                                 return_exceptions=True)
        consistency = {m.vm: "crash" if how[m.vm] == "held" else how[m.vm] for m in members}
        for m in members:
            await self._must(m.host, ["rbd", "image-meta", "set", f"{self.pool}/{m.images[0]}",
                                      cmd.META + name, consistency[m.vm]])
        return consistency

    async def _thaw(self, host: str, members: list[GroupMember], how: dict[str, str],
                    token: str) -> None:
        vms = [m.vm for m in members]
        known = all(vm in how for vm in vms)  # (else its freeze's answer never came: all)
        frozen = [v for v in vms if not known or how[v] == "frozen"]
        paused = [v for v in vms if known and how[v] == "crash"]
        await self._must(host, ["sh", "-c", cmd.group_thaw_script(vms, frozen, paused,
                                                                   token)])
