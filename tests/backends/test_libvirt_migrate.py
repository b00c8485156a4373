"""Live migration. libvirt's test driver cannot migrate (migrateToURI3 and jobStats are not
supported there), so: the flags and the progress mapping are unit-tested, the refusals run on
the test driver, and the orchestration (a migration thread of its own, progress polled through
the host's regular connection, downtime from the destination, abort on cancel) runs with the
two blocking libvirt calls replaced. The real thing runs in the lab (README section 2)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import libvirt  # type: ignore[import-untyped]
import pytest

import mvm_tui.backends.libvirt.migrate as migrate
from mvm_tui.backends.base import BackendError, InvalidState, NotFound
from mvm_tui.backends.libvirt import LibvirtHost, LibvirtNode
from mvm_tui.backends.libvirt.migrate import (
    job_running,
    migration_flags,
    progress_from_job_stats,
)
from mvm_tui.clock import within
from mvm_tui.models import MigrationProgress, PowerState

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "libvirt" / "node.xml"
URI = f"test://{FIXTURE}"
WAIT = 10.0
MIB = 1024**2

RUNNING_STATS = {
    "type": libvirt.VIR_DOMAIN_JOB_UNBOUNDED,
    "operation": libvirt.VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT,
    "time_elapsed": 1500,
    "memory_total": 128 * MIB,
    "memory_processed": 96 * MIB,
    "memory_remaining": 32 * MIB,
    "memory_dirty_rate": 256,  # pages per second
    "memory_page_size": 4096,
}
COMPLETED_STATS = {
    "type": libvirt.VIR_DOMAIN_JOB_COMPLETED,
    "time_elapsed": 2600,
    "downtime": 57,
    "memory_total": 128 * MIB,
    "memory_processed": 140 * MIB,
    "memory_remaining": 0,
    "memory_dirty_rate": 0,
}


def test_flags() -> None:
    base = (
        libvirt.VIR_MIGRATE_LIVE
        | libvirt.VIR_MIGRATE_PEER2PEER
        | libvirt.VIR_MIGRATE_PERSIST_DEST
        | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
    )
    assert migration_flags() == base
    assert migration_flags(unsafe=True) == base | libvirt.VIR_MIGRATE_UNSAFE
    assert not migration_flags() & libvirt.VIR_MIGRATE_UNSAFE
    assert not migration_flags() & libvirt.VIR_MIGRATE_NON_SHARED_DISK


def test_progress_while_running() -> None:
    p = progress_from_job_stats(RUNNING_STATS, vm="web-01", source="hv1", dest="hv2")
    assert p == MigrationProgress(
        vm="web-01",
        source="hv1",
        dest="hv2",
        elapsed_s=1.5,
        memory_total_bytes=128 * MIB,
        memory_processed_bytes=96 * MIB,
        memory_remaining_bytes=32 * MIB,
        dirty_rate_bps=1024.0 * 1024.0,
        downtime_ms=None,
    )
    assert p.percent == 75.0


def test_progress_when_completed() -> None:
    p = progress_from_job_stats(
        COMPLETED_STATS, vm="web-01", source="hv1", dest="hv2", completed=True
    )
    assert (p.elapsed_s, p.memory_remaining_bytes, p.downtime_ms, p.percent) == (
        2.6,
        0,
        57,
        100.0,
    )


def test_progress_from_sparse_stats() -> None:
    p = progress_from_job_stats({"type": 2}, vm="v", source="a", dest="b", elapsed_s=0.25)
    assert (p.elapsed_s, p.memory_total_bytes, p.dirty_rate_bps, p.downtime_ms) == (
        0.25,
        0,
        0.0,
        None,
    )
    assert job_running(RUNNING_STATS)
    assert not job_running({"type": libvirt.VIR_DOMAIN_JOB_NONE})
    assert not job_running({})


@pytest.fixture
async def nodes() -> AsyncIterator[tuple[LibvirtNode, LibvirtNode]]:
    src = LibvirtNode(LibvirtHost("hv1", URI))
    dst = LibvirtNode(LibvirtHost("hv2", URI))
    yield src, dst
    await src.close()
    await dst.close()


async def test_only_a_running_vm_migrates(nodes: tuple[LibvirtNode, LibvirtNode]) -> None:
    src, dst = nodes
    with pytest.raises(InvalidState, match=r"^db-01 is not running$"):
        await src.migrate("db-01", dst)
    with pytest.raises(NotFound, match="nope"):
        await src.migrate("nope", dst)


async def test_the_test_driver_refuses_to_migrate(nodes: tuple[LibvirtNode, LibvirtNode]) -> None:
    src, dst = nodes
    with pytest.raises(BackendError, match=r"^hv1: migrate web-01: .*not supported"):
        await src.migrate("web-01", dst, interval=0.01)
    assert (await src.vm_info("web-01")).power is PowerState.RUNNING


async def test_migration_with_progress(
    nodes: tuple[LibvirtNode, LibvirtNode], monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dst = nodes
    release = threading.Event()
    calls: list[tuple[str, str, str, dict[str, Any], int, str]] = []
    stats_threads: set[str] = set()

    def fake_migrate(
        source: LibvirtHost, vm: str, dest_uri: str, params: Mapping[str, Any], flags: int
    ) -> None:
        calls.append(
            (source.name, vm, dest_uri, dict(params), flags, threading.current_thread().name)
        )
        if not release.wait(WAIT):
            raise BackendError("the test never released the migration")

    def fake_job_stats(conn: Any, vm: str, flags: int = 0) -> dict[str, Any]:
        stats_threads.add(threading.current_thread().name)
        if flags == libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED:
            return dict(COMPLETED_STATS)
        return dict(RUNNING_STATS)

    monkeypatch.setattr(LibvirtHost, "_migrate_blocking", fake_migrate)
    monkeypatch.setattr(migrate, "_job_stats", fake_job_stats)
    seen: list[MigrationProgress] = []
    two = asyncio.Event()

    def on_progress(p: MigrationProgress) -> None:
        seen.append(p)
        if len(seen) >= 2:
            two.set()

    task = asyncio.create_task(
        src.migrate(
            "web-01",
            dst,
            dest_uri="qemu+ssh://root@10.213.0.12/system?no_verify=0",
            unsafe=True,
            params={libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: 100},
            on_progress=on_progress,
            interval=0.01,
        )
    )
    await within(two.wait(), WAIT)
    # while migrateToURI3 blocks, the source host's own connection keeps serving polls
    poll = await within(src.poll(), WAIT)
    assert "web-01" in {v.name for v in poll.vms}
    release.set()
    final = await within(task, WAIT)

    assert calls == [
        (
            "hv1",
            "web-01",
            "qemu+ssh://root@10.213.0.12/system?no_verify=0",
            {libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: 100},
            migration_flags(unsafe=True),
            "migrate-web-01",
        )
    ]
    # progress came through the hosts' regular workers, not the migration's thread
    assert stats_threads <= {"libvirt-hv1", "libvirt-hv2"}
    running = seen[:-1]
    assert running
    assert all(p.downtime_ms is None and p.percent == 75.0 for p in running)
    assert seen[-1] is final
    assert (final.vm, final.source, final.dest) == ("web-01", "hv1", "hv2")
    assert (final.downtime_ms, final.memory_remaining_bytes, final.elapsed_s) == (57, 0, 2.6)


async def test_cancelling_aborts_the_job(
    nodes: tuple[LibvirtNode, LibvirtNode], monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dst = nodes
    started, aborted = threading.Event(), threading.Event()

    def fake_migrate(
        source: LibvirtHost, vm: str, dest_uri: str, params: Mapping[str, Any], flags: int
    ) -> None:
        started.set()
        aborted.wait(WAIT)
        raise BackendError("hv1: migrate web-01: operation aborted: migration out job")

    def fake_abort(conn: Any, vm: str) -> None:
        aborted.set()

    monkeypatch.setattr(LibvirtHost, "_migrate_blocking", fake_migrate)
    monkeypatch.setattr(migrate, "_abort", fake_abort)
    task = asyncio.create_task(src.migrate("web-01", dst, interval=0.01))
    assert await asyncio.to_thread(started.wait, WAIT)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await within(task, WAIT)
    assert aborted.is_set()


async def test_without_destination_stats_the_end_has_no_downtime(
    nodes: tuple[LibvirtNode, LibvirtNode], monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dst = nodes
    monkeypatch.setattr(LibvirtHost, "_migrate_blocking", lambda *a: None)
    # the test driver has no jobStats: the destination's completed stats cannot be read
    final = await src.migrate("web-01", dst, interval=0.01)
    assert (final.downtime_ms, final.memory_remaining_bytes, final.dest) == (None, 0, "hv2")


async def test_a_migration_that_makes_no_progress_is_aborted(
    nodes: tuple[LibvirtNode, LibvirtNode], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guest dirties its memory as fast as the link copies it: the memory left never
    drops, the migration would never end (and hold up whoever waits for it)."""
    src, dst = nodes
    aborted = threading.Event()
    samples: list[int] = []

    def fake_migrate(
        source: LibvirtHost, vm: str, dest_uri: str, params: Mapping[str, Any], flags: int
    ) -> None:
        aborted.wait(WAIT)
        raise BackendError("hv1: migrate web-01: operation aborted: migration out job")

    def fake_job_stats(conn: Any, vm: str, flags: int = 0) -> dict[str, Any]:
        samples.append(1)
        return dict(RUNNING_STATS)  # 32 MiB left, sample after sample

    monkeypatch.setattr(LibvirtHost, "_migrate_blocking", fake_migrate)
    monkeypatch.setattr(migrate, "_job_stats", fake_job_stats)
    monkeypatch.setattr(migrate, "_abort", lambda conn, vm: aborted.set())
    with pytest.raises(BackendError, match=r"^hv1: migrate web-01: no progress for 0.2 s "
                       r"\(32 MiB left, the guest dirtying 1.0 MiB/s\): aborted, web-01 "
                       r"still runs on hv1$"):
        await within(src.migrate("web-01", dst, interval=0.01, stall_s=0.2), WAIT)
    assert aborted.is_set()
    assert len(samples) >= 2


async def test_a_migration_whose_memory_left_keeps_dropping_is_not_aborted(
    nodes: tuple[LibvirtNode, LibvirtNode], monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dst = nodes
    done = threading.Event()
    left = [128 * MIB]

    def fake_job_stats(conn: Any, vm: str, flags: int = 0) -> dict[str, Any]:
        left[0] = int(left[0] * 0.8)
        if left[0] < MIB:
            done.set()
        return {**RUNNING_STATS, "memory_remaining": left[0]}

    monkeypatch.setattr(LibvirtHost, "_migrate_blocking", lambda *a: done.wait(WAIT))
    monkeypatch.setattr(migrate, "_job_stats", fake_job_stats)
    monkeypatch.setattr(migrate, "_abort", lambda conn, vm: pytest.fail("aborted"))
    final = await within(src.migrate("web-01", dst, interval=0.05, stall_s=0.12), WAIT)
    assert final.memory_remaining_bytes == 0
    assert left[0] < MIB
