"""Following, read-only, a run that another process executes: its log and steps as the owner
writes them to the store, until the run ends or its owner dies."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from mvm_tui.runs.executor import RunExecutor
from mvm_tui.runs.model import LogLine, RunOwner, RunRecord, StepRecord

FOLLOW_INTERVAL = 0.5  # seconds between two reads of the store


class Follower:
    """Reads what is new about one run each time it is polled; the owner writes, it reads."""

    def __init__(self, executor: RunExecutor, run_id: int, read_lines: int = 0) -> None:
        self.executor, self.run_id = executor, run_id
        self.read_lines = read_lines  # log lines already shown
        self._steps: list[StepRecord] = []

    def poll(self) -> tuple[list[LogLine], list[StepRecord]]:
        """The log lines written since the last poll, and the steps whose record changed."""
        store = self.executor.store
        lines = store.log(self.run_id, skip=self.read_lines)
        self.read_lines += len(lines)
        steps = store.steps(self.run_id)
        changed = [s for s in steps if s not in self._steps]
        self._steps = steps
        return lines, changed

    def owner_elsewhere(self) -> RunOwner | None:
        """The live process, other than this one, executing the unfinished run."""
        run = self.executor.store.get_run(self.run_id)
        return None if run.finished else self.executor.owned_elsewhere(run)


async def follow(
    executor: RunExecutor,
    run_id: int,
    on_line: Callable[[LogLine], None],
    on_step: Callable[[StepRecord], None],
    on_owner: Callable[[RunOwner], None],
    interval: float = FOLLOW_INTERVAL,
) -> RunRecord:
    """Show what the owner of the run does (and who it is, again when another process takes
    the run over) until the run has ended or its owner has died: then the run is resumable,
    and RunExecutor.execute claims it, exactly once."""
    follower = Follower(executor, run_id)
    shown: RunOwner | None = None
    while True:
        owner = follower.owner_elsewhere()  # before the read: its last lines are shown
        if owner is not None and owner != shown:
            on_owner(owner)
            shown = owner
        lines, steps = follower.poll()
        for line in lines:
            on_line(line)
        for step in steps:
            on_step(step)
        if owner is None:
            return executor.store.get_run(run_id)
        await asyncio.sleep(interval)
