"""Live migration: dom.migrateToURI3 in peer-to-peer mode, with progress from dom.jobStats().

Peer-to-peer: the source libvirtd opens the destination URI itself, so `dest_uri` must work
from the source host (the ssh key and known_hosts paths in it are paths on the source host).
PERSIST_DEST defines the domain on the destination (with its <metadata>, so its placement
travels along) and UNDEFINE_SOURCE removes it from the source once it runs there.
VIR_MIGRATE_UNSAFE is needed when the disks are files on a shared file system libvirt does
not recognise as shared (the lab's qcow2 on a common directory); RBD disks do not need it.

Where each call runs: migrateToURI3 blocks for the whole migration, so it runs on a
connection and a thread of its own (LibvirtHost.migrate_apart), opened for this migration
and closed after it, in the process libvirt runs in (apart.py). The
host's regular connection and worker stay free: polls, vm_info and the progress polling
(jobStats, a query libvirtd answers while the migration job runs) go on through them as
usual. No libvirt connection is ever used from two threads.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from functools import partial
from typing import Any

import libvirt  # type: ignore[import-untyped]

from mvm_tui.backends.base import BackendError, InvalidState
from mvm_tui.backends.libvirt.calls import LibvirtCalls
from mvm_tui.backends.libvirt.connection import Conn
from mvm_tui.backends.libvirt.inventory import power_state
from mvm_tui.backends.libvirt.uri import quote_uri
from mvm_tui.models import MigrationProgress, PowerState
from mvm_tui.units import rate

MIGRATE_FLAGS = (
    libvirt.VIR_MIGRATE_LIVE
    | libvirt.VIR_MIGRATE_PEER2PEER
    | libvirt.VIR_MIGRATE_PERSIST_DEST
    | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
)
ABORT_WAIT_S = 60.0  # how long a cancelled migrate() waits for the aborted job to stop
# a migration whose memory left to copy has not dropped by a tenth for this long never ends
# (the guest dirties memory faster than the link copies it): aborted, the VM stays where it is
STALL_S = 120.0


def migration_flags(*, unsafe: bool = False) -> int:
    return int(MIGRATE_FLAGS | (libvirt.VIR_MIGRATE_UNSAFE if unsafe else 0))


def migrate_commands(source_uri: str, vm: str, dest_uri: str, *, offline: bool = False
                     ) -> list[str]:
    """What a peer-to-peer migration (MIGRATE_FLAGS; OFFLINE instead of LIVE for a shut-off
    VM) amounts to, as virsh: dest_uri is how the source host reaches the destination."""
    mode = "--offline" if offline else "--live"
    return [f"virsh -c {quote_uri(source_uri)} migrate {mode} --p2p --persistent "
            f"--undefinesource {shlex.quote(vm)} {quote_uri(dest_uri)}"]


def _int(stats: Mapping[str, Any], key: str) -> int:
    value = stats.get(key)
    return int(value) if isinstance(value, int | float) else 0


def job_running(stats: Mapping[str, Any]) -> bool:
    """Whether jobStats() describes a job under way (type NONE: none yet, or over)."""
    return _int(stats, "type") not in (libvirt.VIR_DOMAIN_JOB_NONE, 0)


def progress_from_job_stats(
    stats: Mapping[str, Any],
    *,
    vm: str,
    source: str,
    dest: str,
    elapsed_s: float = 0.0,
    completed: bool = False,
) -> MigrationProgress:
    """A MigrationProgress from dom.jobStats() (or, with completed=True, from
    jobStats(VIR_DOMAIN_JOB_STATS_COMPLETED) after the end: then with the downtime).
    memory_dirty_rate is in pages per second; elapsed_s is used when the stats have no
    time_elapsed (ms)."""
    page = _int(stats, "memory_page_size") or 4096
    elapsed = _int(stats, "time_elapsed") / 1000 if "time_elapsed" in stats else elapsed_s
    total = _int(stats, "memory_total")
    remaining = 0 if completed else _int(stats, "memory_remaining")
    downtime = _int(stats, "downtime") if completed and "downtime" in stats else None
    return MigrationProgress(
        vm=vm,
        source=source,
        dest=dest,
        elapsed_s=round(elapsed, 3),
        memory_total_bytes=total,
        memory_processed_bytes=_int(stats, "memory_processed"),
        memory_remaining_bytes=remaining,
        dirty_rate_bps=float(_int(stats, "memory_dirty_rate") * page),
        downtime_ms=downtime,
    )


def _check_running(conn: Conn, vm: str) -> None:
    power = power_state(int(conn.lookupByName(vm).state()[0]))
    if power is not PowerState.RUNNING:
        shown = "not running" if power is PowerState.SHUTOFF else power.value
        raise InvalidState(f"{vm} is {shown}")


def _job_stats(conn: Conn, vm: str, flags: int = 0) -> dict[str, Any]:
    return dict(conn.lookupByName(vm).jobStats(flags))


def _job_sample(conn: Conn, vm: str) -> tuple[dict[str, Any], bool]:
    """The running job's stats and whether the VM is paused on the source: during a live
    migration, that is the switch-over (the last dirty pages and the device state move)."""
    stats = _job_stats(conn, vm)
    state = conn.lookupByName(vm).state()
    return stats, power_state(int(state[0])) is PowerState.PAUSED


def move_cold(conn: Conn, vm: str, dest_uri: str, flags: int) -> None:
    """A shut-off VM's definition moved peer to peer (OFFLINE): no job, no progress."""
    conn.lookupByName(vm).migrateToURI3(dest_uri, {}, flags)


