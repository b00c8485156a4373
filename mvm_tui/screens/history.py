"""History: every run of the cluster, newest first; Enter shows its steps and full log."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Header, Static

from mvm_tui.runs import RunChanged, RunEvent
from mvm_tui.screens.base import ClusterScreen
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.widgets.footer import SteadyFooter
from mvm_tui.widgets.literal import literal
from mvm_tui.widgets.resource_table import ResourceTable
from mvm_tui.widgets.runs_table import RunsTable


class HistoryScreen(ClusterScreen):
    def compose(self) -> ComposeResult:
        yield Header()
        if self.session.runs_refused is not None:  # the history on disk cannot be used
            yield Static(literal(f"{self.session.runs_refused}. Until then nothing is recorded, "
                                 "so every action is refused.", style="bold white on red"),
                         id="history-refused")
        yield RunsTable(id="history-table")
        yield SteadyFooter()

    def on_mount(self) -> None:
        self._unsubscribe = self.executor.subscribe(self._on_run_event)
        self.refresh_inventory()

    def on_unmount(self) -> None:
        self._unsubscribe()

    def _on_run_event(self, event: RunEvent) -> None:
        if isinstance(event, RunChanged):
            self.refresh_inventory()

    def refresh_inventory(self) -> None:
        self.query_one(RunsTable).show(self.executor.store.list_runs(cluster=self.cluster.name))

    def on_resource_table_row_selected(self, event: ResourceTable.RowSelected) -> None:
        self.app.push_screen(RunDetailScreen(int(event.key)))
