"""The headless HA service (`mvm-tui ha --config PATH`) killed with SIGKILL in the middle of a
failover on the real lab, then started again: the new process takes the RADOS lease once the
dead one's has run out, learns from the state kept next to the lock what h1 ran, and h1's
failover VMs run again, once each, elsewhere; the pinned one stays down. When h1 returns, the
same process removes the stale copies, unfences h1 and fails the VMs back. A watcher inside
every host checks that no VM ever runs on two hosts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import pytest

from mvm_tui import lab
from mvm_tui.backends.real import RealBackend
from mvm_tui.clock import within
from mvm_tui.config import load_config, save_config
from mvm_tui.models import Placement
from mvm_tui.services.ha_state_rados import RadosHaState
from mvm_tui.session import Session
from tests.lab.placing import put_running_on
from tests.lab.test_lab_backend import wait_for
from tests.lab.test_lab_failover import (
    MOVED,
    PINNED,
    Watcher,
    _with_ha,
    forget_ha_state,
)

pytestmark = pytest.mark.lab

LEASE = 6.0
MVM_TUI = str(Path(sys.executable).with_name("mvm-tui"))


class Headless:
    """One `mvm-tui ha` process; its decision lines as they come."""

    def __init__(self, config: Path, state_home: Path) -> None:
        self.config, self.state_home = config, state_home
        self.lines: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        env = {**os.environ, "XDG_STATE_HOME": str(self.state_home)}
        self.proc = await asyncio.create_subprocess_exec(
            MVM_TUI, "ha", "--config", str(self.config), env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip())

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    async def kill(self, sig: int) -> int:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(sig)
        status = await within(self.proc.wait(), 30)
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await within(self._reader, 5)
        return status


async def test_a_killed_headless_service_started_again_finishes_the_failover(
    lab_session: Session, lab_info: lab.LabInfo, tmp_path: Path
) -> None:
    backend = lab_session.clusters[0].backend
    assert isinstance(backend, RealBackend)
    config = _with_ha(load_config(lab_info.config_path), lock_lease=LEASE)
    config_path = tmp_path / "config.toml"
    save_config(config, config_path)
    cluster = config.clusters[0]
    state = RadosHaState(backend.ceph, cluster.name, cluster.ha.lock_pool)
    await forget_ha_state(state)
    for vm in (*MOVED, PINNED):
        await put_running_on(backend, vm, "h1")
    await backend.set_placement("tiny-a", Placement.AUTO, None)
    await backend.set_placement("tiny-f", Placement.FAILOVER, "h1")
    await backend.set_placement(PINNED, Placement.PINNED, "h1")
    watcher = Watcher(lab_info)
    first = Headless(config_path, tmp_path / "state")
    second = Headless(config_path, tmp_path / "state")  # the same jump box, started again
    watcher.start()
    await first.start()
    try:
        seen: list[str] = []

        async def kept() -> bool:  # the first process keeps h1's VMs next to the lock
            try:
                s = await state.load()
            except Exception as exc:
                seen[:] = [f"load: {exc}"]
                return False
            seen[:] = [f"kept: {sorted((s or {}).get('definitions', {}))}"]
            return s is not None and {*MOVED, PINNED} <= set(s.get("definitions", {}))

        try:  # (a lab just built: its pool may take a while to take the lock)
            await wait_for(kept, 180, "HA's state (with h1's VMs) kept next to the RADOS lock")
        except AssertionError:
            lock = await backend.ceph(["rados", "-p", cluster.ha.lock_pool, "lock", "info",
                                       state.obj, "ha"])
            print("diagnostics:", seen, lock)
            raise
        lab.power_off("h1")

        async def fencing() -> bool:
            return first.said("fence h1")

        await wait_for(fencing, 60, "the first service fencing h1")
        assert await first.kill(signal.SIGKILL) == -signal.SIGKILL  # in the middle of it
        await second.start()

        async def moved_running_elsewhere() -> bool:
            return all(watcher.last.get(vm, set()) & {"h2", "h3"} for vm in MOVED)

        await wait_for(moved_running_elsewhere, 120, "tiny-a and tiny-f running on h2/h3")
        assert PINNED not in watcher.last
        assert all(len(watcher.last[vm]) == 1 for vm in MOVED), watcher.last
        # h1 returns: the second process brings everything back
        lab.restore("h1")

        async def failed_back() -> bool:
            return (all(watcher.last.get(vm) == {"h1"} for vm in MOVED)
                    and second.said("unfence h1"))

        await wait_for(failed_back, 180, "tiny-a and tiny-f failed back to h1, h1 unfenced")
        await asyncio.sleep(3)  # the failback runs' last phase undefines the source copies
        assert "10.213.0.11:0/0" not in await backend.blocklisted()
        for host in ("h2", "h3"):  # no copy left behind
            assert not set(await watcher.defined_on(host)) & {*MOVED, PINNED}
        assert not watcher.violations, watcher.violations
    finally:
        print("\n".join(["first:", *first.lines, "second:", *second.lines]))
        for p in (first, second):
            if p.proc is not None and p.proc.returncode is None:
                await p.kill(signal.SIGTERM)
        await watcher.stop()
        lab.restore("h1")
        with contextlib.suppress(Exception):
            await backend.unfence("h1")
        with contextlib.suppress(Exception):
            await put_running_on(backend, PINNED, "h1")
        await forget_ha_state(state)
