"""A table of runs (History), newest first by default."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

from mvm_tui.runs import RunRecord, RunState
from mvm_tui.widgets import format as fmt
from mvm_tui.widgets.resource_table import Column, ResourceTable, Row

RUN_STATE_STYLE = {
    RunState.PENDING: "dim",
    RunState.RUNNING: "bold cyan",
    RunState.DONE: "green",
    RunState.FAILED: "bold red",
    RunState.INTERRUPTED: "yellow",
    RunState.CANCELLED: "yellow",
}

RUN_COLUMNS = (
    Column("id", "#", 5, "right"),
    Column("time", "Started", 19),
    Column("title", "Run", 0),
    Column("target", "On", 14),
    Column("state", "State", 11),
    Column("duration", "Took", 8, "right"),
)


def run_target(run: RunRecord) -> str:
    return run.targets.vm or run.targets.host or run.targets.cluster


def run_row(run: RunRecord) -> Row:
    start = run.started or run.created
    took = (run.ended - start) if run.ended is not None else None
    return Row(
        key=str(run.id),
        cells=(
            str(run.id),
            fmt.date_time(start),
            run.title,
            run_target(run),
            Text("unreadable", style="bold red") if run.unreadable else
            Text(run.state.value, style=RUN_STATE_STYLE[run.state]),
            fmt.duration(took),
        ),
        sort_values=(run.id, start, run.title, run_target(run),
                     "unreadable" if run.unreadable else run.state.value, took),
    )


class RunsTable(ResourceTable):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(RUN_COLUMNS, sort_by="id", id=id)
        self.sort_reverse = True

    def show(self, runs: Iterable[RunRecord]) -> None:
        self.set_rows([run_row(run) for run in runs])
