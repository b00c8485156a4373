"""RunExecutor: order, events, failures and retry, resume, waiting, cancellation, concurrency."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from mvm_tui.clock import VirtualClock, settle, within
from mvm_tui.runs import (
    CHECK_FAILED,
    LogAppended,
    RunAlreadyRunning,
    RunCancelled,
    RunChanged,
    RunEvent,
    RunExecutor,
    RunRecord,
    RunState,
    RunStepsMismatch,
    RunStore,
    Step,
    StepChanged,
    StepContext,
    StepState,
    Targets,
    UnknownRunKind,
)

T0 = 1_767_225_600.0
TIMEOUT = 10.0  # seconds of real time before a wait gives up: only hit when a test is broken


class Probe:
    """A builder whose steps record their calls and can be told to fail, lie or block."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.calls: list[str] = []
        self.effects: set[int] = set()
        self.fail_action: dict[int, Exception] = {}
        self.fail_check: dict[int, Exception] = {}
        self.check_says: dict[int, bool] = {}
        self.duration: float = 0.0  # clock seconds each action takes
        self.gates: dict[int, asyncio.Event] = {}  # action i waits for gates[i]
        self.entered: dict[int, asyncio.Event] = {}  # set when action i reaches its gate

    def gate(self, index: int) -> None:
        self.gates[index] = asyncio.Event()
        self.entered[index] = asyncio.Event()

    def build(self, params: Mapping[str, Any]) -> list[Step]:
        return [self._step(i) for i in range(int(params["steps"]))]

    def _step(self, i: int) -> Step:
        async def action(ctx: StepContext) -> None:
            self.calls.append(f"{self.name}action{i}")
            ctx.log(f"doing {i}\nsecond line of {i}")
            if self.duration:
                await ctx.clock.sleep(self.duration)
            if i in self.fail_action:
                raise self.fail_action[i]
            if i in self.gates:
                self.entered[i].set()
                await self.gates[i].wait()
            self.effects.add(i)

        async def check(ctx: StepContext) -> bool:
            self.calls.append(f"{self.name}check{i}")
            if i in self.fail_check:
                raise self.fail_check[i]
            return self.check_says.get(i, i in self.effects)

        return Step(f"step {i}", (f"ssh hv1 do-{i}",), action, check)


class Recorder:
    def __init__(self) -> None:
        self.events: list[RunEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: RunEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[RunEvent], bool]) -> None:
        async with asyncio.timeout(TIMEOUT):
            while not any(predicate(e) for e in self.events):
                self._changed.clear()
                await self._changed.wait()

    def summary(self) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        for e in self.events:
            if isinstance(e, RunChanged):
                out.append(("run", e.run.state.value))
            elif isinstance(e, StepChanged):
                out.append(("step", e.step.index, e.step.state.value))
            elif isinstance(e, LogAppended):
                out.append(("log", e.line.step_index, e.line.stream, e.line.text))
            else:
                out.append(("progress", e.step_index, e.fraction))
        return out


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    s = RunStore(tmp_path / "runs.db")
    yield s
    s.close()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def executor(store: RunStore, clock: VirtualClock, probe: Probe) -> RunExecutor:
    ex = RunExecutor(store, clock)
    ex.register("probe", probe.build)
    return ex


def create(executor: RunExecutor, steps: int = 3, kind: str = "probe") -> RunRecord:
    return executor.create(kind, "demo", {"steps": steps}, Targets("prod", "hv1", "web-1"))


async def drive(clock: VirtualClock, task: asyncio.Task[RunRecord]) -> RunRecord:
    """Move the virtual clock to each sleeper's deadline until the task is done."""
    for _ in range(1000):
        if task.done():
            return task.result()
        deadline = clock.next_deadline
        if deadline is None:
            await settle()
        else:
            await clock.advance(deadline - clock.now())
    raise AssertionError("the run did not finish")


def states(store: RunStore, run_id: int) -> list[StepState]:
    return [s.state for s in store.steps(run_id)]


