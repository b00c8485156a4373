"""The executor: runs a Run's steps in order, records everything, resumes after a crash.

Executing a step: RUNNING, action, then check. check True -> DONE; False or an exception ->
FAILED, and the run stops FAILED with that step's error. Executing a run again (retry, or
resume after recover()) starts from the top: steps recorded DONE are re-checked, and redone
only if their effect is no longer in place; a step caught RUNNING/WAITING is checked first and
its action run only if its effect is not in place; the failed step is run again. A step that
raises RunCancelled (the operator called the run off) ends CANCELLED, and so does the run:
finished, with the step's message as its error; it is never resumed.

Every state change and log line is written to the store, then sent to the subscribers, in
order, synchronously from the task that executes the run.

A run has one owner (runs.owner): the executor that creates or executes it. Another process's
executor never executes, recovers or resumes it while that owner lives; when the owner dies,
the first executor to claim it (one store transaction) gets it, exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from mvm_tui.clock import Clock
from mvm_tui.runs.damage import RunsRefused
from mvm_tui.runs.model import (
    LogAppended,
    RunAlreadyRunning,
    RunBuilder,
    RunCancelled,
    RunChanged,
    RunEvent,
    RunOwnedElsewhere,
    RunOwner,
    RunRecord,
    RunState,
    RunStepsMismatch,
    RunUnreadable,
    Step,
    StepRecord,
    StepState,
    Targets,
    UnknownRunKind,
)
from mvm_tui.runs.owner import Owner, owners_dir
from mvm_tui.runs.rows import KEEP, Keep
from mvm_tui.runs.step_run import CANCELLED, error_message, execute_step
from mvm_tui.runs.store import RunStore
from mvm_tui.units import count

logger = logging.getLogger(__name__)

PROCESS_DIED = "the process running it stopped before it finished"


class RunExecutor:
    """Creates, executes, resumes runs; tells subscribers about every change."""

    def __init__(self, store: RunStore, clock: Clock, owner: Owner | None = None, *,
                 refusal: str | None = None) -> None:
        """`refusal`: why this process records no runs (its run store cannot be used): then
        it creates and executes none, each refused with RunsRefused, and owns nothing."""
        self.store = store
        self.clock = clock
        self.refusal = refusal
        self._owner = owner if owner is not None or refusal is not None else \
            Owner(owners_dir(store.path))
        self._builders: dict[str, RunBuilder] = {}
        self._subscribers: list[Callable[[RunEvent], None]] = []
        self._executing: set[int] = set()

    @property
    def owner(self) -> Owner:
        """This process's claim on the runs it executes."""
        self.refuse()
        assert self._owner is not None
        return self._owner

    def refuse(self) -> None:
        """Raise RunsRefused when this process records no runs (see __init__)."""
        if self.refusal is not None:
            raise RunsRefused(self.refusal)

    # -- registry ------------------------------------------------------------------------------

    def register(self, kind: str, builder: RunBuilder) -> None:
        """Register (or replace) the builder of a run kind."""
        self._builders[kind] = builder

    def is_registered(self, kind: str) -> bool:
        return kind in self._builders

    def _builder(self, kind: str) -> RunBuilder:
        try:
            return self._builders[kind]
        except KeyError:
            raise UnknownRunKind(kind) from None

    def preview(self, kind: str, params: Mapping[str, Any]) -> list[Step]:
        """The steps a run of this kind would have, without persisting anything."""
        return list(self._builder(kind)(params))

    def create(
        self, kind: str, title: str, params: Mapping[str, Any], targets: Targets
    ) -> RunRecord:
        """Persist a new PENDING run (and its steps); execute() it to run it."""
        self.refuse()
        steps = self.preview(kind, params)
        run = self.store.create_run(kind, title, params, targets, steps, created=self.clock.now(),
                                    owner=self.owner.info)
        self._emit(RunChanged(run))
        return run

    # -- subscribers ---------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[RunEvent], None]) -> Callable[[], None]:
        """Call `callback` with every RunEvent; returns the function that unsubscribes it."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, event: RunEvent) -> None:
        for callback in tuple(self._subscribers):
            try:
                callback(event)
            except Exception:
                logger.exception("a run event subscriber failed on %s", type(event).__name__)

    def _set_run(
        self,
        run_id: int,
        state: RunState,
        *,
        started: float | Keep | None = KEEP,
        ended: float | Keep | None = KEEP,
        error: str | Keep | None = KEEP,
    ) -> RunRecord:
        run = self.store.set_run_state(run_id, state, started=started, ended=ended, error=error)
        self._emit(RunChanged(run))
        return run

    def _log(self, run_id: int, step_index: int | None, stream: str, text: str) -> None:
        for line in text.splitlines() or [""]:
            record = self.store.append_log(run_id, step_index, self.clock.now(), stream, line)
            self._emit(LogAppended(record))

    # -- execution -----------------------------------------------------------------------------

    def is_executing(self, run_id: int) -> bool:
        """Whether this executor is executing the run right now."""
        return run_id in self._executing

    def executing(self) -> list[RunRecord]:
        """The runs this executor is executing now (what quitting would interrupt)."""
        return [self.store.get_run(run_id) for run_id in sorted(self._executing)]

    def resumable(self) -> list[RunRecord]:
        """Unfinished runs this process may execute now (oldest first): none executing here,
        none another live process owns; a dead process's RUNNING run is among them."""
        return [r for r in self.store.unfinished()
                if r.id not in self._executing and self.owned_elsewhere(r) is None]

    def owned_elsewhere(self, run: RunRecord) -> RunOwner | None:
        """The live process, other than this one, that owns the run; None if there is none."""
        owner = run.owner
        if owner is None or self.refusal is not None or owner.token == self.owner.info.token:
            return None
        return owner if self.owner.is_alive(owner.token) else None

    async def execute(self, run_id: int) -> RunRecord:
        """Run (or retry, or resume) a run; returns its final record.

        A DONE run is returned as it is. Raises UnknownRunKind if its kind is not registered,
        RunAlreadyRunning if this executor executes it already, RunOwnedElsewhere if another
        live process owns it, RunStepsMismatch if its builder now builds a different number
        of steps. A run left RUNNING by a process that died is resumed. Cancelled, the run
        becomes INTERRUPTED and CancelledError is raised again.
        """
        self.refuse()
        if run_id in self._executing:
            raise RunAlreadyRunning(run_id)
        stored = self.store.get_run(run_id)
        if stored.unreadable is not None:
            raise RunUnreadable(run_id, stored.unreadable)
        builder = self._builder(stored.kind)
        run = self.store.claim(run_id, self.owner.info, self.owner.is_alive)
        self._executing.add(run_id)  # no await since the claim: no race in this process
        try:
            if run.state is not RunState.DONE:
                await self._execute_claimed(run, builder)
        finally:
            self._executing.discard(run_id)
            self._release(run_id)
        return self.store.get_run(run_id)

    async def _execute_claimed(self, run: RunRecord, builder: RunBuilder) -> None:
        records = self.store.steps(run.id)
        steps = list(builder(run.params))
        if len(steps) != len(records):
            raise RunStepsMismatch(
                f"run {run.id} ({run.kind}) was created with {count(len(records), 'step')} "
                f"but its builder now builds {len(steps)}; it cannot be resumed"
            )
        if run.state is RunState.RUNNING:  # its process died
            run = self._orphaned(run.id)
        await self._execute(run, steps, records)

    def _release(self, run_id: int) -> None:
        try:
            self.store.release(run_id, self.owner.info)
        except Exception:
            logger.exception("could not release run %d", run_id)

    def _orphaned(self, run_id: int) -> RunRecord:
        self._log(run_id, None, "info", f"run interrupted: {PROCESS_DIED}")
        return self._set_run(run_id, RunState.INTERRUPTED, error=PROCESS_DIED)

    async def _execute(
        self, run: RunRecord, steps: list[Step], records: list[StepRecord]
    ) -> RunRecord:
        total = len(steps)
        resumed = run.state is not RunState.PENDING or any(
            r.state is not StepState.PENDING for r in records
        )
        now = self.clock.now()
        self._set_run(
            run.id,
            RunState.RUNNING,
            started=now if run.started is None else KEEP,
            ended=None,
            error=None,
        )
        self._log(run.id, None, "info", f"run {'resumed' if resumed else 'started'}: {run.title}")
        try:
            for index, (step, record) in enumerate(zip(steps, records, strict=True)):
                error = await execute_step(self, run.id, index, total, step, record.state)
                if error is not None:
                    self._log(run.id, None, "err", f"run failed at step {index + 1}/{total}")
                    return self._set_run(
                        run.id, RunState.FAILED, ended=self.clock.now(), error=error
                    )
            self._log(run.id, None, "info", "run done")
            return self._set_run(run.id, RunState.DONE, ended=self.clock.now(), error=None)
        except RunCancelled as exc:
            reason = error_message(exc)
            self._log(run.id, None, "info", f"run cancelled: {reason}")
            return self._set_run(run.id, RunState.CANCELLED, ended=self.clock.now(),
                                 error=reason)
        except asyncio.CancelledError:
            self._interrupt(run.id, CANCELLED)
            raise
        except BaseException as exc:
            self._interrupt(run.id, error_message(exc))
            raise

    def _interrupt(self, run_id: int, reason: str) -> None:
        """Best effort: the run is INTERRUPTED (resumable); its current step keeps its state."""
        try:
            self._log(run_id, None, "info", f"run interrupted: {reason}")
            self._set_run(run_id, RunState.INTERRUPTED, error=reason)
        except Exception:
            logger.exception("could not record that run %d was interrupted", run_id)


    # -- start-up ------------------------------------------------------------------------------

    def recover(self) -> list[RunRecord]:
        """At start-up: runs left RUNNING by a process that died become INTERRUPTED.

        A run whose owner lives (another mvm-tui executing it) is left alone. Their
        RUNNING/WAITING step keeps its state, to be re-checked when the run is resumed.
        Returns the runs it changed.
        """
        recovered: list[RunRecord] = []
        if self.refusal is not None:
            return recovered
        for run in self.store.unfinished():
            if run.state is not RunState.RUNNING or run.id in self._executing:
                continue
            try:
                claimed = self.store.claim(run.id, self.owner.info, self.owner.is_alive)
            except RunOwnedElsewhere:
                continue
            try:
                if claimed.state is RunState.RUNNING:  # nobody recovered it meanwhile
                    recovered.append(self._orphaned(run.id))
            finally:
                self._release(run.id)
        return recovered

    async def resume_unfinished(self) -> list[RunRecord]:
        """Execute every unfinished run whose kind is registered, oldest first, one at a time.

        Skipped (left unfinished): runs of unregistered kinds, runs executing already here or
        owned by another live process, runs that cannot be rebuilt. Returns the final
        records of the runs it executed.
        """
        results: list[RunRecord] = []
        for run in self.store.unfinished():
            if run.id in self._executing:
                continue
            if run.kind not in self._builders:
                logger.warning("not resuming run %d: unknown run kind %r", run.id, run.kind)
                continue
            try:
                results.append(await self.execute(run.id))
            except RunOwnedElsewhere as exc:
                logger.info("not resuming run %d: %s", run.id, exc)
            except Exception as exc:
                logger.warning("could not resume run %d: %s", run.id, error_message(exc))
        return results

    def close(self) -> None:
        """This executor stops owning runs (the process is ending)."""
        if self._owner is not None:
            self._owner.close()
