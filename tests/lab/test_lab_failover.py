"""Automatic failover on the real lab: a lab host with an auto, a failover and a pinned VM is
powered off, or has its cable cut while its VMs run. The HA service (the lab's timers: checks
every 2 s, grace period 10 s, self-fencing after 5 s) restarts the first two elsewhere after
blocklisting the host's Ceph clients; the pinned one stays down; when the host returns its
stale copies are removed, it is unfenced, and the VMs fail back. Meanwhile a watcher asks every
host's own libvirtd (inside its namespace, so a cut cable does not blind it) what runs there:
no VM may ever run on two hosts."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mvm_tui import lab
from mvm_tui.backends.real import RealBackend
from mvm_tui.config import Config, load_config
from mvm_tui.core.failover import Decision, Kind
from mvm_tui.ha_cli import build_ha_service
from mvm_tui.lab import truth
from mvm_tui.models import Placement
from mvm_tui.services.ha import HaService
from mvm_tui.services.ha_failover import FailoverActions
from mvm_tui.services.ha_state_rados import RadosHaState
from mvm_tui.session import Session, open_session
from tests.lab.placing import put_running_on
from tests.lab.test_lab_backend import wait_for

pytestmark = pytest.mark.lab

MOVED = ("tiny-a", "tiny-f")  # auto (RBD disk), failover
PINNED = "tiny-p"
H1_CLIENTS = "10.213.0.11:0/0"


class Watcher:
    """What runs where, from inside every host, a few times a second; any VM seen running on
    two hosts in the same sample is a violation."""

    def __init__(self, info: lab.LabInfo) -> None:
        self.info = info
        self.violations: list[str] = []
        self.last: dict[str, set[str]] = {}
        self._task: asyncio.Task[None] | None = None

    async def defined_on(self, host: str) -> list[str]:
        return await truth.defined_on(self.info, host)

    async def _watch(self) -> None:
        while True:
            self.last = await truth.running(self.info)
            self.violations += [f"{vm} on {sorted(hosts)}" for vm, hosts in self.last.items()
                                if len(hosts) > 1]
            await asyncio.sleep(0.2)

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def forget_ha_state(state: RadosHaState) -> None:
    """No state left by an earlier test for this one's HA service to learn: the tests move
    VMs and unfence hosts by hand, behind the back of the service that kept it."""
    with contextlib.suppress(Exception):
        for name in (await state._run("listxattr", state.obj, missing_ok=True)).split():
            await state._run("rmxattr", state.obj, name, missing_ok=True)


@contextlib.asynccontextmanager
async def _ha_running(session: Session, info: lab.LabInfo, tmp_path: Path
                      ) -> AsyncIterator[tuple[HaService, Watcher, list[Decision]]]:
    cluster = session.clusters[0]
    backend = cluster.backend
    assert isinstance(backend, RealBackend)
    for vm in (*MOVED, PINNED):
        await put_running_on(backend, vm, "h1")
    await backend.set_placement("tiny-a", Placement.AUTO, None)
    await backend.set_placement("tiny-f", Placement.FAILOVER, "h1")
    await backend.set_placement(PINNED, Placement.PINNED, "h1")
    assert cluster.config is not None
    await forget_ha_state(RadosHaState(backend.ceph, cluster.name, cluster.config.ha.lock_pool))
    service = build_ha_service(session, cluster, tmp_path)
    assert isinstance(service.actions, FailoverActions)
    decisions: list[Decision] = []
    service.subscribe(decisions.append)
    watcher = Watcher(info)
    watcher.start()
    service.start()

    async def kept() -> bool:
        return all(backend.kept.get(vm) is not None for vm in (*MOVED, PINNED))

    try:
        await wait_for(kept, 60, "the HA checks to keep a copy of every VM's definition")
        yield service, watcher, decisions
    finally:
        await service.stop()
        await watcher.stop()
        with contextlib.suppress(Exception):
            await backend.unfence("h1")  # whatever happened, leave h1 usable
        with contextlib.suppress(Exception):
            await put_running_on(backend, PINNED, "h1")


@pytest.fixture
async def ha(lab_session: Session, lab_info: lab.LabInfo, tmp_path: Path
             ) -> AsyncIterator[tuple[HaService, Watcher, list[Decision]]]:
    async with _ha_running(lab_session, lab_info, tmp_path) as running:
        yield running


async def _fail_over_and_back(
    session: Session, service: HaService, watcher: Watcher, decisions: list[Decision],
    lose: str,
) -> None:
    backend = session.clusters[0].backend
    assert isinstance(backend, RealBackend)
    started = time.monotonic()
    (lab.power_off if lose == "power" else lab.cut)("h1")
    try:
        async def moved_running_elsewhere() -> bool:
            return all(watcher.last.get(vm, set()) & {"h2", "h3"} for vm in MOVED)

        await wait_for(moved_running_elsewhere, 120, "tiny-a and tiny-f running on h2/h3")
        took = time.monotonic() - started
        assert PINNED not in watcher.last
        assert H1_CLIENTS in await backend.blocklisted()
        kinds = [(d.kind, d.vm) for d in decisions]
        assert (Kind.STAY_DOWN, PINNED) in kinds
        # the fence run ended before any restart run began
        runs = session.store.list_runs()
        fence = [r for r in runs if r.kind.endswith("ha.fence")]
        restarts = [r for r in runs if r.kind.endswith("ha.restart")]
        assert fence, [(r.kind, r.state, r.error) for r in runs]
        assert len(restarts) == 2, [(r.kind, r.state, r.error) for r in runs]
        assert all(r.state == "done" for r in (*fence, *restarts)), [
            (r.title, r.error) for r in runs]
        fenced_at = fence[0].ended
        assert fenced_at is not None
        assert all(r.started is not None and r.started >= fenced_at for r in restarts)
        print(f"{lose}: every failover VM running again {took:.1f} s after the loss")
    finally:
        lab.restore("h1")

    async def failed_back() -> bool:
        return all(watcher.last.get(vm) == {"h1"} for vm in MOVED)

    try:
        await wait_for(failed_back, 180, "tiny-a and tiny-f failed back to h1")
    except AssertionError as exc:
        ran = [(r.title, r.state, r.error) for r in session.store.list_runs()]
        raise AssertionError(f"{exc}\nwhere they run: {watcher.last}\nruns: {ran}\n"
                             f"decisions: {[d.text() for d in decisions]}") from None

    # running on h1 comes before the migration's last phase undefines the source copy: the
    # failback runs end after it
    async def failbacks_ended() -> bool:
        runs = [r for r in session.store.list_runs() if r.kind.endswith("ha.failback")]
        return len(runs) == len(MOVED) and all(r.finished for r in runs)

    await wait_for(failbacks_ended, 60, "the failback runs ended")
    failbacks = [r for r in session.store.list_runs() if r.kind.endswith("ha.failback")]
    assert all(r.state == "done" for r in failbacks), [(r.title, r.error) for r in failbacks]
    assert H1_CLIENTS not in await backend.blocklisted()
    for host in ("h2", "h3"):  # no copy left behind anywhere
        assert not set(await watcher.defined_on(host)) & {*MOVED, PINNED}
    assert PINNED in await watcher.defined_on("h1")
    assert PINNED not in watcher.last
    kinds = [(d.kind, d.vm) for d in decisions]
    assert (Kind.KEEP_STOPPED, PINNED) in kinds
    assert kinds.index((Kind.UNFENCE, None)) < kinds.index((Kind.FAILBACK, "tiny-a"))
    assert not watcher.violations, watcher.violations


async def test_a_powered_off_host_fails_over_and_back(
    lab_session: Session, ha: tuple[HaService, Watcher, list[Decision]]
) -> None:
    service, watcher, decisions = ha
    await _fail_over_and_back(lab_session, service, watcher, decisions, "power")


async def test_a_cut_host_never_leaves_a_vm_running_twice(
    lab_session: Session, ha: tuple[HaService, Watcher, list[Decision]]
) -> None:
    """Its guests keep running when the cable is cut: the host kills them itself (after
    self_fence_after) before the grace period ends and they start elsewhere; when it is back
    their stale definitions are removed there before it is unfenced."""
    service, watcher, decisions = ha
    await _fail_over_and_back(lab_session, service, watcher, decisions, "cut")
    assert (Kind.STALE, "tiny-a") in [(d.kind, d.vm) for d in decisions]


async def test_ipmi_powers_a_lost_host_off_before_its_vms_restart(
    lab_info: lab.LabInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ipmi = true, fencing also powers the lost host off through its BMC (the lab's
    ipmitool look-alike, password from IPMI_PASSWORD) before anything restarts."""
    monkeypatch.setenv("IPMI_PASSWORD", "lab")
    config = _with_ha(load_config(lab_info.config_path), ipmi=True)
    session = open_session(config, demo=False, db_path=tmp_path / "runs.sqlite3")
    try:
        async with _ha_running(session, lab_info, tmp_path) as (service, watcher, decisions):
            await _fail_over_and_back(session, service, watcher, decisions, "cut")
            fence = next(r for r in session.store.list_runs() if r.kind.endswith("ha.fence"))
            steps = session.store.steps(fence.id)
            assert [s.title for s in steps][-1] == "Power off h1 through IPMI"
            assert all(s.state == "done" for s in steps)
            assert steps[-1].preview[0].startswith(str(lab_info.directory / "ipmitool"))
            assert "-E chassis power off" in steps[-1].preview[0]
    finally:
        await session.close()


