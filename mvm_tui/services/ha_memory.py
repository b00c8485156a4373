"""Keeping the failover engine's memory where the next active HA service finds it: a service
restarted after a crash, or the standby that takes the lease over, learns from it which VMs a
lost host ran (with their definitions, on real clusters), which hosts were fenced, and which
VMs wait for room. Where it is kept is the HaActions' business (the simulator: in the cluster's
memory; real HCI clusters: next to the RADOS lock).

Saved in the background, the latest state only: a save (a few RADOS writes, slow under
latency) never holds up a host's checks or HA's actions. A save that fails is reported
(trouble) and tried again at the next change; nothing is saved while this service may not
act (its lease is being renewed or is another's), so it never overwrites a newer holder's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from mvm_tui.core.failover import FailoverEngine
from mvm_tui.core.failover_memory import export, seed
from mvm_tui.services.ha_actions import HaActions

log = logging.getLogger(__name__)


class HaMemory:
    def __init__(self, cluster: str, actions: HaActions,
                 trouble: Callable[[str, str], None]) -> None:
        self.cluster, self.actions, self.trouble = cluster, actions, trouble
        self._saved: dict[str, Any] | None = None
        self._latest: dict[str, Any] | None = None  # as the engine was at its last change
        self._changed = asyncio.Event()
        self._saving = asyncio.Lock()  # one save at a time

    async def restore(self, engine: FailoverEngine) -> bool:
        """Seed a new engine with what the last active service kept; False if it could not
        be read (the service goes on, knowing only what its checks see)."""
        try:
            state = await self.actions.load_state()
        except Exception as exc:
            log.warning("HA %s: its kept state could not be read: %s", self.cluster, exc)
            self.trouble("memory", f"HA's kept state could not be read: {exc}")
            return False
        self.trouble("memory", "")
        self._latest = None
        if state:
            seed(engine, state)
            self._saved = state
        return True

    def changed(self, engine: FailoverEngine) -> None:
        """The engine may have changed: its state is saved in the background."""
        self._latest = export(engine)
        if self._latest != self._saved:
            self._changed.set()

    async def keep_saving(self, may_save: Callable[[], bool]) -> None:
        """Save the latest state whenever it changed, while may_save() says so; runs as one
        of the active service's tasks."""
        while True:
            await self._changed.wait()
            self._changed.clear()
            if may_save():
                await self.save_now()

    async def save_now(self) -> None:
        """The latest state, unless it is saved already."""
        async with self._saving:
            state = self._latest
            if state is None or state == self._saved:
                return
            try:
                await self.actions.save_state(state)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("HA %s: its state could not be kept (tried again at the next "
                          "change): %s", self.cluster, exc)
                self.trouble("memory", f"HA's state could not be kept: {exc}")
                return
            self._saved = state
            self.trouble("memory", "")
