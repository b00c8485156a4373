"""Provisioning as it happens: a pane per Run of the cluster started after the screen opened
(one per host, then Ceph), each with its current step, a progress bar for that step and the
tail of its live log. `enter` opens the focused run in full (retry, pause)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Header, ProgressBar, RichLog, Static

from mvm_tui.runs import (
    LogAppended,
    ProgressChanged,
    RunChanged,
    RunEvent,
    RunRecord,
    StepChanged,
    StepState,
)
from mvm_tui.screens.base import ClusterScreen
from mvm_tui.screens.run_detail import STEP_MARK, STREAM_STYLE, RunDetailScreen
from mvm_tui.widgets.footer import SteadyFooter
from mvm_tui.widgets.literal import literal
from mvm_tui.widgets.runs_table import RUN_STATE_STYLE

LOG_LINES = 500  # per pane; the whole log is in the run's own screen


class RunPane(Vertical, can_focus=True):
    """One run: title and state, its current step, that step's progress, its log's tail."""

    def __init__(self, run: RunRecord, on_ready: Callable[[RunPane], None]) -> None:
        super().__init__(id=f"pane-{run.id}", classes="run-pane")
        self.run_id = run.id
        self.border_title = literal(f"#{run.id} {run.title}")
        self.ready = False  # until mounted, events are not shown: on_ready reads the store
        self._on_ready = on_ready

    def on_mount(self) -> None:
        self.ready = True
        self._on_ready(self)

    def compose(self) -> ComposeResult:
        yield Static(classes="pane-step")
        yield ProgressBar(total=100, show_eta=False)
        yield RichLog(wrap=True, markup=False, max_lines=LOG_LINES)

    def show(self, run: RunRecord, step: str) -> None:
        self.border_subtitle = run.state.value
        self.set_class(run.finished, "-finished")
        text = Text.assemble((run.state.value, RUN_STATE_STYLE[run.state]), "  ", step)
        if run.error:
            text.append(f"\n{run.error}", style="red")
        self.query_one(".pane-step", Static).update(text)

    def progress(self, fraction: float) -> None:
        self.query_one(ProgressBar).update(progress=round(fraction * 100, 1))

    def write(self, text: str, stream: str) -> None:
        self.query_one(RichLog).write(Text(text, style=STREAM_STYLE.get(stream, "")))


class ProvisioningScreen(ClusterScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="provisioning.back"),
        Binding("enter", "open", "Open run", id="provisioning.open"),
    ]

    def __init__(self, cluster: str, after_run: int) -> None:
        """Shows the runs of `cluster` whose id is above `after_run`."""
        super().__init__()
        self.cluster_name, self.after_run = cluster, after_run
        self._unsubscribe: Callable[[], None] = lambda: None
        self._progress: dict[int, float] = {}  # per run: not stored, kept for panes to come
        self._step: dict[int, int] = {}  # per run, the step its progress is about

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(literal(f"Provisioning {self.cluster_name}: a pane per run, as it happens "
                             "(enter: the whole run)"), id="provisioning-head")
        yield VerticalScroll(id="provisioning-panes")
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.sub_title = f"provisioning {self.cluster_name}"
        self._unsubscribe = self.executor.subscribe(self._on_run_event)
        for run in reversed(self.executor.store.list_runs(cluster=self.cluster_name)):
            if self._mine(run):  # created before the screen was mounted
                self._add(run)

    def on_unmount(self) -> None:
        self._unsubscribe()

    def panes(self) -> list[RunPane]:
        """The panes shown, oldest run first."""
        return sorted((p for p in self.query(RunPane) if p.ready), key=lambda p: p.run_id)

    def _mine(self, run: RunRecord) -> bool:
        return run.id > self.after_run and run.targets.cluster == self.cluster_name

    def _pane(self, run_id: int) -> RunPane | None:
        """The run's pane once it shows (None before it is mounted)."""
        return next((p for p in self.query(RunPane) if p.run_id == run_id and p.ready), None)

    def _add(self, run: RunRecord) -> None:
        if any(p.run_id == run.id for p in self.query(RunPane)):
            return
        self.query_one("#provisioning-panes").mount(RunPane(run, self._ready))

    def _ready(self, pane: RunPane) -> None:
        # the same loop delivers the events: nothing falls between this read and the next one
        for line in self.executor.store.log(pane.run_id)[-LOG_LINES:]:
            pane.write(line.text, line.stream)
        pane.progress(self._progress.get(pane.run_id, 0.0))
        self._refresh(pane.run_id)
        if self.focused is None:
            pane.focus()

    def _refresh(self, run_id: int) -> None:
        pane = self._pane(run_id)
        if pane is None:
            return
        store = self.executor.store
        steps = store.steps(run_id)
        current = next((s for s in steps if s.state in (StepState.RUNNING, StepState.WAITING,
                                                        StepState.FAILED)), None)
        if current is None:
            done = sum(s.state in (StepState.DONE, StepState.SKIPPED) for s in steps)
            line = f"{done}/{len(steps)} steps done"
        else:
            mark, _ = STEP_MARK[current.state]
            line = f"{mark} step {current.index + 1}/{len(steps)}: {current.title}"
        pane.show(store.get_run(run_id), line)

    def _on_run_event(self, event: RunEvent) -> None:
        if isinstance(event, RunChanged):
            if self._mine(event.run):
                self._add(event.run)
                self._refresh(event.run.id)
        elif isinstance(event, StepChanged):
            step = event.step
            self._refresh(step.run_id)
            if step.state is StepState.RUNNING and self._step.get(step.run_id) != step.index:
                self._step[step.run_id] = step.index  # a new step: its bar starts empty
                self._set_progress(step.run_id, 0.0)
        elif isinstance(event, ProgressChanged):
            self._set_progress(event.run_id, event.fraction)
        elif isinstance(event, LogAppended) and (pane := self._pane(event.line.run_id)) is not None:
            pane.write(event.line.text, event.line.stream)

    def _set_progress(self, run_id: int, fraction: float) -> None:
        self._progress[run_id] = fraction
        if (pane := self._pane(run_id)) is not None:
            pane.progress(fraction)

    def action_open(self) -> None:
        focused = self.focused
        if isinstance(focused, RunPane):
            self.app.push_screen(RunDetailScreen(focused.run_id))