async def test_steps_run_in_order_and_everything_is_recorded(
    executor: RunExecutor, store: RunStore, clock: VirtualClock, probe: Probe
) -> None:
    recorder = Recorder()
    executor.subscribe(recorder)
    probe.duration = 10.0
    run = create(executor)

    final = await drive(clock, asyncio.create_task(executor.execute(run.id)))

    assert probe.calls == ["action0", "check0", "action1", "check1", "action2", "check2"]
    assert final.state is RunState.DONE
    assert (final.started, final.ended, final.error) == (T0, T0 + 30, None)
    assert store.get_run(run.id) == final
    steps = store.steps(run.id)
    assert [(s.state, s.started, s.ended, s.error) for s in steps] == [
        (StepState.DONE, T0, T0 + 10, None),
        (StepState.DONE, T0 + 10, T0 + 20, None),
        (StepState.DONE, T0 + 20, T0 + 30, None),
    ]

    def step_events(i: int) -> list[tuple[Any, ...]]:
        return [
            ("log", i, "info", f"step {i + 1}/3: step {i}"),
            ("step", i, "running"),
            ("log", i, "out", f"doing {i}"),
            ("log", i, "out", f"second line of {i}"),
            ("log", i, "info", f"step {i + 1}/3 done"),
            ("step", i, "done"),
        ]

    assert recorder.summary() == [
        ("run", "pending"),
        ("run", "running"),
        ("log", None, "info", "run started: demo"),
        *step_events(0),
        *step_events(1),
        *step_events(2),
        ("log", None, "info", "run done"),
        ("run", "done"),
    ]
    # the log in the store is exactly what the subscribers were sent, times from the clock
    sent = [e.line for e in recorder.events if isinstance(e, LogAppended)]
    assert store.log(run.id) == sent
    assert [line.time for line in sent if line.text == "doing 1"] == [T0 + 10]
    assert sent[-1].time == T0 + 30


async def test_action_raising_fails_step_and_run_and_retry_continues_there(
    executor: RunExecutor, store: RunStore, probe: Probe
) -> None:
    probe.fail_action[1] = RuntimeError("cannot reach hv1:22")
    run = create(executor)

    failed = await executor.execute(run.id)

    assert failed.state is RunState.FAILED
    assert failed.error == "cannot reach hv1:22"
    steps = store.steps(run.id)
    assert [s.state for s in steps] == [StepState.DONE, StepState.FAILED, StepState.PENDING]
    assert steps[1].error == "cannot reach hv1:22"
    assert probe.calls == ["action0", "check0", "action1"]
    texts = [(line.stream, line.text) for line in store.log(run.id)]
    assert ("err", "step 2/3 failed: cannot reach hv1:22") in texts
    assert not any("Traceback" in text for _, text in texts)

    # retry: step 0 is re-checked, not redone; the failed step and the rest run
    del probe.fail_action[1]
    probe.calls.clear()
    done = await executor.execute(run.id)

    assert done.state is RunState.DONE
    assert done.error is None
    assert done.started == failed.started
    assert probe.calls == ["check0", "action1", "check1", "action2", "check2"]
    assert states(store, run.id) == [StepState.DONE] * 3
    assert store.steps(run.id)[1].error is None
    assert ("info", "step 1/3: step 0: re-checked: still in effect") in [
        (line.stream, line.text) for line in store.log(run.id)
    ]


async def test_an_exception_without_message_is_named_by_its_class(
    executor: RunExecutor, store: RunStore, probe: Probe
) -> None:
    probe.fail_action[0] = ValueError()
    run = await executor.execute(create(executor).id)
    assert run.error == "ValueError"
    assert store.steps(run.id)[0].error == "ValueError"


async def test_check_false_fails_the_step(
    executor: RunExecutor, store: RunStore, probe: Probe
) -> None:
    probe.check_says[0] = False
    run = await executor.execute(create(executor).id)
    assert run.state is RunState.FAILED
    assert run.error == CHECK_FAILED
    assert states(store, run.id) == [StepState.FAILED, StepState.PENDING, StepState.PENDING]
    assert probe.calls == ["action0", "check0"]


