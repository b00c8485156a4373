"""Resume after a real crash: a child process is SIGKILLed in the middle of a run.

Run as a script, this file is the child: it executes a three-step run whose step 2 prints a
marker and blocks on stdin (while a "block" file exists). Actions and checks append to a calls
file so the test sees, across both processes, what ran.
"""

from __future__ import annotations

import asyncio
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mvm_tui.clock import VirtualClock
from mvm_tui.runs import (
    RunExecutor,
    RunState,
    RunStore,
    Step,
    StepContext,
    StepState,
    Targets,
)

KIND = "test.crash"
MARKER = "STEP-2-BLOCKING"
TIMEOUT = 60.0  # real seconds before the test gives up on the child: only hit when broken
T0 = 1_767_225_600.0


def _record(directory: Path, call: str) -> None:
    with (directory / "calls.txt").open("a") as f:
        f.write(call + "\n")


def build_crash_steps(params: Mapping[str, Any]) -> list[Step]:
    directory = Path(params["dir"])

    def step(n: int) -> Step:
        async def action(ctx: StepContext) -> None:
            _record(directory, f"action{n}")
            ctx.log(f"step {n} working")
            if n == 2 and (directory / "block").exists():
                print(MARKER, flush=True)
                await asyncio.to_thread(sys.stdin.readline)  # until the test kills us
            (directory / f"effect{n}").touch()

        async def check(ctx: StepContext) -> bool:
            _record(directory, f"check{n}")
            return (directory / f"effect{n}").exists()

        return Step(f"step {n}", (f"touch effect{n}",), action, check)

    return [step(1), step(2), step(3)]


def _child(db: Path, directory: Path) -> None:
    async def main() -> None:
        store = RunStore(db)
        executor = RunExecutor(store, VirtualClock(T0))
        executor.register(KIND, build_crash_steps)
        run = executor.create(KIND, "crash me", {"dir": str(directory)}, Targets("lab", "hv1"))
        await executor.execute(run.id)

    asyncio.run(main())


def _calls(directory: Path) -> list[str]:
    return (directory / "calls.txt").read_text().splitlines()


def test_resume_after_the_process_was_killed(tmp_path: Path) -> None:
    db = tmp_path / "state" / "runs.db"
    effects = tmp_path / "effects"
    effects.mkdir()
    (effects / "block").touch()

    child = subprocess.Popen(
        [sys.executable, __file__, str(db), str(effects)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=TIMEOUT)
            assert line is not None, f"the child exited early: {child.communicate()[1]}"
            if line == MARKER:
                break
    finally:
        child.kill()
        child.wait(timeout=TIMEOUT)
        for pipe in (child.stdin, child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()
    assert child.returncode == -signal.SIGKILL

    assert _calls(effects) == ["action1", "check1", "action2"]
    (effects / "block").unlink()

    store = RunStore(db)
    try:
        (run,) = store.list_runs()
        assert run.state is RunState.RUNNING  # what the dead process left
        assert [s.state for s in store.steps(run.id)] == [
            StepState.DONE,
            StepState.RUNNING,
            StepState.PENDING,
        ]
        assert "step 2 working" in [line.text for line in store.log(run.id)]

        executor = RunExecutor(store, VirtualClock(T0 + 3600))
        executor.register(KIND, build_crash_steps)
        assert [r.id for r in executor.recover()] == [run.id]
        assert store.get_run(run.id).state is RunState.INTERRUPTED

        resumed = asyncio.run(executor.resume_unfinished())

        assert [(r.id, r.state) for r in resumed] == [(run.id, RunState.DONE)]
        # step 1 re-checked, not redone; step 2 checked, then run; step 3 run
        assert _calls(effects)[3:] == [
            "check1",
            "check2",
            "action2",
            "check2",
            "action3",
            "check3",
        ]
        assert [s.state for s in store.steps(run.id)] == [StepState.DONE] * 3
        final = store.get_run(run.id)
        assert (final.started, final.ended) == (T0, T0 + 3600)
        assert store.unfinished() == []
    finally:
        store.close()


if __name__ == "__main__":
    _child(Path(sys.argv[1]), Path(sys.argv[2]))
