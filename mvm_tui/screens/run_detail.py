"""One run: its steps with their state and commands, and its log, live while it runs."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Header, ProgressBar, RichLog, Static

from mvm_tui.runs import (
    LogAppended,
    LogLine,
    ProgressChanged,
    RunChanged,
    RunEvent,
    StepChanged,
    StepState,
)
from mvm_tui.screens.base import ClusterScreen
from mvm_tui.widgets import format as fmt
from mvm_tui.widgets.runs_table import RUN_STATE_STYLE

STEP_MARK = {
    StepState.PENDING: ("·", "dim"),
    StepState.RUNNING: ("▶", "bold cyan"),
    StepState.WAITING: ("…", "cyan"),
    StepState.DONE: ("✔", "green"),
    StepState.FAILED: ("✘", "bold red"),
    StepState.SKIPPED: ("-", "dim"),
}
STREAM_STYLE = {"out": "", "err": "red", "info": "dim"}


class RunDetailScreen(ClusterScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="detail.back"),
    ]

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self._unsubscribe = lambda: None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="run-head")
        yield Static(id="run-steps", classes="panel")
        with Vertical(id="run-progress"):
            yield ProgressBar(total=100, show_eta=False, id="run-progress-bar")
            yield Static(id="run-progress-text")
        yield RichLog(id="run-log", wrap=True, markup=False, max_lines=20_000)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"run #{self.run_id}"
        self.query_one("#run-steps").border_title = "Steps"
        self.query_one("#run-log").border_title = "Log"
        # Subscribe before reading the stored log, so no line falls between the two.
        self._unsubscribe = self.executor.subscribe(self._on_run_event)
        for line in self.executor.store.log(self.run_id):
            self._write(line)
        self._show_steps()

    def on_unmount(self) -> None:
        self._unsubscribe()

    def _on_run_event(self, event: RunEvent) -> None:
        if isinstance(event, ProgressChanged) and event.run_id == self.run_id:
            self.query_one("#run-progress").add_class("-active")
            self.query_one(ProgressBar).update(progress=round(event.fraction * 100, 1))
            self.query_one("#run-progress-text", Static).update(event.detail)
        elif isinstance(event, LogAppended) and event.line.run_id == self.run_id:
            self._write(event.line)
        elif (isinstance(event, RunChanged) and event.run.id == self.run_id) or \
                (isinstance(event, StepChanged) and event.step.run_id == self.run_id):
            self._show_steps()

    def _write(self, line: LogLine) -> None:
        text = Text.assemble((fmt.clock_time(line.time) + " ", "dim"),
                             (line.text, STREAM_STYLE.get(line.stream, "")))
        self.query_one(RichLog).write(text)

    def _show_steps(self) -> None:
        store = self.executor.store
        run = store.get_run(self.run_id)
        head = Text.assemble((f"#{run.id} {run.title}", "bold"), "   ",
                             (run.state.value, RUN_STATE_STYLE[run.state]))
        if run.error:
            head.append(f"\n{run.error}", style="red")
        self.query_one("#run-head", Static).update(head)
        table = Table.grid(padding=(0, 1))
        for step in store.steps(self.run_id):
            mark, style = STEP_MARK[step.state]
            took = fmt.duration(step.ended - step.started) if step.started and step.ended else ""
            table.add_row(Text(mark, style=style), Text(step.title, style="bold"),
                          Text(step.state.value, style=style), took)
            for command in step.preview:
                table.add_row("", Text(f"$ {command}", style="cyan"), "", "")
            if step.error:
                table.add_row("", Text(step.error, style="red"), "", "")
        self.query_one("#run-steps", Static).update(table)
