"""A footer that is rebuilt only when what it shows changed.

Textual's Footer rebuilds its keys (a widget each, restyled: 20-30 ms on a busy screen) every
time the screen's bindings may have changed: at each focus change, screen switch and
refresh_bindings(), several times per key press at times. This one compares what it would
show (key, label, enabled, tooltip of each binding) with what it shows, and rebuilds only when
they differ.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class SteadyFooter(Footer):
    _shown: tuple[Any, ...] | None = None

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if self.is_attached and screen is self.screen and screen.app.app_focus:
            shown = self._what_it_shows()
            if shown == self._shown and self._bindings_ready:
                return
            self._shown = shown
        super().bindings_changed(screen)

    def _what_it_shows(self) -> tuple[Any, ...]:
        return tuple(
            (binding.key, self.app.get_key_display(binding), binding.description,
             binding.action, binding.group, enabled, tooltip)
            for _, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show
        )
