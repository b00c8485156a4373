"""Figures that are true, on the real lab: a host's network load is its own counters (not a sum
of its VMs), a VM's memory is the guest's own figure, and a live migration's progress moves
while its data moves."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mvm_tui import lab
from mvm_tui.backends.real import RealBackend
from mvm_tui.clock import SystemClock
from mvm_tui.lab.netns import hx
from mvm_tui.models import MemSource, MigrationProgress, PowerState
from mvm_tui.runs.model import StepContext
from mvm_tui.services.placement import migration_reporter
from mvm_tui.session import Session

pytestmark = pytest.mark.lab
SENT = 16_000_000


@pytest.fixture(autouse=True)
def _linux_running(lab_info: lab.LabInfo) -> None:
    """tiny-linux runs (an earlier lab test may have shut it down): started where it is."""
    virsh = ("virsh", "-q", "-c", "qemu:///system")
    for h in lab_info.hosts:
        state = subprocess.run(hx(h.index, *virsh, "domstate", "tiny-linux"),
                               capture_output=True, text=True, timeout=60, check=False)
        if state.returncode == 0:
            if state.stdout.strip() != "running":
                subprocess.run(hx(h.index, *virsh, "start", "tiny-linux"),
                               capture_output=True, text=True, timeout=120, check=True)
            return
    raise AssertionError("tiny-linux is defined on no lab host")


def _backend(session: Session) -> RealBackend:
    backend = session.clusters[0].backend
    assert isinstance(backend, RealBackend)
    return backend


async def test_host_network_counters_move_when_traffic_flows(lab_session: Session) -> None:
    backend = _backend(lab_session)
    started = time.monotonic()
    await backend.poll_host("h1")  # the baseline of the rates
    # 16 MB from h1 to the jump box: traffic on h1's own link that no VM of it carries
    await backend.ssh.run("h1", ["head", "-c", str(SENT), "/dev/zero"], timeout=60)
    poll = await backend.poll_host("h1")
    elapsed = time.monotonic() - started  # at least the interval of the rates
    m = poll.metrics
    assert m.net_devices == ("eth0",)  # h1's link to the lab's bridge; not OVS' ports or lo
    assert m.net_tx_bps * elapsed >= SENT, m
    assert m.net_rx_bps > 0
    assert sum(v.net_tx_bps for v in poll.vms) < SENT / elapsed / 100  # not the VMs' sum
    assert m.disk_devices
    assert not any(d.startswith(("loop", "dm-", "rbd")) for d in m.disk_devices)


def test_inventory_json_has_storage_and_measured_rates(
    lab_info: lab.LabInfo, tmp_path: Path
) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mvm_tui.cli", "--config", str(lab_info.config_path),
         "inventory", "--json"], capture_output=True, text=True, timeout=120,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    (cluster,) = json.loads(out.stdout)["clusters"]
    assert cluster["rates_over_s"] == 1.0
    hosts = cluster["hosts"]
    assert all(h["facts"]["storage_gb"] > 0 for h in hosts), hosts  # its OSD, from Ceph
    # Ceph's monitors and OSDs talk between the hosts every second: their own links carry it
    assert all(h["metrics"]["net_rx_bps"] > 0 and h["metrics"]["net_tx_bps"] > 0
               for h in hosts), [h["metrics"] for h in hosts]
    assert all(h["metrics"]["cpu_pct"] > 0 for h in hosts)
    running = {v["name"]: v for v in cluster["vms"] if v["power"] == "running"}
    assert all(isinstance(v["cpu_pct"], float) for v in running.values())
    assert running["tiny-linux"]["cpu_pct"] > 0  # (its init does a little work every second)


async def test_vm_memory_is_the_guests(lab_session: Session) -> None:
    backend = _backend(lab_session)
    deadline = time.monotonic() + 60
    while True:  # its balloon driver reports every second once the guest has booted
        linux = await backend.vm_info("tiny-linux")
        if linux.mem_source is MemSource.GUEST or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert linux.power is PowerState.RUNNING
    assert linux.mem_source is MemSource.GUEST
    # a busybox guest uses a few tens of MiB of its 128; QEMU's process holds more than 128
    assert 0 < linux.mem_used_mb < linux.memory_mb / 2, linux
    bare = await backend.vm_info("tiny-b")  # no OS, no balloon: what it was given
    assert (bare.mem_source, bare.mem_used_mb) == (MemSource.ALLOCATED, bare.memory_mb)


async def test_a_throttled_migration_reports_its_progress_as_it_moves(
    lab_session: Session, lab_info: lab.LabInfo
) -> None:
    """A guest of its own (a migration reopens the console file: the lab's tiny-linux keeps
    its boot lines for the other tests), 128 MiB, moved at 4 MiB/s."""
    backend = _backend(lab_session)
    source, dest = lab_info.host("h2"), lab_info.host("h3")
    virsh = ["virsh", "-q", "-c", "qemu:///system"]
    lab.define_guest(source.name, "fig-mig", "linux")
    try:
        # 4 MiB/s for this domain's next migration (what virsh migrate-setspeed sets before one)
        await asyncio.to_thread(subprocess.run,
                                hx(source.index, *virsh, "migrate-setspeed", "fig-mig", "4"),
                                check=True, capture_output=True, timeout=30)
        ctx = StepContext(1, 0, SystemClock())
        reports: list[MigrationProgress] = []
        report = migration_reporter(ctx)

        def on_progress(p: MigrationProgress) -> None:
            reports.append(p)
            report(p)

        await backend.migrate("fig-mig", dest.name, on_progress)
        moving = [p.percent for p in reports if p.downtime_ms is None]
        assert len({round(p) for p in moving if 0 < p < 100}) >= 3, moving  # moved, in steps
        assert moving[0] < 50, moving  # from the start...
        assert max(moving) > 50, moving  # ...not at 100%
        assert [p.downtime_ms is not None for p in reports].count(True) == 1  # the end, once
        lines = [text for _, text in ctx.lines]
        assert len(lines) == len(set(lines))
        assert lines[-1].startswith(f"running on {dest.name}: ")
        bar = [f for f, _ in ctx.progress_seen]
        assert bar == sorted(bar)
        assert bar[0] < 0.5
        assert bar[-1] == 1.0
        after = await backend.vm_info("fig-mig")
        assert (after.host, after.power) == (dest.name, PowerState.RUNNING)
    finally:
        for h in (source, dest):
            for verb in ("destroy", "undefine"):
                await asyncio.to_thread(subprocess.run, hx(h.index, *virsh, verb, "fig-mig"),
                                        capture_output=True, timeout=60)
