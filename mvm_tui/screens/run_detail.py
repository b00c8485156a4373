"""One run: its steps with their state and commands, and its log, live while it runs."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Header, ProgressBar, RichLog, Sparkline, Static

from mvm_tui.backends.base import BackendError
from mvm_tui.models import PowerAction, StopReason, Vm
from mvm_tui.runs import (
    LogAppended,
    LogLine,
    ProgressChanged,
    RunChanged,
    RunEvent,
    RunOwner,
    RunRecord,
    RunState,
    RunUnreadable,
    StepChanged,
    StepState,
)
from mvm_tui.runs.follow import FOLLOW_INTERVAL, Follower
from mvm_tui.screens.base import ClusterScreen
from mvm_tui.screens.decommission import TypeHostScreen
from mvm_tui.screens.power_dialogs import escalate_modal, power_modal
from mvm_tui.services.cluster import power_actions
from mvm_tui.services.power_runs import OUTCOME, ShutdownChoice, describe_stop
from mvm_tui.widgets import format as fmt
from mvm_tui.widgets.footer import SteadyFooter
from mvm_tui.widgets.literal import literal
from mvm_tui.widgets.runs_table import RUN_STATE_STYLE

STEP_MARK = {
    StepState.PENDING: ("·", "dim"),
    StepState.RUNNING: ("▶", "bold cyan"),
    StepState.WAITING: ("…", "cyan"),
    StepState.DONE: ("✔", "green"),
    StepState.FAILED: ("✘", "bold red"),
    StepState.SKIPPED: ("-", "dim"),
    StepState.CANCELLED: ("■", "yellow"),
}
STREAM_STYLE = {"out": "", "err": "red", "info": "dim"}
GUARD = re.compile(r"\(guard '([a-z-]+)'")


class RunDetailScreen(ClusterScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="detail.back"),
        Binding("p", "pause", "Pause", id="detail.pause"),
        Binding("r", "retry", "Retry / resume", id="detail.retry"),
        Binding("o", "override", "Override guard", id="detail.override"),
        Binding("f", "power_off", "Power off now", id="detail.poweroff"),
        Binding("c", "stop_waiting", "Stop waiting", id="detail.stopwaiting"),
    ]

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self._unsubscribe: Callable[[], None] = lambda: None
        self._history: list[float] = []  # the progress of the current step, for the sparkline
        self._follower: Follower | None = None  # reads the log another process writes
        self._elsewhere: RunOwner | None = None  # that process, while it owns the run

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="run-head")
        with VerticalScroll(id="run-steps", classes="panel"):  # a long run scrolls here
            yield Static(id="run-steps-table")
        with Vertical(id="run-progress"):
            yield ProgressBar(total=100, show_eta=False, id="run-progress-bar")
            yield Static(id="run-progress-text")
            yield Sparkline([], id="run-progress-history")
        yield RichLog(id="run-log", wrap=True, markup=False, max_lines=20_000)
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.sub_title = f"run #{self.run_id}"
        self.query_one("#run-steps").border_title = "Steps"
        self.query_one("#run-log").border_title = "Log"
        # Subscribe before reading the stored log, so no line falls between the two.
        self._unsubscribe = self.executor.subscribe(self._on_run_event)
        lines = self.executor.store.log(self.run_id)
        for line in lines:
            self._write(line)
        self._follower = Follower(self.executor, self.run_id, read_lines=len(lines))
        self._show_steps()
        self.set_interval(FOLLOW_INTERVAL, self._follow)

    def _follow(self) -> None:
        """A run another process owns: show what it writes to the store (read-only)."""
        if self._follower is None or self.executor.is_executing(self.run_id):
            return  # executed here: every line and change arrives as an event
        owner = self._follower.owner_elsewhere()
        if owner is None and self._elsewhere is None:
            return
        lines, steps = self._follower.poll()
        for line in lines:
            self._write(line)
        if steps or owner != self._elsewhere:
            self._elsewhere = owner
            self._show_steps()
            self.refresh_bindings()

    def on_unmount(self) -> None:
        self._unsubscribe()

    def _on_run_event(self, event: RunEvent) -> None:
        if isinstance(event, ProgressChanged) and event.run_id == self.run_id:
            self.query_one("#run-progress").add_class("-active")
            self.query_one(ProgressBar).update(progress=round(event.fraction * 100, 1))
            self.query_one("#run-progress-text", Static).update(literal(event.detail))
            self._history = [*self._history[-59:], event.fraction * 100]
            self.query_one(Sparkline).data = self._history
        elif isinstance(event, LogAppended) and event.line.run_id == self.run_id:
            self._write(event.line)
            if self._follower is not None:
                self._follower.read_lines += 1
        elif (isinstance(event, RunChanged) and event.run.id == self.run_id) or \
                (isinstance(event, StepChanged) and event.step.run_id == self.run_id):
            self._show_steps()
            self.refresh_bindings()  # a shutdown's wait began or ended: f and c

    def _write(self, line: LogLine) -> None:
        text = Text.assemble((fmt.clock_time(line.time) + " ", "dim"),
                             (line.text, STREAM_STYLE.get(line.stream, "")))
        self.query_one(RichLog).write(text)

    def _show_steps(self) -> None:
        store = self.executor.store
        run = store.get_run(self.run_id)
        head = Text.assemble((f"#{run.id} {run.title}", "bold"), "   ",
                             (run.state.value, RUN_STATE_STYLE[run.state]))
        owner = self.executor.owned_elsewhere(run)
        if owner is not None:
            head.append(f"   in {owner} (read-only here)", style="yellow")
        try:
            notes = store.notes(self.run_id) if run.state is RunState.DONE else {}
        except RunUnreadable:  # shown as stored: a note that cannot be read is left out
            notes = {}
        outcome = notes.get(OUTCOME)
        if outcome:
            graceful = outcome == describe_stop(StopReason.SHUTDOWN, False)
            head.append(f"\n{outcome}", style="green" if graceful else "yellow")
        if run.error:
            head.append(f"\n{run.error}",
                        style="yellow" if run.state is RunState.CANCELLED else "red")
        if run.unreadable:
            head.append(f"\nThis run cannot be read ({run.unreadable}): it is shown as "
                        "stored and cannot be retried.", style="bold red")
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
        self.query_one("#run-steps-table", Static).update(table)

    # -- pause, retry, override (a paused or failed run resumes from the top: every step
    # re-checks the cluster before doing anything)

    def _run(self) -> RunRecord:
        return self.executor.store.get_run(self.run_id)

    def palette_subject(self, action: str) -> str | None:
        return f"run #{self.run_id}"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pause":
            return self.executor.is_executing(self.run_id)
        if action == "retry":
            run = self._run()
            # RUNNING here and not executed by a live process: its process died
            return run.state in (RunState.FAILED, RunState.INTERRUPTED, RunState.RUNNING) and \
                run.unreadable is None and not self.executor.is_executing(self.run_id) and \
                self.executor.owned_elsewhere(run) is None
        if action == "override":
            return self._guard() is not None
        if action == "power_off":
            wait = self.cluster.power.waits.get(self.run_id)
            return wait.open if wait is not None else self._timed_out_vm() is not None
        if action == "stop_waiting":
            wait = self.cluster.power.waits.get(self.run_id)
            return wait is not None and wait.open
        return True

    # -- a shutdown the guest ignores: power it off, or stop waiting

    def _shutdown_vm(self) -> Vm | None:
        """The VM of this run, when it is a shutdown of a VM of this cluster that is known."""
        run = self._run()
        if run.kind != f"{self.cluster.name}:vm.power" or \
                run.params.get("action") != PowerAction.SHUTDOWN.value:
            return None
        try:
            return self.cluster.vm(str(run.params.get("vm")))
        except BackendError:
            return None

    def _timed_out_vm(self) -> Vm | None:
        """The VM of a shutdown run that failed while it still runs: it can be powered off."""
        if self._run().state is not RunState.FAILED or self.executor.is_executing(self.run_id):
            return None
        vm = self._shutdown_vm()
        return vm if vm is not None and PowerAction.POWEROFF in power_actions(vm) else None

    def action_power_off(self) -> None:
        if self.refuse_runs():
            return
        waits = self.cluster.power.waits
        wait, vm = waits.get(self.run_id), self._shutdown_vm()
        if wait is not None and vm is not None:
            run_id = wait.run_id

            def escalate(ok: bool | None) -> None:
                if ok:
                    waits.choose(run_id, ShutdownChoice.POWER_OFF)
                    self.refresh_bindings()

            self.app.push_screen(escalate_modal(self.cluster, vm, wait), escalate)
            return
        off = self._timed_out_vm()
        if off is not None:
            cluster = self.cluster

            def start(ok: bool | None) -> None:
                if not ok:
                    return
                run = cluster.create_power_run(off, PowerAction.POWEROFF)
                self.app.push_screen(RunDetailScreen(run.id))
                self.app.run_worker(cluster.execute(run.id), name=run.title, group="runs",
                                    exit_on_error=False)

            self.app.push_screen(power_modal(cluster, off, PowerAction.POWEROFF), start)

    def action_stop_waiting(self) -> None:
        if self.cluster.power.waits.choose(self.run_id, ShutdownChoice.CANCEL):
            self.refresh_bindings()

    def action_pause(self) -> None:
        title = self._run().title
        for worker in self.app.workers:
            if worker.group == "runs" and worker.name == title:
                worker.cancel()

    def action_retry(self) -> None:
        if self.refuse_runs():
            return
        run = self._run()
        self._history = []
        self.app.run_worker(self.cluster.execute(run.id), name=run.title, group="runs",
                            exit_on_error=False)

    def _guard(self) -> str | None:
        """The guard the run stopped at, when it is a decommission that did."""
        run = self._run()
        found = GUARD.search(run.error or "")
        if run.state is not RunState.FAILED or found is None or \
                self.decommissions is None:
            return None
        return found.group(1)

    def action_override(self) -> None:
        if self.refuse_runs():
            return
        guard, run = self._guard(), self._run()
        decommissions = self.decommissions
        if guard is None or decommissions is None:
            return
        host = str(run.params.get("host"))

        def typed(ok: bool | None) -> None:
            if ok:
                decommissions.override(run, guard, host)
                self.action_retry()

        self.app.push_screen(TypeHostScreen(host, run.error or ""), typed)