def _abort(conn: Conn, vm: str) -> None:
    conn.lookupByName(vm).abortJob()


async def migrate(
    source: LibvirtCalls,
    vm: str,
    dest_uri: str,
    *,
    dest_name: str,
    dest: LibvirtCalls | None = None,
    unsafe: bool = False,
    params: Mapping[str, Any] | None = None,
    on_progress: Callable[[MigrationProgress], None] | None = None,
    interval: float = 1.0,
    stall_s: float = STALL_S,
) -> MigrationProgress:
    """Live-migrate a running VM from `source` to the host at `dest_uri` (named dest_name).

    Calls on_progress about every `interval` seconds while memory is copied (from the
    first sample with a memory size: libvirt reports zeros while the job is set up; with
    switching_over while the VM is paused on the source), and once at the end with the
    downtime when the destination's completed job stats are readable (pass
    `dest`, its connection). Returns that last progress. Cancelling aborts the migration
    (dom.abortJob) and waits for it to stop; so does a migration that makes no progress for
    stall_s seconds (BackendError). Raises InvalidState when the VM is not running,
    NotFound when it is not on the source, HostUnreachable / BackendError when it fails."""
    what = f"migrate {vm}"
    await source.run(partial(_check_running, vm=vm), what)
    flags = migration_flags(unsafe=unsafe)
    job = asyncio.ensure_future(source.migrate_apart(vm, dest_uri, dict(params or {}), flags))
    seen = _Sampled(vm, source.name, dest_name, stall_s)
    try:
        while not (await asyncio.wait({job}, timeout=interval))[0]:
            if seen.stalled():
                await _abort_job(source, vm, job, what)
                if job.done() and not job.cancelled() and job.exception() is None:
                    break  # it ended just then
                raise seen.stall_error(what)
            try:
                stats, paused = await source.run(partial(_job_sample, vm=vm),
                                                 f"{what}: job stats")
            except BackendError:
                continue  # a missed sample is not a failed migration
            # libvirt reports every figure 0 while the job is set up: nothing to show yet
            if job_running(stats) and _int(stats, "memory_total") > 0 and not job.done():
                last = seen.sample(stats, paused)
                if on_progress is not None:
                    on_progress(last)
    except asyncio.CancelledError:
        await _abort_job(source, vm, job, what)
        raise
    job.result()  # raises what the migration raised
    final = await _completed(dest, vm, what, seen)
    if on_progress is not None:
        on_progress(final)
    return final


class _Sampled:
    """The migration's progress as sampled, and whether it stalled: the least memory left
    so far, and since when."""

    def __init__(self, vm: str, source: str, dest: str, stall_s: float) -> None:
        self.vm, self.source, self.dest, self.stall_s = vm, source, dest, stall_s
        self.started = self.least_at = time.monotonic()
        self.least = float("inf")
        self.last: MigrationProgress | None = None

    def progress(self, stats: Mapping[str, Any], completed: bool = False,
                 paused: bool = False) -> MigrationProgress:
        p = progress_from_job_stats(stats, vm=self.vm, source=self.source, dest=self.dest,
                                    elapsed_s=time.monotonic() - self.started,
                                    completed=completed)
        return p.model_copy(update={"switching_over": True}) if paused else p

    def sample(self, stats: Mapping[str, Any], paused: bool) -> MigrationProgress:
        self.last = last = self.progress(stats, paused=paused)
        if paused or last.memory_remaining_bytes < 0.9 * self.least:
            self.least = min(self.least, last.memory_remaining_bytes)
            self.least_at = time.monotonic()
        return last

    def stalled(self) -> bool:
        return time.monotonic() - self.least_at > self.stall_s

    def stall_error(self, what: str) -> BackendError:
        last = self.last
        left = "" if last is None else (
            f" ({last.memory_remaining_bytes / 2**20:.0f} MiB left, the guest "
            f"dirtying {rate(last.dirty_rate_bps)})")
        return BackendError(f"{self.source}: {what}: no progress for {self.stall_s:g} s"
                            f"{left}: aborted, {self.vm} still runs on {self.source}")


async def _abort_job(source: LibvirtCalls, vm: str, job: asyncio.Future[None],
                     what: str) -> None:
    """dom.abortJob, then wait (at most ABORT_WAIT_S) for the migration to stop."""
    with suppress(BackendError):
        await asyncio.shield(source.run(partial(_abort, vm=vm), f"{what}: abort"))
    await asyncio.wait({job}, timeout=ABORT_WAIT_S)
    if job.done() and not job.cancelled():
        job.exception()  # retrieved: the abort's reason is what the caller hears about


async def _completed(dest: LibvirtCalls | None, vm: str, what: str,
                     seen: _Sampled) -> MigrationProgress:
    """The last progress: the destination's completed job (with the downtime) if it can
    be read, else the last sample, done."""
    if dest is not None:
        completed = libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED
        with suppress(BackendError):
            stats = await dest.run(partial(_job_stats, vm=vm, flags=completed),
                                   f"{what}: result")
            if stats:
                return seen.progress(stats, completed=True)
    base = seen.last or seen.progress({})
    return base.model_copy(update={
        "memory_remaining_bytes": 0,
        "elapsed_s": round(time.monotonic() - seen.started, 3)})
