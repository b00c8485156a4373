"""Preflight: a checklist per host, before anything is changed on it; each failure says what to
fix. Runs again with `r`; `p` (only when every host is ready) asks for the provisioning.
Dismissed with a PreflightResult, or None when closed before the first check ended."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from mvm_tui.services.preflight import PreflightReport, PreflightSpec
from mvm_tui.widgets.literal import literal

Runner = Callable[[PreflightSpec], Awaitable[list[PreflightReport]]]


@dataclass(frozen=True)
class PreflightResult:
    reports: list[PreflightReport]
    provision: bool  # the operator asked to provision (every host was ready)
MARK = {"ok": ("✔", "green"), "warn": ("!", "yellow"), "fail": ("✘", "bold red")}


def report_table(report: PreflightReport) -> Table:
    table = Table(box=None, padding=(0, 1), show_header=False, title_justify="left",
                  title=Text(f"{report.host}: {'ready' if report.ok else 'NOT ready'}",
                             style="bold green" if report.ok else "bold red"))
    for item in report.items:
        mark, style = MARK[item.status]
        detail = Text(item.detail)
        if item.fix and item.status != "ok":
            detail.append(f"\n→ {item.fix}", style="cyan")
        table.add_row(Text(mark, style=style), Text(item.check, style="bold"), detail)
    return table


class PreflightScreen(ModalScreen[PreflightResult | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "again", "Check again", id="preflight.again"),
        Binding("p", "provision", "Provision", id="preflight.provision"),
        Binding("escape", "close", "Close", id="preflight.close"),
    ]

    def __init__(self, spec: PreflightSpec, run: Runner, *, close: str = "Close") -> None:
        super().__init__()
        self.close_label = close  # "Back to the form" when esc returns to the wizard
        self.spec, self._run = spec, run
        self.reports: list[PreflightReport] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="preflight-dialog"):
            count = len(self.spec.hosts)
            yield Label(literal(f"Preflight of {count} host{'' if count == 1 else 's'} "
                                "(nothing is changed)"), classes="dialog-title")
            with VerticalScroll(id="preflight-results", classes="dialog-body"):
                yield Static("checking…", id="preflight-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Provision (p)", variant="warning", id="preflight-provision",
                             disabled=True)
                yield Button("Check again (r)", id="preflight-again")
                yield Button(literal(f"{self.close_label} (esc)"), id="preflight-close")

    def on_mount(self) -> None:
        self.action_again()

    def action_again(self) -> None:
        self.query_one("#preflight-text", Static).update("checking…")
        self.run_worker(self._check(), exclusive=True, group="preflight", exit_on_error=False)

    async def _check(self) -> None:
        self.reports = await self._run(self.spec)
        ready = sum(r.ok for r in self.reports)
        head = Text(f"{ready} of {len(self.reports)} host{'' if len(self.reports) == 1 else 's'}"
                    " ready",
                    style="bold green" if ready == len(self.reports) else "bold yellow")
        self.query_one("#preflight-text", Static).update(
            Group(head, *(report_table(r) for r in self.reports)))
        self.query_one("#preflight-provision", Button).disabled = not self._ready()
        self.refresh_bindings()

    def _ready(self) -> bool:
        return bool(self.reports) and all(r.ok for r in self.reports or ())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return True  # p when not every host is ready says why

    def action_provision(self) -> None:
        if self._ready() and self.reports is not None:
            self.dismiss(PreflightResult(self.reports, provision=True))
        elif self.reports is None:
            self.notify("The hosts are still being checked.", title="Provision")
        else:
            waiting = ", ".join(r.host for r in self.reports if not r.ok) or "no host checked"
            self.notify(f"Not every host is ready ({waiting}): fix what the checklist says, "
                        "then check again (r).", title="Cannot provision yet",
                        severity="warning", markup=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "preflight-again":
            self.action_again()
        elif event.button.id == "preflight-provision":
            self.action_provision()
        else:
            self.action_close()

    def action_close(self) -> None:
        self.dismiss(None if self.reports is None else PreflightResult(self.reports, False))
