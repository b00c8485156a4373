"""HA runs re-check their guards right before each step acts (on the simulator): the lease,
the lost host's fence, the VM running nowhere, the target's room; and a run HA cannot record
is said loudly and tried again."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from pathlib import Path

import pytest

from mvm_tui.backends.base import HostUnreachable
from mvm_tui.backends.sim import SimBackend, demo_cluster
from mvm_tui.clock import VirtualClock
from mvm_tui.core.failover import HaSettings, Kind
from mvm_tui.ha_cli import EXIT_TROUBLE, run_ha
from mvm_tui.models import HostPoll
from mvm_tui.runs import RunExecutor, RunRecord, RunStore
from mvm_tui.services.ha import HaService
from mvm_tui.services.ha_failover import FailoverActions
from mvm_tui.services.ha_runs import HaRuns
from tests.sim_ha import sim_actions


def runs(tmp_path: Path, may_act: list[str]) -> tuple[HaRuns, VirtualClock]:
    clock = VirtualClock()
    sim = demo_cluster(clock)
    executor = RunExecutor(RunStore(tmp_path / "runs.sqlite3"), clock)
    return HaRuns(sim, clock, executor, sim_actions(sim), may_act=lambda: may_act[0]), clock


async def test_a_run_stops_between_steps_when_the_lease_is_lost(tmp_path: Path) -> None:
    why = [""]
    r, _ = runs(tmp_path, why)
    sim = r.backend
    assert isinstance(sim, SimBackend)
    sim.power_off_host("hv1")
    sim.fence_host("hv1", 3600)
    define = r.actions.define_on

    async def define_then_lose_lease(vm: str, lost: str, target: str) -> None:
        await define(vm, lost, target)
        why[0] = "this HA service does not hold the lease now"

    r.actions.define_on = define_then_lose_lease  # type: ignore[method-assign]
    error = await r.run("restart", "t", {"vm": "web-01", "host": "hv1", "target": "hv2"},
                        r.targets(vm="web-01"))
    assert error == "stopped before this step: this HA service does not hold the lease now"
    assert sim.where_is("web-01") == "hv2"  # defined (step 1), not started (step 2)
    assert sim.running_hosts("web-01") == []


async def test_a_restart_is_refused_unless_the_lost_host_is_fenced_now(tmp_path: Path) -> None:
    r, _ = runs(tmp_path, [""])
    sim = r.backend
    assert isinstance(sim, SimBackend)
    sim.cut_network("hv1")  # not fenced: web-01 may still run there
    error = await r.run("restart", "t", {"vm": "web-01", "host": "hv1", "target": "hv2"},
                        r.targets(vm="web-01"))
    assert error.startswith("hv1 is not fenced now")
    assert sim.where_is("web-01") == "hv1"
    sim.restore_host("hv1")  # it answers, and runs web-01: never a second copy
    sim.fence_host("hv1", 3600)
    sim.unfence_host("hv1")
    error = await r.run("restart", "t", {"vm": "web-01", "host": "hv1", "target": "hv2"},
                        r.targets(vm="web-01"))
    assert error.startswith("hv1 is not fenced now")


async def test_a_run_that_cannot_be_recorded_is_said_loudly_and_tried_again(
    tmp_path: Path,
) -> None:
    clock = VirtualClock()
    sim = demo_cluster(clock)
    store = RunStore(tmp_path / "runs.sqlite3")
    service = HaService(sim, clock, HaSettings(check_interval=2, check_timeout=1.5,
                                               grace_period=10), RunExecutor(store, clock),
                        sim_actions(sim))
    problems: list[str] = []
    service.on_trouble(problems.append)
    create = store.create_run
    full = [True]

    def create_run(*args: object, **kwargs: object) -> RunRecord:
        if full[0]:
            raise sqlite3.OperationalError("database or disk is full")
        return create(*args, **kwargs)  # type: ignore[arg-type]

    store.create_run = create_run  # type: ignore[method-assign]
    service.start()
    await clock.advance(1.0)  # every host checked once
    sim.power_off_host("hv1")
    await clock.advance(20.0)
    assert any(d.kind is Kind.FENCE for d in service.decisions)
    assert sim.blocklist() == []  # nothing acted without a record
    assert problems
    assert "disk is full" in problems[0]
    assert service.status().trouble == (problems[0],)
    full[0] = False
    await clock.advance(10.0)
    assert sim.blocklist() == ["hv1"]
    assert {sim.where_is("web-01"), sim.where_is("db-01")} <= {"hv2", "hv3"}
    assert problems[-1] == ""
    assert service.status().trouble == ()
    await service.stop()


async def test_a_stale_blocklist_entry_is_not_a_lost_host(tmp_path: Path) -> None:
    """hv1 is still blocklisted from an earlier loss, answered since, and has just been cut:
    a restart (a retry from History, say) waits for the service to declare it lost again."""
    r, _ = runs(tmp_path, [""])
    lost: list[str] = []
    r.lost_now = lambda host: host in lost
    sim = r.backend
    assert isinstance(sim, SimBackend)
    sim.fence_host("hv1", 3600)  # its VMs died with it; the entry was never removed
    sim.cut_network("hv1")
    error = await r.run("restart", "t", {"vm": "web-01", "host": "hv1", "target": "hv2"},
                        r.targets(vm="web-01"))
    assert error.startswith("hv1 is not lost now")
    lost.append("hv1")
    assert await r.run("restart", "t", {"vm": "web-01", "host": "hv1", "target": "hv2"},
                       r.targets(vm="web-01")) == ""


async def test_the_headless_service_says_it_on_stderr_and_in_its_exit_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mvm-tui ha` on the demo: hv1 stops answering (its OSDs down too) while the run store
    refuses every write: each problem on stderr, and the exit status says it (74)."""
    poll, dead = SimBackend.poll_host, [False]

    async def poll_host(self: SimBackend, host: str) -> HostPoll:
        if dead[0] and host == "hv1":
            raise HostUnreachable("hv1: connection timed out")
        return await poll(self, host)

    async def osds_up(self: FailoverActions, host: str) -> bool | None:
        return not (dead[0] and host == "hv1")

    def full(self: RunStore, *args: object, **kwargs: object) -> object:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(SimBackend, "poll_host", poll_host)
    monkeypatch.setattr(FailoverActions, "osds_up", osds_up)
    monkeypatch.setattr(RunStore, "create_run", full)
    clock, stop = VirtualClock(), asyncio.Event()
    task = asyncio.create_task(run_ha(None, demo=True, stop=stop, clock=clock,
                                      db_path=tmp_path / "runs.sqlite3", lock_dir=tmp_path,
                                      out=io.StringIO()))
    await clock.advance(10.0)
    dead[0] = True
    await clock.advance(60.0)
    stop.set()
    assert await task == EXIT_TROUBLE
    err = capsys.readouterr().err
    assert ("mvm-tui ha: demo: ERROR: HA cannot record its runs, so it does not act: "
            "database or disk is full; trying again") in err


