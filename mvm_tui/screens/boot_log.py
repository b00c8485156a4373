"""A VM's kept boot log (`l` on a VM): the end of what its serial console wrote, as its host
keeps it, readable while the VM is stopped ("why did it not boot") without attaching."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Header, RichLog, Static

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.capabilities import Consoles, KeptLog
from mvm_tui.widgets.footer import SteadyFooter
from mvm_tui.widgets.literal import literal


def log_lines(text: str) -> list[Text]:
    """Terminal output as the lines a terminal would have left: colours kept, other escape
    sequences dropped, a carriage return's overwrite applied."""
    lines = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        shown = raw.rsplit("\r", 1)[-1]  # (what a progress line's last rewrite left)
        lines.append(Text.from_ansi(shown, no_wrap=True, end=""))
    while lines and not lines[-1].plain:
        lines.pop()
    return lines


class BootLogScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="bootlog.back"),
    ]

    def __init__(self, vm: str, consoles: Consoles) -> None:
        super().__init__()
        self.vm = vm
        self.consoles = consoles
        self.kept: KeptLog | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(literal(f"reading the kept serial log of {self.vm}..."), id="bootlog-said")
        yield RichLog(id="bootlog", max_lines=None, wrap=False, markup=False, highlight=False)
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.sub_title = f"boot log of VM {self.vm}"
        self.run_worker(self._load(), exit_on_error=False)

    async def _load(self) -> None:
        said = self.query_one("#bootlog-said", Static)
        try:
            self.kept = kept = await self.consoles.boot_log(self.vm)
        except BackendError as exc:
            said.update(literal(str(exc)))
            return
        if not kept.text:
            said.update(literal(kept.why_none or f"{self.vm}: nothing kept"))
            return
        lines = log_lines(kept.text)
        said.update(literal(f"{kept.source}: its last {len(lines)} lines"))
        log = self.query_one(RichLog)
        log.write(Text("\n").join(lines), scroll_end=True)
        log.focus()
