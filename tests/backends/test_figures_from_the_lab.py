"""VM memory and live-migration progress, on what the lab's libvirt really returned
(tests/fixtures/figures/, made by capture.py there: see its docstring for how)."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import libvirt  # type: ignore[import-untyped]
import pytest

import mvm_tui.backends.libvirt.migrate as migrate
from mvm_tui.backends.libvirt import LibvirtHost, LibvirtNode
from mvm_tui.backends.libvirt.stats import guest_memory
from mvm_tui.clock import SystemClock, within
from mvm_tui.models import MemSource, MigrationProgress
from mvm_tui.runs.model import StepContext
from mvm_tui.services.placement import migration_reporter

HERE = Path(__file__).resolve().parents[1] / "fixtures"
FIGURES = HERE / "figures"
URI = f"test://{HERE / 'libvirt' / 'node.xml'}"
WAIT = 10.0


def figure(name: str) -> Any:
    return json.loads((FIGURES / name).read_text())


def test_a_guest_with_its_balloon_driver_shows_its_own_use() -> None:
    got = figure("memstats-balloon.json")
    mem = got["memoryStats"]  # dom.memoryStats() of the same guest, for reference
    mb, source = guest_memory(got["getAllDomainStats_balloon"])
    assert source is MemSource.GUEST
    assert mb == (mem["available"] - mem["usable"]) // 1024
    assert 0 < mb * 1024 < mem["rss"] / 2  # far from what the QEMU process holds


@pytest.mark.parametrize("name", ["memstats-no-driver.json", "memstats-no-balloon.json"])
def test_a_guest_without_a_driver_shows_what_it_was_given(name: str) -> None:
    got = figure(name)
    rec = got["getAllDomainStats_balloon"]
    assert (guest_memory(rec)) == (got["maxMemory_kib"] // 1024, MemSource.ALLOCATED)
    assert guest_memory(rec)[0] != rec["balloon.rss"] // 1024


@pytest.fixture
async def nodes() -> AsyncIterator[tuple[LibvirtNode, LibvirtNode]]:
    src, dst = LibvirtNode(LibvirtHost("h3", URI)), LibvirtNode(LibvirtHost("h2", URI))
    yield src, dst
    await src.close()
    await dst.close()


def _samples() -> list[tuple[dict[str, Any], bool]]:
    """The lab's jobStats on the source while tiny-linux moved, with whether it was paused;
    then two of the last one with the VM paused: the switch-over (tens of ms in the lab, not
    caught by sampling every 0.25 s)."""
    got = [(s["jobStats"], s["state"][0] == libvirt.VIR_DOMAIN_PAUSED)
           for s in figure("jobstats-migration.json")["samples"] if "jobStats" in s]
    return [*got, (got[-1][0], True), (got[-1][0], True)]


async def test_progress_moves_while_data_moves_and_no_line_is_logged_twice(
    nodes: tuple[LibvirtNode, LibvirtNode], monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dst = nodes
    samples, done = iter(_samples()), threading.Event()
    final = figure("progress-migration.json")["final"]

    def fake_migrate(source: LibvirtHost, vm: str, dest_uri: str,
                     params: Mapping[str, Any], flags: int) -> None:
        assert done.wait(WAIT)

    def fake_sample(conn: Any, vm: str) -> tuple[dict[str, Any], bool]:
        try:
            return next(samples)
        except StopIteration:
            done.set()
            return {"type": libvirt.VIR_DOMAIN_JOB_NONE}, False

    def fake_job_stats(conn: Any, vm: str, flags: int = 0) -> dict[str, Any]:
        # the completed job read on the destination (its figures, from the final report)
        return {"type": libvirt.VIR_DOMAIN_JOB_COMPLETED, "downtime": final["downtime_ms"],
                "time_elapsed": int(final["elapsed_s"] * 1000),
                "memory_total": final["memory_total_bytes"],
                "memory_processed": final["memory_processed_bytes"], "memory_remaining": 0}

    monkeypatch.setattr(LibvirtHost, "_migrate_blocking", fake_migrate)
    monkeypatch.setattr(migrate, "_job_sample", fake_sample)
    monkeypatch.setattr(migrate, "_job_stats", fake_job_stats)
    ctx = StepContext(1, 0, SystemClock())
    reports: list[MigrationProgress] = []
    report = migration_reporter(ctx)

    def on_progress(p: MigrationProgress) -> None:
        reports.append(p)
        report(p)

    await within(src.migrate("web-01", dst, on_progress=on_progress,
                                       interval=0.001), WAIT)
    running = reports[:-1]
    # the job's setup (every figure 0) is not reported: the first report is near 0%, not 100%
    assert running
    assert running[0].percent < 2
    assert all(p.memory_total_bytes > 0 and p.downtime_ms is None for p in running)
    assert len(running) >= 0.9 * len(_samples()) - 3  # every sample with figures
    bar = [f for f, _ in ctx.progress_seen]
    assert bar == sorted(bar)
    assert bar[-1] == 1.0
    assert bar[len(bar) // 2] < 0.9
    lines = [text for _, text in ctx.lines]
    assert len(lines) == len(set(lines))
    assert [int(t.split("%")[0]) // 25 for t in lines[:3]] == [1, 2, 3]  # 25, 50, 75%
    assert lines[-2] == f"{lines[-2].split(';')[0]}; paused on h3 for the switch-over"
    assert lines[-1].startswith(
        f"running on h2: switched over in {final['elapsed_s']:.1f} s, downtime "
        f"{final['downtime_ms']} ms")
    assert [p.downtime_ms is not None for p in reports].count(True) == 1
