"""State that lives where libvirt runs: a node's stats tracker (its previous counters and disk
sizes), a host's light-check cache. libvirt runs in a process of its own (apart.py), so the
functions sent there are plain (picklable) and name their state by a Resident key instead of
holding it; in that process, `get()` finds it (made on first use). Lost with that process if
it crashes: the next poll has no rates yet, the next check reads every definition again.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_RESIDENTS: dict[str, Any] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Resident(Generic[T]):
    make: Callable[[], T]  # a class or a module-level function: sent by reference
    key: str = field(default_factory=lambda: uuid.uuid4().hex)

    def get(self) -> T:
        with _LOCK:
            if self.key not in _RESIDENTS:
                _RESIDENTS[self.key] = self.make()
            return _RESIDENTS[self.key]  # type: ignore[no-any-return]
