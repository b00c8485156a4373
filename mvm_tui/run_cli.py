"""A run from the command line: its steps with every command before, its log on stdout while it
runs (`decommission`, `vm create`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from mvm_tui.runs import (
    LogAppended,
    LogLine,
    RunChanged,
    RunEvent,
    RunOwnedElsewhere,
    RunOwner,
    RunState,
    Step,
    StepChanged,
    StepRecord,
)
from mvm_tui.runs.follow import follow
from mvm_tui.session import Session


def print_steps(steps: Sequence[Step], out: TextIO) -> None:
    print("steps:", file=out)
    for i, step in enumerate(steps, 1):
        print(f"  {i:2}. {step.title}", file=out)
        for text in step.preview:
            lines = text.splitlines()
            if len(lines) == 1:  # a command
                print(f"        $ {text}", file=out)
            else:  # what a command is given: a file's text, the domain XML
                print("\n".join(f"          {line}" for line in lines), file=out)


async def execute_printing(session: Session, run_id: int, out: TextIO) -> int:
    """Execute the run here; while another live process owns it, show what that process does
    (read-only), and resume it here only if that process dies before the run ends."""
    def step(s: StepRecord) -> None:
        print(f"[{s.state.value}] {s.index + 1}. {s.title}" + (f": {s.error}" if s.error else ""),
              file=out, flush=True)

    def line(text: LogLine) -> None:
        print(f"    {text.text}", file=out, flush=True)

    def owner(who: RunOwner) -> None:
        print(f"run #{run_id} is running in {who}: shown here read-only; it is resumed here "
              "only if that process stops first", file=out, flush=True)

    followed = False

    def show(event: RunEvent) -> None:
        if isinstance(event, RunChanged) and event.run.id == run_id and followed and \
                event.run.state is RunState.RUNNING:
            print(f"run #{run_id}: the process running it stopped; resumed here (every step "
                  "re-checks the cluster first)", file=out, flush=True)
        elif isinstance(event, StepChanged) and event.step.run_id == run_id:
            step(event.step)
        elif isinstance(event, LogAppended) and event.line.run_id == run_id:
            line(event.line)

    while True:
        unsubscribe = session.executor.subscribe(show)
        try:
            record = await session.executor.execute(run_id)
            break
        except RunOwnedElsewhere:
            pass
        finally:
            unsubscribe()
        record = await follow(session.executor, run_id, line, step, owner)
        if record.finished:
            break
        followed = True
    print(f"run #{run_id}: {record.state.value}" + (f": {record.error}" if record.error else ""),
          file=out)
    return 0 if record.state is RunState.DONE else 1
