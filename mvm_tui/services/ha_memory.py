"""Keeping the failover engine's memory where the next active HA service finds it: a service
restarted after a crash, or the standby that takes the lease over, learns from it which VMs a
lost host ran (with their definitions, on real clusters), which hosts were fenced, and which
VMs wait for room. Where it is kept is the HaActions' business (the simulator: in the cluster's
memory; real HCI clusters: next to the RADOS lock).

Saved after every check that changed it; a save that fails is reported (trouble) and tried
again at the next check.
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
        self._saving = asyncio.Lock()  # one save at a time (every host's check saves)

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
        if state:
            seed(engine, state)
            self._saved = state
        return True

    async def save(self, engine: FailoverEngine) -> None:
        async with self._saving:
            state = export(engine)
            if state == self._saved:
                return
            try:
                await self.actions.save_state(state)
            except Exception as exc:
                log.error("HA %s: its state could not be kept (tried again at the next "
                          "check): %s", self.cluster, exc)
                self.trouble("memory", f"HA's state could not be kept: {exc}")
                return
            self._saved = state
            self.trouble("memory", "")