async def test_a_step_cancelled_by_the_operator_ends_the_run_cancelled(
    executor: RunExecutor, store: RunStore, probe: Probe
) -> None:
    probe.fail_check[1] = RunCancelled("the operator stopped waiting: web-1 keeps running")
    run = await executor.execute(create(executor).id)
    assert (run.state, run.error) == (RunState.CANCELLED,
                                      "the operator stopped waiting: web-1 keeps running")
    assert run.finished
    assert run.ended is not None
    assert states(store, run.id) == [StepState.DONE, StepState.CANCELLED, StepState.PENDING]
    assert store.steps(run.id)[1].error == run.error
    log = [line.text for line in store.log(run.id)]
    assert log[-1] == "run cancelled: the operator stopped waiting: web-1 keeps running"
    assert probe.calls == ["action0", "check0", "action1", "check1"]  # step 2 never ran
    assert executor.resumable() == []
    assert store.unfinished() == []
    assert (await executor.resume_unfinished()) == []


async def test_check_raising_fails_the_step(
    executor: RunExecutor, store: RunStore, probe: Probe
) -> None:
    probe.fail_check[2] = OSError("virsh: command not found")
    run = await executor.execute(create(executor).id)
    assert (run.state, run.error) == (RunState.FAILED, "virsh: command not found")
    assert states(store, run.id) == [StepState.DONE, StepState.DONE, StepState.FAILED]


def crashed_run(store: RunStore, executor: RunExecutor, step_states: list[StepState]) -> int:
    """Store state as a process leaves it when it dies while running a run."""
    run = create(executor, steps=len(step_states))
    store.set_run_state(run.id, RunState.RUNNING, started=T0)
    for i, state in enumerate(step_states):
        if state is not StepState.PENDING:
            store.set_step_state(run.id, i, state, started=T0 + i)
    return run.id


@pytest.mark.parametrize(
    ("effects", "crashed_step", "expected_calls"),
    [
        # step 1 was interrupted before its effect: checked, then run
        ({0}, StepState.RUNNING, ["check0", "check1", "action1", "check1", "action2", "check2"]),
        # step 1 had done its work when the process died: checked, not run again
        ({0, 1}, StepState.WAITING, ["check0", "check1", "action2", "check2"]),
        # step 0's effect was undone meanwhile: it runs again
        (
            set(),
            StepState.RUNNING,
            ["check0", "action0", "check0", "check1", "action1", "check1", "action2", "check2"],
        ),
    ],
)
async def test_recover_and_resume_from_the_store(
    store: RunStore,
    clock: VirtualClock,
    effects: set[int],
    crashed_step: StepState,
    expected_calls: list[str],
) -> None:
    dead = RunExecutor(store, clock)
    dead.register("probe", Probe().build)
    run_id = crashed_run(store, dead, [StepState.DONE, crashed_step, StepState.PENDING])
    dead.close()  # its process dies

    # a new process: a new executor on the same store
    probe = Probe()
    probe.effects = set(effects)
    executor = RunExecutor(store, clock)
    executor.register("probe", probe.build)

    recovered = executor.recover()
    assert [(r.id, r.state) for r in recovered] == [(run_id, RunState.INTERRUPTED)]
    assert states(store, run_id)[1] is crashed_step  # left to be re-checked
    assert executor.recover() == []  # nothing RUNNING any more

    resumed = await executor.resume_unfinished()

    assert [(r.id, r.state) for r in resumed] == [(run_id, RunState.DONE)]
    assert probe.calls == expected_calls
    assert states(store, run_id) == [StepState.DONE] * 3
    assert store.unfinished() == []


async def test_recover_only_touches_running_runs(executor: RunExecutor, store: RunStore) -> None:
    pending = create(executor)
    failed = create(executor)
    store.set_run_state(failed.id, RunState.FAILED, error="x")
    running = crashed_run(store, executor, [StepState.RUNNING])
    assert [r.id for r in executor.recover()] == [running]
    assert store.get_run(pending.id).state is RunState.PENDING
    assert store.get_run(failed.id).state is RunState.FAILED
    assert store.get_run(running).error is not None


