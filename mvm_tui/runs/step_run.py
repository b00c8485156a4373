"""Executing one step of a run: RUNNING, its action, then its check (see runs.executor), or
re-checking a step done or interrupted before; every change recorded through the executor."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from mvm_tui.clock import Clock
from mvm_tui.runs.model import (
    ProgressChanged,
    RunCancelled,
    RunEvent,
    Step,
    StepChanged,
    StepContext,
    StepRecord,
    StepState,
)
from mvm_tui.runs.rows import KEEP, Keep
from mvm_tui.runs.store import RunStore

logger = logging.getLogger(__name__)

CHECK_FAILED = "the step ran but its effect is not in place (check failed)"
CANCELLED = "cancelled"


class Recorder(Protocol):
    """What a step's execution records through (runs.executor.RunExecutor)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def store(self) -> RunStore: ...

    def _emit(self, event: RunEvent) -> None: ...

    def _log(self, run_id: int, step_index: int | None, stream: str, text: str) -> None: ...


def error_message(exc: BaseException) -> str:
    """What the store and the log say about an exception: its message, never a traceback."""
    return str(exc) or type(exc).__name__


class StepRun:
    """One step being executed (or re-checked): tracks its state for StepContext callbacks."""

    def __init__(self, executor: Recorder, run_id: int, index: int, state: StepState) -> None:
        self._executor = executor
        self.run_id = run_id
        self.index = index
        self.state = state
        self.live = True  # False once the step has ended: late log lines change no state
        self.ctx = StepContext(
            run_id, index, executor.clock, on_log=self._on_log, on_waiting=self._on_waiting,
            on_progress=self._on_progress, notes=executor.store.notes(run_id),
            on_note=lambda key, value: executor.store.set_note(run_id, key, value),
        )

    def set(
        self,
        state: StepState,
        *,
        started: float | Keep | None = KEEP,
        ended: float | Keep | None = KEEP,
        error: str | Keep | None = KEEP,
    ) -> StepRecord:
        self.state = state
        record = self._executor.store.set_step_state(
            self.run_id, self.index, state, started=started, ended=ended, error=error
        )
        self._executor._emit(StepChanged(record))
        return record

    def back_to_running(self) -> None:
        if self.live and self.state is StepState.WAITING:
            self.set(StepState.RUNNING)

    def end(self, state: StepState, error: str | None = None) -> None:
        self.set(state, ended=self._executor.clock.now(), error=error)
        self.live = False

    def log(self, stream: str, text: str) -> None:
        self._executor._log(self.run_id, self.index, stream, text)

    def _on_log(self, stream: str, line: str) -> None:
        self.back_to_running()
        self.log(stream, line)

    def _on_progress(self, fraction: float, detail: str) -> None:
        if self.live:
            self._executor._emit(ProgressChanged(self.run_id, self.index, fraction, detail))

    def _on_waiting(self, reason: str) -> None:
        if self.live and self.state is StepState.RUNNING:
            self.set(StepState.WAITING)
        self.log("info", f"waiting: {reason}")



async def execute_step(
    executor: Recorder, run_id: int, index: int, total: int, step: Step, state: StepState
) -> str | None:
    """Execute, re-check or skip one step; returns its error if it failed."""
    if state is StepState.SKIPPED:
        return None
    current = StepRun(executor, run_id, index, state)
    label = f"step {index + 1}/{total}: {step.title}"
    try:
        if state is StepState.DONE:
            if await step.check(current.ctx):
                current.log("info", f"{label}: re-checked: still in effect")
                return None
            current.log("info", f"{label}: re-checked: no longer in effect; running it again")
        elif state in (StepState.RUNNING, StepState.WAITING):
            current.log(
                "info", f"{label}: was interrupted; checking whether its effect is in place"
            )
            if await step.check(current.ctx):
                current.log("info", f"{label}: re-checked: in effect; not running it again")
                current.end(StepState.DONE)
                return None
            current.log("info", f"{label}: re-checked: not in effect; running it")
        else:
            current.log("info", label)
        current.set(StepState.RUNNING, started=executor.clock.now(), ended=None, error=None)
        await step.action(current.ctx)
        current.back_to_running()
        if await step.check(current.ctx):
            current.log("info", f"step {index + 1}/{total} done")
            current.end(StepState.DONE)
            return None
        error = CHECK_FAILED
    except RunCancelled as exc:
        current.log("info", f"step {index + 1}/{total} cancelled: {error_message(exc)}")
        current.end(StepState.CANCELLED, error_message(exc))
        raise
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is None or task.cancelling():
            raise  # this task is being cancelled: the run is interrupted, not failed
        error = CANCELLED  # something the step awaited was cancelled: the step failed
    except Exception as exc:
        logger.debug("run %d step %d failed", run_id, index, exc_info=True)
        error = error_message(exc)
    current.log("err", f"step {index + 1}/{total} failed: {error}")
    current.end(StepState.FAILED, error)
    return error
