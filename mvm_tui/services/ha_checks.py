"""The HA service's liveness checks: one loop per host, a check every check_interval bounded
by check_timeout, a silent host's OSDs asked about, each result an Observation for the
failover engine. Mixed into services.ha.HaService, which starts a _host_loop per host.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.ssh.errors import HostKeyChanged, HostKeyUnknown
from mvm_tui.clock import Clock, ClockTimeout
from mvm_tui.core.failover import Decision, FailoverEngine, HaSettings, Observation
from mvm_tui.models import HostPoll
from mvm_tui.services.ha_memory import HaMemory
from mvm_tui.services.ha_news import HaNews

log = logging.getLogger("mvm_tui.services.ha")

PROBE_TIMEOUT = 10.0  # asking Ceph (a `ceph` command over SSH) about a silent host's OSDs

# a liveness check: what the host runs, or None when it answered without saying (libvirtd down,
# SSH up); raises BackendError when it does not answer
Check = Callable[[str], Awaitable[HostPoll | None]]
# any OSD of the host up? None: unknown / no Ceph. Asked only after a failed check.
OsdProbe = Callable[[str], Awaitable[bool | None]]


class HaChecks:
    """Declared here, held by HaService."""

    backend_name: str
    clock: Clock
    settings: HaSettings
    engine: FailoverEngine
    news: HaNews
    memory: HaMemory
    _check: Check
    _osd_probe: OsdProbe
    _awaiting_operator: Callable[[str], bool]
    _checked: set[str]  # hosts with a check result since activation
    _heard: dict[str, str]  # host -> how its last check ended (logged on change)

    def _record(self, decisions: list[Decision]) -> None:
        raise NotImplementedError

    def _set_trouble(self, what: str, problem: str) -> None:
        raise NotImplementedError

    async def _host_loop(self, host: str) -> None:
        next_at = self.clock.now()
        while True:
            try:
                await self._check_once(host)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not stop the checks of a host
                log.exception("HA check of %s failed unexpectedly", host)
            next_at = max(next_at + self.settings.check_interval, self.clock.now())
            await self.clock.sleep(next_at - self.clock.now())

    async def _check_once(self, host: str) -> None:
        started = self.clock.now()
        poll: HostPoll | None = None
        ok, key_problem = False, ""
        try:
            poll = await self.clock.wait_for(self._check(host), self.settings.check_timeout)
            ok = True
        except (HostKeyUnknown, HostKeyChanged) as exc:  # its sshd answered: it is up
            key_problem = f"{host} cannot be checked: {exc}"
        except ClockTimeout:
            self._heard_of(host, f"no answer within {self.settings.check_timeout:g} s")
        except BackendError as exc:
            self._heard_of(host, f"no answer: {exc}")
        ended = self.clock.now()
        if ok:
            self._heard_of(host, "answers")
        self._set_trouble(f"key {host}", key_problem)
        if key_problem or (not ok and self._awaiting_operator(host)):
            # neither a success nor a failure: HA knows nothing new of it
            self._checked.add(host)
            return
        up = None
        if not ok:
            with contextlib.suppress(ClockTimeout, BackendError):
                up = await self.clock.wait_for(self._osd_probe(host), PROBE_TIMEOUT)
        obs = Observation(host, ended, ok, poll,
                          None if up is None else not up, started)
        self._record(self.engine.observe(obs))
        self.news.checked(host, ended, poll)
        self._checked.add(host)
        self.memory.changed(self.engine)

    def _heard_of(self, host: str, how: str) -> None:
        """Each change of how a host's checks end, in the log: what HA's decisions were
        based on (only changes: a check every few seconds per host)."""
        if self._heard.get(host) != how:
            self._heard[host] = how
            log.info("HA %s: check of %s: %s", self.backend_name, host, how)