async def test_a_run_owned_by_a_live_process_is_left_alone(
    executor: RunExecutor, store: RunStore, clock: VirtualClock
) -> None:
    run_id = crashed_run(store, executor, [StepState.RUNNING])
    other = RunExecutor(store, clock)  # another process on the same store
    other.register("probe", Probe().build)
    assert other.recover() == []
    with pytest.raises(RunAlreadyRunning, match=f"running in process {os.getpid()} on "):
        await other.execute(run_id)
    assert await other.resume_unfinished() == []
    run = store.get_run(run_id)
    assert run.state is RunState.RUNNING
    assert run.owner == executor.owner.info
    assert other.owned_elsewhere(run) == executor.owner.info
    assert executor.owned_elsewhere(run) is None
    assert other.resumable() == []
    assert [r.id for r in executor.resumable()] == [run_id]


async def test_a_dead_owners_run_is_resumed_exactly_once(
    executor: RunExecutor, store: RunStore, clock: VirtualClock
) -> None:
    run_id = crashed_run(store, executor, [StepState.DONE, StepState.RUNNING, StepState.PENDING])
    first, second = Probe("a"), Probe("b")
    first.effects, second.effects = {0}, {0}
    first.gate(1)
    a, b = RunExecutor(store, clock), RunExecutor(store, clock)
    a.register("probe", first.build)
    b.register("probe", second.build)
    executor.close()  # the owner dies
    assert b.owned_elsewhere(store.get_run(run_id)) is None
    assert [r.id for r in b.resumable()] == [run_id]

    resuming = asyncio.ensure_future(a.resume_unfinished())
    await within(first.entered[1].wait(), TIMEOUT)
    assert b.recover() == []  # a resumes it: b neither recovers nor resumes it
    assert await b.resume_unfinished() == []
    with pytest.raises(RunAlreadyRunning, match="running in process"):
        await b.execute(run_id)
    assert b.resumable() == []
    assert a.resumable() == []
    first.gates[1].set()
    (done,) = await within(resuming, TIMEOUT)

    assert done.state is RunState.DONE
    assert done.owner is None
    assert second.calls == []
    assert first.calls.count("aaction1") == 1
    assert "run interrupted: the process running it stopped before it finished" in [
        line.text for line in store.log(run_id)
    ]


async def test_an_inventory_like_process_does_not_interrupt_a_live_run(
    executor: RunExecutor, store: RunStore, clock: VirtualClock, probe: Probe
) -> None:
    probe.gate(1)
    run = create(executor)
    task = asyncio.ensure_future(executor.execute(run.id))
    await within(probe.entered[1].wait(), TIMEOUT)
    reader = RunExecutor(store, clock)  # opens the store and recovers, as every process does
    assert reader.recover() == []
    assert store.get_run(run.id).state is RunState.RUNNING
    probe.gates[1].set()
    assert (await within(task, TIMEOUT)).state is RunState.DONE
    assert "interrupted" not in " ".join(line.text for line in store.log(run.id))


async def test_unknown_kind(executor: RunExecutor, store: RunStore, clock: VirtualClock) -> None:
    run = create(executor)
    other = RunExecutor(store, clock)  # e.g. a later version without that kind
    with pytest.raises(UnknownRunKind, match="'probe'"):
        await other.execute(run.id)
    with pytest.raises(UnknownRunKind, match="'probe'"):
        other.preview("probe", {"steps": 1})
    assert await other.resume_unfinished() == []
    assert [r.id for r in store.unfinished()] == [run.id]
    assert store.get_run(run.id).state is RunState.PENDING


async def test_a_builder_that_changed_its_steps_is_refused(
    executor: RunExecutor, store: RunStore, clock: VirtualClock
) -> None:
    run = create(executor, steps=2)
    store.set_run_state(run.id, RunState.INTERRUPTED)
    executor.close()
    later = RunExecutor(store, clock)  # a later version builds this kind differently
    later.register("probe", lambda params: Probe().build({"steps": 3}))
    with pytest.raises(RunStepsMismatch, match="created with 2 steps"):
        await later.execute(run.id)
    assert store.get_run(run.id).state is RunState.INTERRUPTED
    assert states(store, run.id) == [StepState.PENDING] * 2


