"""What keeps the HA service from acting or remembering right now (a run it cannot record, a
state it cannot keep), said loudly to whoever listens (the TUI's banner, the headless
service's stderr) until it is over."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


class Trouble:
    def __init__(self) -> None:
        self.problems: dict[str, str] = {}  # what -> the problem, while it lasts
        self._listeners: list[Callable[[str], None]] = []

    def set(self, what: str, problem: str) -> None:
        """A problem ("" when it is over); listeners hear only changes."""
        if self.problems.get(what, "") == problem:
            return
        if problem:
            self.problems[what] = problem
        else:
            self.problems.pop(what, None)
        for listener in tuple(self._listeners):
            try:
                listener(problem)
            except Exception:
                log.exception("HA trouble listener failed")

    def listen(self, listener: Callable[[str], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: (self._listeners.remove(listener)
                        if listener in self._listeners else None)
