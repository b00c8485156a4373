"""Runs and Steps: the types every cluster-changing operation is made of.

A Run is an ordered list of Steps. A Step knows what it will do (its preview), how to do it
(its action) and how to tell whether its effect is in place (its check), so a run that was
interrupted can be resumed by re-checking instead of redoing.

Nothing here imports textual: the UI subscribes to RunEvents.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias

from mvm_tui.clock import Clock

STREAMS = ("out", "err", "info")
"""Log streams: a command's stdout, its stderr, and the executor's own narration."""


class StepState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"  # running, but waiting on the cluster (e.g. a Ceph rebalance)
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"  # the operator stopped it (RunCancelled); its run ends CANCELLED


class RunState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # the process died or was cancelled while it ran; resumable
    CANCELLED = "cancelled"  # the operator called it off (a step raised RunCancelled); final


UNFINISHED_RUN_STATES = frozenset({RunState.PENDING, RunState.RUNNING, RunState.INTERRUPTED})


class RunError(Exception):
    """Base class of the errors the run store and executor raise."""


class RunCancelled(Exception):
    """Raised by a step's action or check when the operator called the run off: the step
    ends CANCELLED, the run ends CANCELLED (finished, not resumable, nothing retried), and the
    message, which says what was left as it is, becomes the run's `error`."""


class RunNotFound(RunError, LookupError):
    def __init__(self, run_id: int) -> None:
        super().__init__(f"no run with id {run_id}")
        self.run_id = run_id


class UnknownRunKind(RunError, LookupError):
    def __init__(self, kind: str) -> None:
        super().__init__(
            f"unknown run kind {kind!r}: no builder is registered for it "
            "(was it created by another version of mvm-tui?)"
        )
        self.kind = kind


class RunAlreadyRunning(RunError):
    def __init__(self, run_id: int, detail: str = "it is already being executed") -> None:
        super().__init__(f"run {run_id} cannot be executed now: {detail}")
        self.run_id = run_id


@dataclass(frozen=True, slots=True)
class RunOwner:
    """The process executing a run (see runs.owner): its lock token, pid and jump box."""

    token: str
    pid: int
    host: str

    def __str__(self) -> str:
        return f"process {self.pid} on {self.host}"


class RunOwnedElsewhere(RunAlreadyRunning):
    """Another live process executes (or created and will execute) the run."""

    def __init__(self, run_id: int, owner: RunOwner) -> None:
        super().__init__(run_id, f"it is running in {owner}")
        self.owner = owner


class RunUnreadable(RunError):
    """The stored run cannot be read (RunRecord.unreadable): it cannot be executed."""

    def __init__(self, run_id: int, reason: str) -> None:
        super().__init__(f"run {run_id} cannot be retried or resumed: {reason}; it stays in "
                         "History as it is")
        self.run_id = run_id


class RunStepsMismatch(RunError):
    """The builder no longer produces the steps the run was created with."""


@dataclass(frozen=True, slots=True)
class Targets:
    """What a run is about, for History filtering."""

    cluster: str
    host: str | None = None
    vm: str | None = None


class StepContext:
    """Given to a step's action and check: where to write output, and the clock.

    The executor wires `log` and `waiting` to the store and the subscribers. Built without
    callbacks (e.g. to unit-test one step), it keeps what was logged in `lines`.
    """

    def __init__(
        self,
        run_id: int,
        step_index: int,
        clock: Clock,
        on_log: Callable[[str, str], None] | None = None,
        on_waiting: Callable[[str], None] | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        notes: dict[str, Any] | None = None,
        on_note: Callable[[str, Any], None] | None = None,
    ) -> None:
        self.run_id = run_id
        self.step_index = step_index
        self.clock = clock
        self.lines: list[tuple[str, str]] = []  # (stream, text), only without on_log
        self._on_log = on_log
        self._on_waiting = on_waiting
        self._on_progress = on_progress
        self.progress_seen: list[tuple[float, str]] = []  # only without on_progress
        self.notes: dict[str, Any] = {} if notes is None else notes
        self._on_note = on_note

    def remember(self, key: str, value: Any) -> None:
        """Keep a JSON-able value for this run's later steps and for a resume (the executor
        persists it with the run)."""
        if self._on_note is not None:
            self._on_note(key, value)
        self.notes[key] = value

    def recall(self, key: str) -> Any:
        """What a step of this run remembered under `key`, or None."""
        return self.notes.get(key)

    def log(self, text: str, stream: str = "out") -> None:
        """Append output to the run's log; a multi-line text becomes several lines."""
        if stream not in STREAMS:
            raise ValueError(f"unknown log stream {stream!r} (expected one of {STREAMS})")
        for line in text.splitlines() or [""]:
            if self._on_log is not None:
                self._on_log(stream, line)
            else:
                self.lines.append((stream, line))

    def progress(self, fraction: float, detail: str) -> None:
        """How far the step is (0-1) and what it is doing, for a progress bar: sent to whoever
        watches, not stored (log the lines worth keeping)."""
        fraction = min(max(fraction, 0.0), 1.0)
        if self._on_progress is not None:
            self._on_progress(fraction, detail)
        else:
            self.progress_seen.append((fraction, detail))

    def waiting(self, reason: str) -> None:
        """Mark the step WAITING on the cluster; it is RUNNING again at the next log line."""
        if self._on_waiting is not None:
            self._on_waiting(reason)
        else:
            self.lines.append(("info", f"waiting: {reason}"))


@dataclass(frozen=True, slots=True)
class Step:
    title: str
    preview: tuple[str, ...]  # what it will do: the exact remote commands where there are any
    action: Callable[[StepContext], Awaitable[None]] = field(compare=False)
    check: Callable[[StepContext], Awaitable[bool]] = field(compare=False)


RunBuilder: TypeAlias = Callable[[Mapping[str, Any]], Sequence[Step]]
"""Builds a run's steps from its JSON-able params; registered per run kind."""


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: int
    kind: str
    title: str
    params: dict[str, Any]
    targets: Targets
    state: RunState
    created: float
    started: float | None
    ended: float | None
    error: str | None
    owner: RunOwner | None = None  # the process executing it, or that created it
    # why the stored run cannot be read (bad JSON in its params, an unknown state): it is
    # shown as it is, never retried, resumed or changed (params is then empty)
    unreadable: str | None = None

    @property
    def finished(self) -> bool:
        return self.state not in UNFINISHED_RUN_STATES


@dataclass(frozen=True, slots=True)
class StepRecord:
    run_id: int
    index: int  # 0-based
    title: str
    preview: tuple[str, ...]
    state: StepState
    started: float | None
    ended: float | None
    error: str | None


@dataclass(frozen=True, slots=True)
class LogLine:
    run_id: int
    step_index: int | None  # None: a line about the run as a whole
    time: float
    stream: str  # "out", "err" or "info"
    text: str


@dataclass(frozen=True, slots=True)
class RunChanged:
    run: RunRecord


@dataclass(frozen=True, slots=True)
class StepChanged:
    step: StepRecord


@dataclass(frozen=True, slots=True)
class LogAppended:
    line: LogLine


@dataclass(frozen=True, slots=True)
class ProgressChanged:
    run_id: int
    step_index: int
    fraction: float  # 0-1
    detail: str


RunEvent: TypeAlias = RunChanged | StepChanged | LogAppended | ProgressChanged
