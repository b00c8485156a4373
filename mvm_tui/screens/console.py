"""A console in the TUI: a VM's serial console or a host's shell, until ctrl+] (what it is
attached to keeps running)."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Header, Static

from mvm_tui.backends.base import BackendError, ConsoleBusy
from mvm_tui.backends.capabilities import ConsoleChannel
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.literal import literal
from mvm_tui.widgets.terminal import LEAVE, Terminal

Opener = Callable[[bool], Awaitable[ConsoleChannel]]  # (take it over from another client)


class ConsoleScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(LEAVE, "leave", "Leave", id="console.leave", priority=True),
    ]

    def __init__(self, title: str, opener: Opener, *, leaving: str) -> None:
        super().__init__()
        self.title_text = title
        self.opener = opener
        self.leaving = leaving  # what ctrl+] does, said below the terminal
        self.channel: ConsoleChannel | None = None
        self.ended: str | None = None  # why the console ended, once it has

    def compose(self) -> ComposeResult:
        yield Header()
        yield Terminal(id="console-terminal")
        yield Static(literal(f"ctrl+] {self.leaving}"), id="console-hint")

    def on_mount(self) -> None:
        self.sub_title = self.title_text
        self.query_one(Terminal).focus()
        self.run_worker(self._connect(force=False), group="console", exclusive=True,
                        exit_on_error=False)

    async def _connect(self, force: bool) -> None:
        terminal = self.query_one(Terminal)
        try:
            channel = await self.opener(force)
        except ConsoleBusy as exc:
            if await self.app.push_screen_wait(ConfirmModal(
                    title="Take the console over?",
                    consequence=f"{exc}. Taking it over cuts that client off.",
                    steps=(), verb="Take over")):
                await self._connect(force=True)
            else:
                self.app.pop_screen()
            return
        except BackendError as exc:
            self.notify(str(exc), title=self.title_text, severity="error", markup=False)
            self.app.pop_screen()
            return
        self.channel = channel
        size = terminal.screen_state
        await channel.resize(size.columns, size.lines)
        while data := await channel.read():
            terminal.feed(data)
        self.ended = channel.why or f"{self.title_text}: the other end closed it"
        terminal.feed(f"\r\n\x1b[33m[{self.ended}]\x1b[0m\r\n".encode())

    async def on_terminal_typed(self, event: Terminal.Typed) -> None:
        if self.channel is not None and self.ended is None:
            try:
                await self.channel.write(event.data)
            except BackendError as exc:
                self.ended = str(exc)

    async def on_terminal_resized(self, event: Terminal.Resized) -> None:
        if self.channel is not None and self.ended is None:
            try:
                await self.channel.resize(event.columns, event.rows)
            except BackendError as exc:
                self.ended = str(exc)

    async def action_leave(self) -> None:
        self.workers.cancel_group(self, "console")
        if self.channel is not None:
            with contextlib.suppress(BackendError):  # (closed at the other end already)
                await self.channel.close()
        self.app.pop_screen()
