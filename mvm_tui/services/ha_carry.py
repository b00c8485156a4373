"""How the HA service carries out a decision (core.failover's Decision) as a Run, and tells
the engine and the journal how it ended: fence, restart, unfence, failback. Mixed into
services.ha.HaService, which calls _carry_out from its actor task, one decision at a time
(failbacks from a task beside it).
"""

from __future__ import annotations

import contextlib
import logging

from mvm_tui.clock import Clock
from mvm_tui.core.failover import Decision, FailoverEngine, HaSettings, Kind
from mvm_tui.services.ha_actions import HaActions
from mvm_tui.services.ha_news import HaNews
from mvm_tui.services.ha_runs import HaRuns

log = logging.getLogger("mvm_tui.services.ha")


class HaCarryOut:
    """Declared here, held by HaService."""

    backend_name: str
    clock: Clock
    settings: HaSettings
    engine: FailoverEngine
    actions: HaActions
    runs: HaRuns
    news: HaNews
    _stale: dict[str, list[str]]
    _still_fenced: dict[str, str]

    def _record(self, decisions: list[Decision]) -> None:
        raise NotImplementedError

    def _may_act(self) -> str:
        raise NotImplementedError

    async def _carry_out(self, d: Decision) -> None:
        r = self.runs
        if d.kind is Kind.FENCE:
            if not self.engine.fencing(d.host):
                log.info("HA %s: %s answered again before its fence: not fenced",
                         self.backend_name, d.host)
                return
            self.engine.fence_running(d.host)  # (no await since the check above)
            error = await r.run("fence", f"HA: fence {d.host}",
                                {"host": d.host, "expiry": self.settings.blocklist_expiry,
                                 "ipmi": self.settings.ipmi}, r.targets(host=d.host))
            how = "fenced"  # (what the world is now decides, if it answered meanwhile)
            if self.engine.answered_while_fenced(d.host):
                error, how = await r.fence_outcome(d.host, error)
            now = self.clock.now()
            self.news.fence_ended(d.host, now, error, how)
            self._record(self.engine.fence_failed(d.host, now, error) if error
                         else self.engine.fence_done(d.host, now, how))
        elif d.kind is Kind.RESTART and d.vm is not None:
            error = self._fenced_target(d) or await r.run(
                "restart", f"HA: restart {d.vm} on {d.target}",
                {"vm": d.vm, "host": d.host, "target": d.target},
                r.targets(host=d.target, vm=d.vm))
            self.engine.restart_ended(d.vm, self.clock.now(), None if error else d.target)
            self.news.restart_ended(d, self.clock.now(), error)
            if error:  # tried elsewhere, or it waits for room, unless it runs somewhere now
                wait = True
                with contextlib.suppress(Exception):
                    wait = not await self.actions.running_on(d.vm)
                self._record(self.engine.restart_failed(
                    d.vm, self.clock.now(), error, wait, d.target,
                    blame=not self._may_act()))  # (the target is not to blame if the lease went)
        elif d.kind is Kind.UNFENCE:
            stale = self._stale.get(d.host, [])  # (kept until the run is recorded)
            error = await r.run("unfence", f"HA: unfence {d.host}",
                                {"host": d.host, "stale": stale}, r.targets(host=d.host))
            self._stale.pop(d.host, None)
            self.news.unfence_ended(d.host, self.clock.now(), error)
            if error:
                log.warning("HA could not unfence %s: %s", d.host, error)
                self._still_fenced[d.host] = error
            else:
                self._still_fenced.pop(d.host, None)
        elif d.kind is Kind.FAILBACK:
            await self._failback(d)
        elif d.kind is Kind.SELF_FENCED:  # read: its VMs' restarts are decided
            try:
                await self.actions.clear_self_fenced(d.host)
            except Exception as exc:
                log.warning("HA %s: the self-fence marker of %s stays: %s", self.backend_name,
                            d.host, exc)

    def _fenced_target(self, d: Decision) -> str:
        """Nothing starts on a host whose unfence failed: it would not reach its disks."""
        why = self._still_fenced.get(d.target or "")
        return f"{d.target} is still fenced (its unfence failed: {why})" if why else ""

    async def _failback(self, d: Decision) -> None:
        assert d.vm is not None
        r = self.runs
        error = self._fenced_target(d) or await r.run(
            "failback", f"HA: fail {d.vm} back to {d.target}",
            {"vm": d.vm, "home": d.target}, r.targets(host=d.target, vm=d.vm))
        self.news.failback_ended(d, self.clock.now(), error)
        if error:
            self._record(self.engine.failback_failed(d.vm, d.host, self.clock.now(), error))