async def test_preview_persists_nothing(executor: RunExecutor, store: RunStore) -> None:
    steps = executor.preview("probe", {"steps": 2})
    assert [(s.title, s.preview) for s in steps] == [
        ("step 0", ("ssh hv1 do-0",)),
        ("step 1", ("ssh hv1 do-1",)),
    ]
    assert store.list_runs() == []


async def test_a_done_run_is_not_executed_again(executor: RunExecutor, probe: Probe) -> None:
    run = await executor.execute(create(executor).id)
    probe.calls.clear()
    recorder = Recorder()
    executor.subscribe(recorder)
    assert await executor.execute(run.id) == run
    assert probe.calls == []
    assert recorder.events == []


async def test_a_failing_subscriber_does_not_break_the_run(
    executor: RunExecutor, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: RunEvent) -> None:
        raise RuntimeError("widget gone")

    executor.subscribe(broken)
    recorder = Recorder()
    executor.subscribe(recorder)
    with caplog.at_level(logging.ERROR, logger="mvm_tui.runs"):
        run = await executor.execute(create(executor).id)
    assert run.state is RunState.DONE
    assert recorder.summary()[-1] == ("run", "done")
    assert "subscriber failed" in caplog.text
    assert "widget gone" in caplog.text


async def test_unsubscribe(executor: RunExecutor) -> None:
    recorder = Recorder()
    unsubscribe = executor.subscribe(recorder)
    create(executor)
    unsubscribe()
    unsubscribe()  # idempotent
    await executor.execute(create(executor).id)
    assert recorder.summary() == [("run", "pending")]


async def test_cancellation_interrupts_the_run_and_it_resumes(
    executor: RunExecutor, store: RunStore, probe: Probe
) -> None:
    recorder = Recorder()
    executor.subscribe(recorder)
    probe.gate(1)
    run = create(executor)
    task = asyncio.create_task(executor.execute(run.id))
    async with asyncio.timeout(TIMEOUT):
        await probe.entered[1].wait()

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    interrupted = store.get_run(run.id)
    assert (interrupted.state, interrupted.error) == (RunState.INTERRUPTED, "cancelled")
    assert states(store, run.id) == [StepState.DONE, StepState.RUNNING, StepState.PENDING]
    assert recorder.summary()[-1] == ("run", "interrupted")
    assert not executor.is_executing(run.id)
    assert [r.id for r in store.unfinished()] == [run.id]

    del probe.gates[1]
    probe.calls.clear()
    done = await executor.execute(run.id)
    assert done.state is RunState.DONE
    assert probe.calls == ["check0", "check1", "action1", "check1", "action2", "check2"]


async def test_a_cancelled_await_inside_a_step_fails_the_step(
    executor: RunExecutor, store: RunStore, clock: VirtualClock
) -> None:
    async def action(ctx: StepContext) -> None:
        inner = asyncio.get_running_loop().create_future()
        inner.cancel()
        await inner

    async def check(ctx: StepContext) -> bool:
        return True

    executor.register("inner", lambda params: [Step("x", (), action, check)])
    run = executor.create("inner", "t", {}, Targets("c"))
    final = await executor.execute(run.id)
    assert (final.state, final.error) == (RunState.FAILED, "cancelled")


async def test_the_same_run_twice_is_refused_two_runs_run_concurrently(
    store: RunStore, clock: VirtualClock
) -> None:
    a, b = Probe("a."), Probe("b.")
    a.gate(0)
    b.gate(0)
    executor = RunExecutor(store, clock)
    executor.register("a", a.build)
    executor.register("b", b.build)
    run_a = create(executor, steps=2, kind="a")
    run_b = create(executor, steps=2, kind="b")
    task_a = asyncio.create_task(executor.execute(run_a.id))
    task_b = asyncio.create_task(executor.execute(run_b.id))
    async with asyncio.timeout(TIMEOUT):
        await a.entered[0].wait()
        await b.entered[0].wait()
    assert executor.is_executing(run_a.id)
    assert executor.is_executing(run_b.id)

    with pytest.raises(RunAlreadyRunning, match=f"run {run_a.id}"):
        await executor.execute(run_a.id)
    assert await executor.resume_unfinished() == []  # both are executing already

    b.gates[0].set()
    a.gates[0].set()
    async with asyncio.timeout(TIMEOUT):
        done_a, done_b = await asyncio.gather(task_a, task_b)
    assert (done_a.state, done_b.state) == (RunState.DONE, RunState.DONE)
    assert a.calls == ["a.action0", "a.check0", "a.action1", "a.check1"]
    assert b.calls == ["b.action0", "b.check0", "b.action1", "b.check1"]


