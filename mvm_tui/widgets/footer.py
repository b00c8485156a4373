"""The screen's keys on the bottom line: one widget, repainted only when what it shows changed.

Textual's Footer makes a widget per key and restyles them all whenever the screen's bindings
may have changed (each focus change, screen switch and refresh_bindings()): 20-30 ms on a busy
screen, several times in one key press at times. This one compares what it would show (key,
label, enabled, tooltip of each binding) with what it shows and, when they differ, renders one
line of text. A click on a key presses it, as on Textual's Footer.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget

Key = tuple[str, str, str, bool, str]  # key, as displayed, description, enabled, tooltip
_ENABLED, _DISABLED = Style(), Style(dim=True)


class SteadyFooter(Widget, can_focus=False):
    DEFAULT_CSS = """
    SteadyFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .steady-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .steady-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"steady-footer--key",
                                             "steady-footer--description"}

    def __init__(self) -> None:
        super().__init__()
        self._keys: tuple[Key, ...] = ()
        self._palette = False  # the last key is the command palette's, at the right end
        self._spans: list[tuple[int, int, Key]] = []  # (first cell, past last cell, key)

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.call_after_refresh(self.bindings_changed, self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if not (self.is_attached and screen is self.screen and screen.app.app_focus):
            return
        active = screen.active_bindings
        keys = tuple(
            (binding.key, self.app.get_key_display(binding), binding.description, enabled,
             tooltip or binding.tooltip)
            for _, binding, enabled, tooltip in active.values() if binding.show)
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        if palette is not None and self.app.ENABLE_COMMAND_PALETTE:  # at the right end
            _, binding, enabled, tooltip = palette
            keys += ((binding.key, self.app.get_key_display(binding), binding.description,
                      enabled, tooltip or binding.tooltip),)
        if keys != self._keys:
            self._keys, self._palette = keys, palette is not None
            self.refresh()

    def render(self) -> Text:
        key_style = self.get_component_rich_style("steady-footer--key")
        text_style = self.get_component_rich_style("steady-footer--description")
        keys, palette = self._keys, None
        if self._palette:
            *keys, palette = keys  # type: ignore[assignment]
        line, spans = Text(no_wrap=True, overflow="crop"), []
        for key in keys:
            _, shown, description, enabled, _ = key
            dim = _ENABLED if enabled else _DISABLED
            start = line.cell_len
            line.append(f" {shown}", key_style + dim)
            if description:
                line.append(f" {description}", text_style + dim)
            spans.append((start, line.cell_len, key))
            line.append(" ")
        if palette is not None:  # at the right end, over what does not fit
            _, shown, description, _, _ = palette
            width = len(shown) + len(description) + 3
            cut = max(0, self.size.width - width)
            line.truncate(cut, pad=True)
            spans = [span for span in spans if span[1] <= cut]
            line.append("▏")
            spans.append((line.cell_len, line.cell_len + width - 1, palette))
            line.append(shown, key_style)
            line.append(f" {description} ", text_style)
        self._spans = spans
        return line

    def shown_keys(self) -> dict[str, str]:
        """key -> description of each key shown whole within the footer's width."""
        self.render()
        return {key[0]: key[2] for _, end, key in self._spans if end <= self.size.width}

    def _key_at(self, x: int) -> Key | None:
        return next((key for start, end, key in self._spans if start <= x < end), None)

    def on_click(self, event: events.Click) -> None:
        key = self._key_at(event.x)
        if key is None:
            return
        if key[3]:
            self.app.simulate_key(key[0])
        else:
            self.app.bell()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        key = self._key_at(event.x)
        self.tooltip = key[4] or None if key is not None else None
