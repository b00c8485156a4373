"""What really runs where: every lab host's own libvirtd, asked inside its namespaces (a cut
cable does not blind it; a powered-off host runs nothing)."""

from __future__ import annotations

import asyncio
import subprocess

from mvm_tui.lab.model import LabInfo
from mvm_tui.lab.netns import hx

VIRSH = ("virsh", "-q", "-c", "qemu:///system")


async def _virsh(index: int, *args: str) -> list[str]:
    try:
        cmd = hx(index, *VIRSH, *args)
    except OSError:
        return []  # powered off: no anchor, nothing runs
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out, _ = await proc.communicate()
    return out.decode().split() if proc.returncode == 0 else []


async def running(info: LabInfo) -> dict[str, set[str]]:
    """VM -> the hosts where it is running (a live migration's incoming copy is paused until
    the switch-over, so it is not counted)."""
    lists = await asyncio.gather(*(_virsh(h.index, "list", "--state-running", "--name")
                                   for h in info.hosts))
    where: dict[str, set[str]] = {}
    for h, names in zip(info.hosts, lists, strict=True):
        for name in names:
            where.setdefault(name, set()).add(h.name)
    return where


async def defined_on(info: LabInfo, host: str) -> list[str]:
    """Every VM defined on the host, running or not."""
    return await _virsh(info.host(host).index, "list", "--all", "--name")
