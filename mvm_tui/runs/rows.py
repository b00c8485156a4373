"""Between the run store's SQLite rows and the records: runs and steps read from rows (one
that cannot be read is marked, never raised), and the columns an update sets."""

from __future__ import annotations

from enum import Enum
from typing import Any

from mvm_tui.runs.damage import read_json
from mvm_tui.runs.model import RunOwner, RunRecord, RunState, StepRecord, StepState, Targets


class Keep(Enum):
    """Sentinel: leave this column as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


def run_from_row(row: tuple[Any, ...]) -> RunRecord:
    """The run of a row; a row that cannot be read is a run marked `unreadable`."""
    unreadable: list[str] = []
    params = read_json(row[3], dict, "its parameters", unreadable)
    try:
        state = RunState(row[7])
    except ValueError:
        unreadable.append(f"its state {row[7]!r} is unknown")
        state = RunState.FAILED
    return RunRecord(
        id=row[0],
        kind=row[1],
        title=row[2],
        params=params or {},
        targets=Targets(cluster=row[4], host=row[5], vm=row[6]),
        state=state,
        created=row[8],
        started=row[9],
        ended=row[10],
        error=row[11],
        owner=None if row[12] is None else RunOwner(row[12], row[13], row[14]),
        unreadable="; ".join(unreadable) or None,
    )


def step_from_row(row: tuple[Any, ...]) -> StepRecord:
    unreadable: list[str] = []
    preview = read_json(row[3], list, "its commands", unreadable)
    return StepRecord(
        run_id=row[0],
        index=row[1],
        title=row[2],
        preview=tuple(str(c) for c in preview) if preview is not None
        else (f"({unreadable[0]})",),
        state=StepState(row[4]),
        started=row[5],
        ended=row[6],
        error=row[7],
    )


def column_updates(**columns: object) -> tuple[str, list[object]]:
    """An UPDATE's SET clause and its values: the columns not left to KEEP."""
    sets: list[str] = []
    values: list[object] = []
    for name, value in columns.items():
        if value is not KEEP:
            sets.append(f"{name} = ?")
            values.append(value.value if isinstance(value, Enum) else value)
    return ", ".join(sets), values
