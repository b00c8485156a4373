"""A terminal in the TUI: a VT emulator (pyte) painted line by line, with what is typed sent
on as bytes (Typed) and its size told (Resized). The screen around it owns the channel."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

import pyte
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

LEAVE = "ctrl+right_square_bracket"  # ctrl+], as virsh console: never sent to the guest

KEYS: dict[str, bytes] = {
    "enter": b"\r", "tab": b"\t", "shift+tab": b"\x1b[Z", "backspace": b"\x7f",
    "escape": b"\x1b", "up": b"\x1b[A", "down": b"\x1b[B", "right": b"\x1b[C",
    "left": b"\x1b[D", "home": b"\x1b[H", "end": b"\x1b[F", "insert": b"\x1b[2~",
    "delete": b"\x1b[3~", "pageup": b"\x1b[5~", "pagedown": b"\x1b[6~",
    "f1": b"\x1bOP", "f2": b"\x1bOQ", "f3": b"\x1bOR", "f4": b"\x1bOS", "f5": b"\x1b[15~",
    "f6": b"\x1b[17~", "f7": b"\x1b[18~", "f8": b"\x1b[19~", "f9": b"\x1b[20~",
    "f10": b"\x1b[21~", "f11": b"\x1b[23~", "f12": b"\x1b[24~",
}
_APP_CURSOR = 1 << 5  # how pyte keeps DECCKM (private mode 1) in screen.mode
_COLOURS = {"brown": "yellow", "brightbrown": "bright_yellow"}


def key_bytes(key: str, character: str | None, app_cursor: bool = False) -> bytes | None:
    """What a terminal sends for a key (None: nothing)."""
    if app_cursor and key in ("up", "down", "right", "left"):
        return b"\x1bO" + KEYS[key][-1:]
    if key in KEYS:
        return KEYS[key]
    if key.startswith("ctrl+") and len(key) == 6 and key[5].isalpha():
        return bytes([ord(key[5]) & 0x1F])
    return character.encode() if character else None


def _colour(name: str) -> str | None:
    if name == "default":
        return None
    if len(name) == 6 and all(c in "0123456789abcdefABCDEF" for c in name):
        return f"#{name}"
    if name.startswith("bright") and name not in _COLOURS:
        return f"bright_{name[6:]}"
    return _COLOURS.get(name, name)


class _Look(NamedTuple):
    fg: str
    bg: str
    bold: bool
    italics: bool
    underscore: bool
    strikethrough: bool
    reverse: bool


@lru_cache(maxsize=1024)
def _style(look: _Look) -> Style:
    return Style(color=_colour(look.fg), bgcolor=_colour(look.bg), bold=look.bold,
                 italic=look.italics, underline=look.underscore, strike=look.strikethrough,
                 reverse=look.reverse)


def _look(char: Any, cursor: bool) -> _Look:
    return _Look(char.fg, char.bg, char.bold, char.italics, char.underscore,
                 char.strikethrough, char.reverse != cursor)


class Terminal(Widget, can_focus=True):
    """A VT100/xterm screen of the widget's size."""

    DEFAULT_CSS = """
    Terminal { width: 1fr; height: 1fr; }
    """

    class Typed(Message):
        def __init__(self, data: bytes) -> None:
            super().__init__()
            self.data = data

    class Resized(Message):
        def __init__(self, columns: int, rows: int) -> None:
            super().__init__()
            self.columns, self.rows = columns, rows

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.screen_state = pyte.Screen(80, 24)
        self._stream = pyte.ByteStream(self.screen_state)

    @property
    def text(self) -> list[str]:
        """The screen's lines, as shown (without colours)."""
        return [line.rstrip() for line in self.screen_state.display]

    def feed(self, data: bytes) -> None:
        """Output of the other end."""
        term = self.screen_state
        before = term.cursor.y
        self._stream.feed(data)
        dirty = {*term.dirty, before, term.cursor.y}
        term.dirty.clear()
        width = self.size.width
        for y in dirty:
            self.refresh(Region(0, y, width, 1))

    def render_line(self, y: int) -> Strip:
        term = self.screen_state
        if y >= term.lines:
            return Strip.blank(self.size.width)
        line = term.buffer[y]
        cursor_x = term.cursor.x if y == term.cursor.y and not term.cursor.hidden else -1
        segments: list[Segment] = []
        text: list[str] = []
        look: _Look | None = None
        for x in range(term.columns):
            char = line[x]
            if not char.data:  # the second cell of a wide character
                continue
            this = _look(char, x == cursor_x)
            if this != look and text:
                segments.append(Segment("".join(text), _style(look)))
                text = []
            look = this
            text.append(char.data)
        if text and look is not None:
            segments.append(Segment("".join(text), _style(look)))
        return Strip(segments).adjust_cell_length(self.size.width)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size)

    def _fit(self, size: Size) -> None:
        columns, rows = max(size.width, 1), max(size.height, 1)
        term = self.screen_state
        if (columns, rows) != (term.columns, term.lines):
            term.resize(lines=rows, columns=columns)
            self.post_message(self.Resized(columns, rows))
            self.refresh()

    def on_key(self, event: events.Key) -> None:
        if event.key == LEAVE:
            return  # (the screen's)
        data = key_bytes(event.key, event.character,
                         _APP_CURSOR in self.screen_state.mode)
        if data is not None:
            event.stop()
            event.prevent_default()
            self.post_message(self.Typed(data))
