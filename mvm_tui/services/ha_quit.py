"""What quitting a process whose HA service is the active one means for failover: HA stops
here, and who (if anyone) takes over.

A standby on this jump box is the headless service (contrib/mvm-tui-ha.service): systemd
reports it active (a standby waiting for the lease), or activating (waiting to try the local
lock again). A standby on another jump box cannot be seen from here: with a lease, this says
when one would take over, and how to check.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable

from mvm_tui.clock import within
from mvm_tui.services.ha import HaService
from mvm_tui.services.ha_status import HaStatus

UNIT = "mvm-tui-ha.service"
StandbyProbe = Callable[[], Awaitable[str | None]]


async def local_standby(unit: str = UNIT, timeout: float = 3.0) -> str | None:
    """`systemctl is-active UNIT` on this jump box: "active", "activating", "inactive",
    "failed"...; None when it cannot be told (no systemd, no answer in time)."""
    exe = shutil.which("systemctl")
    if exe is None:
        return None
    try:
        proc = await asyncio.create_subprocess_exec(
            exe, "is-active", unit, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    except OSError:
        return None
    try:
        out, _ = await within(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return None
    state = out.decode(errors="replace").strip()
    known = ("active", "activating", "deactivating", "inactive", "failed", "reloading")
    return state if state in known else None


def quit_notice(status: HaStatus, lock: str, *, leased: bool, lease_s: float | None,
                standby: str | None) -> str | None:
    """The sentence to show before quitting; None when this process's HA is not the active
    one (quitting changes nothing for failover then)."""
    if not status.active:
        return None
    here = (f"HA of cluster {status.cluster} stops here: this process is the active HA "
            f"service ({lock}).")
    lapse = f" (or lapses within {lease_s:g} s)" if lease_s else ""
    if standby in ("active", "activating", "reloading"):
        when = (f"once it has the lease: it is released on quitting{lapse}" if leased
                else "within about 10 s (its restart interval)")
        return (f"{here} The headless HA service of this jump box ({UNIT}, {standby}) "
                f"takes over {when}.")
    local = ("no headless HA service runs on this jump box" if standby is not None
             else f"whether {UNIT} runs on this jump box cannot be told")
    if leased:
        return (f"{here} Standby: {local}; an HA service on another jump box, if one runs, "
                f"takes over once it has the lease, released on quitting{lapse} (this one "
                f"cannot see it: `systemctl status {UNIT}` there).")
    return (f"{here} Standby: {local}: failover of {status.cluster} stops until an HA "
            "service starts again (mvm-tui, or the headless `mvm-tui ha`).")


async def ha_quit_notice(ha: HaService, probe: StandbyProbe = local_standby) -> str | None:
    """quit_notice for this process's HA service, its lock and this jump box's standby."""
    status = ha.status()
    if not status.active:
        return None
    if ha.lease is not None:
        duration = getattr(ha.lease, "duration", None)
        lease_s = float(duration) if isinstance(duration, int | float) else None
        lock, leased = f"it holds the lease, RADOS lock {ha.lease.describe()}", True
    else:
        path = getattr(ha.lock, "path", None)
        lock, leased, lease_s = f"it holds the lock {path}", False, None
    return quit_notice(status, lock, leased=leased, lease_s=lease_s, standby=await probe())
