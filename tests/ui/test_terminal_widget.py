"""The terminal widget: what a key sends, and how the emulator's screen is painted."""

from __future__ import annotations

import pytest
from rich.color import Color
from textual.app import App, ComposeResult

from mvm_tui.widgets.terminal import Terminal, key_bytes


@pytest.mark.parametrize(("key", "character", "app_cursor", "sent"), [
    ("a", "a", False, b"a"),
    ("euro_sign", "€", False, "€".encode()),
    ("enter", "\r", False, b"\r"),
    ("backspace", None, False, b"\x7f"),
    ("ctrl+c", None, False, b"\x03"),
    ("up", None, False, b"\x1b[A"),
    ("up", None, True, b"\x1bOA"),  # cursor keys in application mode (less, vim)
    ("f5", None, False, b"\x1b[15~"),
    ("ctrl+f5", None, False, None),  # nothing a terminal would send
])
def test_what_a_key_sends(key: str, character: str | None, app_cursor: bool,
                          sent: bytes | None) -> None:
    assert key_bytes(key, character, app_cursor) == sent


class TerminalApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Terminal()


async def test_colours_text_and_the_cursor_are_painted() -> None:
    async with TerminalApp().run_test(size=(40, 6)) as pilot:
        terminal = pilot.app.query_one(Terminal)
        await pilot.pause()
        assert (terminal.screen_state.columns, terminal.screen_state.lines) == (40, 6)
        terminal.feed("\x1b[1;31mred\x1b[0m plain \x1b[38;5;33mblue\x1b[0m 漢字".encode())
        segments = list(terminal.render_line(0))
        text = "".join(s.text for s in segments)
        assert text.startswith("red plain blue 漢字")
        red = next(s for s in segments if s.text == "red")
        assert red.style is not None
        assert red.style.color == Color.parse("red")
        assert red.style.bold
        blue = next(s for s in segments if s.text == "blue")
        assert blue.style is not None
        assert blue.style.color == Color.parse("#0087ff")
        cursor = [s for s in segments if s.style is not None and s.style.reverse]
        assert [s.text for s in cursor] == [" "]  # after the text, where the next one goes
        assert terminal.render_line(0).cell_length == 40