def _with_ha(config: Config, **ha: object) -> Config:
    c = config.clusters[0]
    return config.model_copy(update={"clusters": [c.model_copy(update={
        "ha": c.ha.model_copy(update=ha)})]})


async def test_two_jump_boxes_take_turns_with_the_ceph_lock(
    lab_info: lab.LabInfo, tmp_path: Path
) -> None:
    """Two HA services (two sessions, as on two jump boxes) on the lab's HCI cluster: one
    holds the RADOS lock and acts, the other stands by; when the first dies without letting
    go, the second takes over once the lease has run out."""
    config = _with_ha(load_config(lab_info.config_path), lock_lease=6.0)
    sessions = [open_session(config, demo=False, db_path=tmp_path / f"{n}.sqlite3")
                for n in ("a", "b")]
    first, second = (build_ha_service(s, s.clusters[0], tmp_path / n)
                     for s, n in zip(sessions, "ab", strict=True))
    try:
        assert first.lease is not None
        assert second.lease is not None
        first.start()
        await wait_for(lambda: _is(first.running), 30, "the first service active")
        second.start()
        await wait_for(lambda: _is("mvm-tui HA" in str(second.status().holder)), 30,
                       "the second service standing by, naming the holder")
        assert not second.running
        # the first dies: its lease task stops, the lock is not released
        assert first._lease_task is not None
        first._lease_task.cancel()
        await first._deactivate()
        died = time.monotonic()
        await wait_for(lambda: _is(second.running), 30, "the second service taking over")
        took = time.monotonic() - died
        assert took < 6.0 + second.lease.renew_every + 5.0, took
    finally:
        for service in (first, second):
            await service.stop()
        for s in sessions:
            await s.close()


async def _is(value: bool) -> bool:
    return value