async def test_waiting_for_the_operators_host_key_answer_is_not_a_host_failure(
    tmp_path: Path,
) -> None:
    """hv1's check meets an unknown host key: the TUI asks the operator, who takes a while.
    Its checks time out meanwhile, but none counts as failed: hv1 is never suspect, lost or
    fenced. Refused, its sshd still answered (it is up): HA says it cannot check it, and never
    declares it lost for that; once it stops answering at all, it is suspect as usual."""
    from mvm_tui.backends.ssh.errors import HostKeyUnknown
    from mvm_tui.session import Prompts

    clock = VirtualClock()
    sim = demo_cluster(clock)
    answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    async def ask(unknown: HostKeyUnknown) -> bool:
        return await answer

    prompts = Prompts(host_key=ask)

    gone: list[str] = []

    async def check(host: str) -> HostPoll:
        if host in gone:
            raise HostUnreachable(f"{host}: connection refused")
        if host == "hv1":
            unknown = HostKeyUnknown("hv1", "10.0.0.1", 22, "SHA256:x", "k", "known_hosts")
            if not await prompts.on_unknown_key(unknown):
                raise unknown
        return await sim.poll_host(host)

    service = HaService(sim, clock, HaSettings(check_interval=2, check_timeout=1.5,
                                               grace_period=10),
                        RunExecutor(RunStore(tmp_path / "runs.sqlite3"), clock),
                        sim_actions(sim), check=check, awaiting_operator=prompts.awaiting)
    service.start()
    await clock.advance(60.0)
    assert prompts.awaiting("hv1")
    assert not prompts.awaiting("hv2")
    assert [d for d in service.decisions if d.host == "hv1"] == []
    answer.set_result(False)
    await clock.advance(20.0)
    assert not prompts.awaiting("hv1")
    assert [d for d in service.decisions if d.host == "hv1"] == []
    (problem,) = service.status().trouble
    assert problem.startswith("hv1 cannot be checked: hv1 (10.0.0.1:22): unknown host key")
    gone.append("hv1")
    await clock.advance(5.0)
    assert service.status().trouble == ()
    assert Kind.SUSPECT in {d.kind for d in service.decisions if d.host == "hv1"}
    await service.stop()


async def test_a_step_waits_for_a_renewal_and_is_refused_when_the_lease_stays_away(
    tmp_path: Path,
) -> None:
    """A step meets the lease being renewed: it waits for the renewal and acts; a lease that
    stays away (at most three renewals' worth of waiting) still refuses the step."""
    clock = VirtualClock()
    sim = demo_cluster(clock)
    valid = [False]

    class Lease:
        renew_every = 2.0

        def valid(self) -> bool:
            return valid[0]

        def taken(self) -> bool:
            return False

    service = HaService(sim, clock, HaSettings(), RunExecutor(
        RunStore(tmp_path / "runs.sqlite3"), clock), sim_actions(sim))
    service.lease = Lease()  # type: ignore[assignment]
    service._tasks = [asyncio.ensure_future(asyncio.sleep(3600))]  # (active)
    act = asyncio.ensure_future(service.runs._acting())
    await clock.advance(1.0)
    assert not act.done()  # waiting for the renewal
    valid[0] = True
    await clock.advance(0.4)
    assert act.done()
    assert act.exception() is None
    valid[0] = False
    refused = asyncio.ensure_future(service.runs._acting())
    await clock.advance(6.2)
    assert refused.done()
    assert "does not hold the lease" in str(refused.exception())
    service._tasks[0].cancel()


async def test_a_vm_marked_deleted_is_never_restarted(tmp_path: Path) -> None:
    """A delete marks the VM first: its host lost before the definition went (or HA's memory
    older than the delete) restarts nothing."""
    r, _ = runs(tmp_path, [""])
    sim = r.backend
    assert isinstance(sim, SimBackend)
    workloads = sim.workloads()
    assert workloads is not None
    await workloads.mark_deleted("web-01", (await sim.vm_info("web-01")).uuid)
    sim.cut_network("hv1")
    sim.fence_host("hv1", 3600)
    error = await r.run("restart", "t", {"vm": "web-01", "host": "hv1", "target": "hv2"},
                        r.targets(vm="web-01"))
    assert error == "web-01 was deleted by an operator: it is not started again"
    assert sim.where_is("web-01") == "hv1"
    assert sim.running_hosts("web-01") == []