async def test_waiting_then_running_again(
    executor: RunExecutor, store: RunStore, clock: VirtualClock
) -> None:
    async def action(ctx: StepContext) -> None:
        ctx.waiting("ceph rebalancing: 12 pgs degraded")
        await ctx.clock.sleep(60)
        ctx.log("HEALTH_OK")

    async def check(ctx: StepContext) -> bool:
        return True

    executor.register(
        "wait", lambda params: [Step("drain osd.3", ("ceph osd out 3",), action, check)]
    )
    recorder = Recorder()
    executor.subscribe(recorder)
    run = executor.create("wait", "t", {}, Targets("c"))
    task = asyncio.create_task(executor.execute(run.id))

    await recorder.wait_for(
        lambda e: isinstance(e, StepChanged) and e.step.state is StepState.WAITING
    )
    assert states(store, run.id) == [StepState.WAITING]
    await clock.advance(60)
    async with asyncio.timeout(TIMEOUT):
        final = await task

    assert final.state is RunState.DONE
    summary = recorder.summary()
    assert [s for s in summary if s[0] == "step"] == [
        ("step", 0, "running"),
        ("step", 0, "waiting"),
        ("step", 0, "running"),
        ("step", 0, "done"),
    ]
    waiting_at = summary.index(("step", 0, "waiting"))
    reason = "waiting: ceph rebalancing: 12 pgs degraded"
    assert summary[waiting_at + 1] == ("log", 0, "info", reason)
    assert summary[waiting_at + 2 : waiting_at + 4] == [
        ("step", 0, "running"),
        ("log", 0, "out", "HEALTH_OK"),
    ]
    assert [line.time for line in store.log(run.id) if line.text == "HEALTH_OK"] == [T0 + 60]


def test_step_context_on_its_own_keeps_its_lines() -> None:
    ctx = StepContext(run_id=0, step_index=0, clock=VirtualClock(T0))
    ctx.log("Domain web-1 started\n\nok\n")
    ctx.log("oops", "err")
    ctx.waiting("migration 40%")
    assert ctx.lines == [
        ("out", "Domain web-1 started"),
        ("out", ""),
        ("out", "ok"),
        ("err", "oops"),
        ("info", "waiting: migration 40%"),
    ]
    with pytest.raises(ValueError, match="stream"):
        ctx.log("x", "stdout")


async def test_what_a_step_remembers_reaches_later_steps_and_a_new_process(
    store: RunStore, clock: VirtualClock
) -> None:
    seen: list[object] = []

    def build(params: Mapping[str, Any]) -> list[Step]:
        async def first(ctx: StepContext) -> None:
            ctx.remember("epoch", 7)

        async def second(ctx: StepContext) -> None:
            seen.append(ctx.recall("epoch"))
            raise RuntimeError("died")

        async def yes(ctx: StepContext) -> bool:
            return True

        return [Step("a", (), first, yes), Step("b", (), second, yes)]

    executor = RunExecutor(store, clock)
    executor.register("notes", build)
    run = executor.create("notes", "t", {}, Targets("c"))
    assert (await executor.execute(run.id)).state is RunState.FAILED
    again = RunExecutor(store, clock)  # a new process on the same store
    again.register("notes", build)
    assert (await again.execute(run.id)).state is RunState.FAILED
    assert seen == [7, 7]
    assert store.notes(run.id) == {"epoch": 7}


def test_a_step_context_on_its_own_keeps_its_notes() -> None:
    shared: dict[str, object] = {}
    StepContext(0, 0, VirtualClock(T0), notes=shared).remember("k", [1])
    assert StepContext(0, 1, VirtualClock(T0), notes=shared).recall("k") == [1]
    assert StepContext(0, 2, VirtualClock(T0)).recall("k") is None
