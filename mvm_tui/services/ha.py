"""The HA service: liveness checks of every host, fed to the failover state machine
(core.failover), whose decisions it carries out as Runs (fence, restart, unfence, failback).

When the cluster balances load automatically, the active service also runs the Balancer (so
two jump boxes never balance at once).

The checks are its own (one loop per host, every check_interval, bounded by check_timeout),
separate from the inventory poll: it does not depend on the UI. Decisions are carried out one
at a time, in order, by one task, so a fence is always done before the restarts it allows;
only failbacks (live migrations of running VMs, which may take minutes) run beside it, one at
a time, so a host lost meanwhile is fenced and its VMs restarted without waiting for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence

from mvm_tui.backends.base import ClusterBackend
from mvm_tui.clock import Clock, ClockTimeout
from mvm_tui.core.failover import Decision, FailoverEngine, HaSettings, Kind, Phase
from mvm_tui.runs import RunExecutor, RunState, Step
from mvm_tui.services.balancer import Balancer
from mvm_tui.services.ha_actions import HaActions
from mvm_tui.services.ha_carry import HaCarryOut
from mvm_tui.services.ha_checks import Check, HaChecks, OsdProbe
from mvm_tui.services.ha_lease import HaLease
from mvm_tui.services.ha_lock import HaLock
from mvm_tui.services.ha_memory import HaMemory
from mvm_tui.services.ha_news import HaNews
from mvm_tui.services.ha_runs import HaRuns, RecordingFailed
from mvm_tui.services.ha_status import HaStatus
from mvm_tui.services.ha_trouble import Trouble

log = logging.getLogger(__name__)

MAX_DECISIONS = 200
SAVE_ON_STOP = 10.0  # a stop waits that long at most for HA's state to be kept
ACTIONABLE = frozenset({Kind.FENCE, Kind.RESTART, Kind.UNFENCE, Kind.FAILBACK,
                        Kind.SELF_FENCED})


class HaService(HaChecks, HaCarryOut):
    def __init__(
        self,
        backend: ClusterBackend,
        clock: Clock,
        settings: HaSettings,
        executor: RunExecutor,
        actions: HaActions,
        *,
        check: Check | None = None,
        osd_probe: OsdProbe | None = None,
        lock: HaLock | None = None,
        lease: HaLease | None = None,
        balancer: Balancer | None = None,
        notify_command: Sequence[str] = (),
        awaiting_operator: Callable[[str], bool] = lambda host: False,
    ) -> None:
        self.backend, self.clock, self.settings = backend, clock, settings
        self.backend_name = backend.name
        self._still_fenced: dict[str, str] = {}  # host -> why its unfence failed
        self.engine = self._new_engine()
        self.actions = actions
        self.runs = HaRuns(backend, clock, executor, actions, may_act=self._may_act,
                           lost_now=lambda host: self.engine.lost_now(host),
                           leased=self._renewed)
        self._trouble = Trouble()
        self.news = HaNews(backend.name, notify_command)
        # a question to the operator about the host (its host key) is open: its check is
        # neither a success nor a failure
        self._awaiting_operator = awaiting_operator
        self.memory = HaMemory(backend.name, actions, self._trouble.set)
        self._checked: set[str] = set()  # hosts with a check result since activation
        self._heard: dict[str, str] = {}  # host -> how its last check ended (logged on change)
        self._check = check or backend.poll_host
        self._osd_probe = osd_probe or actions.osds_up
        self.lock = lock  # local: held while the service runs
        self.lease = lease  # RADOS (HCI): may be lost and taken over; the service stands by
        self._lease_task: asyncio.Task[None] | None = None
        self.balancer = balancer  # auto balancing: only the active service moves VMs
        self.decisions: deque[Decision] = deque(maxlen=MAX_DECISIONS)
        self.pending_failbacks: dict[str, str] = {}
        self._stale: dict[str, list[str]] = {}  # returned host -> its stale copies to remove
        self._todo: asyncio.Queue[Decision | None] = asyncio.Queue()
        self._urgent: deque[Decision] = deque()  # fences: before anything queued
        self._failing_back = asyncio.Lock()  # failbacks run beside the actor, one at a time
        self._tasks: list[asyncio.Task[None]] = []
        self._listeners: list[Callable[[Decision], None]] = []
        backend.on_host_left(self._host_left)  # (its decommission's last step)

    # -- lifecycle

    def _new_engine(self) -> FailoverEngine:
        engine = FailoverEngine(self.settings, [h.name for h in self.backend.hosts],
                                self.backend.layout, self.backend.name)
        engine.unusable = self._still_fenced  # (no restart or failback planned there)
        return engine

    @property
    def running(self) -> bool:
        """Active: checking hosts and acting on the cluster."""
        return bool(self._tasks)

    def start(self) -> None:
        """With a local lock: take it (HaLockHeld if another service has it) and start
        checking. With a lease: stand by until it is ours, then act while we keep it."""
        if self._tasks or self._lease_task is not None:
            return
        if self.lease is not None:
            self._lease_task = asyncio.create_task(self._lease_loop(), name="ha lease")
            return
        if self.lock is not None:
            self.lock.acquire()
        self._activate()

    async def stop(self) -> None:
        if self._tasks and not self._may_act():
            with contextlib.suppress(ClockTimeout):  # what it last learnt, for the next one
                await self.clock.wait_for(self.memory.save_now(), SAVE_ON_STOP)
        if self._lease_task is not None:
            self._lease_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lease_task
            self._lease_task = None
        await self._deactivate()
        await self.news.close()
        if self.lock is not None:
            self.lock.release()
        if self.lease is not None:
            with contextlib.suppress(Exception):
                await self.lease.release()

    def _activate(self, fresh: bool = True) -> None:
        if fresh:  # what another service did meanwhile: from the kept state and the hosts
            self.engine = self._new_engine()
            self._todo = asyncio.Queue()
            self._urgent.clear()
        self._checked = set()
        self._tasks = [asyncio.create_task(self._begin(fresh), name="ha start")]
        if self.balancer is not None and self.lease is None:
            self.balancer.start()

    async def _begin(self, fresh: bool) -> None:
        """Learn what the last active service kept, then check and act; first finish the
        HA runs a previous process of this one left unfinished (every step re-checks its
        guard, so nothing starts twice)."""
        if fresh:
            await self.memory.restore(self.engine)
        self._tasks += [asyncio.create_task(self._host_loop(h.name), name=f"ha check {h.name}")
                        for h in self.backend.hosts]
        self._tasks.append(asyncio.create_task(self._actor(), name="ha actions"))
        self._tasks.append(asyncio.create_task(
            self.memory.keep_saving(lambda: not self._may_act()), name="ha memory"))
        if fresh:
            await self._finish_interrupted()

    async def _finish_interrupted(self) -> None:
        executor = self.runs.executor
        prefix = f"{self.backend.name}:ha."
        # a PENDING run was decided but never started: deciding again is safer
        runs = [r for r in executor.resumable()
                if r.kind.startswith(prefix) and r.state is not RunState.PENDING]
        if not runs:
            return
        while len(self._checked) < len(self.backend.hosts):  # every host checked once first
            await self.clock.sleep(0.2)
        for run in runs:
            await self._while_leased()
            try:
                record = await executor.execute(run.id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("HA %s: could not finish run %d: %s", self.backend.name, run.id, exc)
                continue
            log.info("HA %s: finished the interrupted run %d (%s): %s", self.backend.name,
                     run.id, run.title, record.state.value)

    def _set_trouble(self, what: str, problem: str) -> None:
        self._trouble.set(what, problem)

    def on_trouble(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Told every new problem ("" when one is over); status().trouble has them all."""
        return self._trouble.listen(listener)

    async def _deactivate(self) -> None:
        if self.balancer is not None:
            await self.balancer.stop()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _lease_loop(self) -> None:
        """Take the lease, keep it. A renewal that fails (Ceph busy electing a new monitor
        leader, say) only pauses the actions: the checks go on and the engine keeps what it
        knows. Only when another service holds the lease does this one stand by; it starts
        afresh when it gets the lease back."""
        lease = self.lease
        assert lease is not None
        taken_over = True
        while True:
            try:
                ours = await lease.renew()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("HA %s: the lease could not be renewed: %s", self.backend.name, exc)
                ours = False
            if ours and not self._tasks:
                log.info("HA %s: this service is active", self.backend.name)
                self._activate(fresh=taken_over)
                taken_over = False
            elif not ours and self._tasks and lease.taken():
                log.warning("HA %s: the lease is held by %s: standing by", self.backend.name,
                            lease.holder())
                await self._deactivate()
                taken_over = True
            await self._balance_while_leased()
            await self.clock.sleep(lease.renew_every if ours else min(2.0, lease.renew_every))

    async def _balance_while_leased(self) -> None:
        b, valid = self.balancer, self.lease is not None and self.lease.valid()
        if b is not None and valid and self._tasks and not b.running:
            b.start()
        elif b is not None and not valid and b.running:
            await b.stop()

    async def _while_leased(self) -> None:
        """Act only while the lease surely holds (not across a renewal)."""
        while self.lease is not None and not self.lease.valid():
            await self.clock.sleep(0.2)

    async def _renewed(self) -> None:
        """While this service's lease is being renewed (not taken by another), wait for the
        renewal, at most a lease's duration."""
        lease = self.lease
        if lease is None:
            return
        waited = 0.0
        while (not lease.valid() and not lease.taken() and self._tasks
               and waited < lease.renew_every * 3):
            await self.clock.sleep(0.2)
            waited += 0.2

    def _may_act(self) -> str:
        if not self._tasks:
            return "this HA service is not active"
        if self.lease is not None and not self.lease.valid():
            return "this HA service does not hold the lease now"
        return ""

    def unusable_hosts(self) -> dict[str, str]:
        """Hosts no VM may be moved to now, as this active service knows them (lost,
        fenced, or still fenced after a failed unfence), with why."""
        if not self._tasks:
            return {}
        out = {h: f"HA: {p.value}" for h, p in self.engine.phases().items()
               if p is not Phase.OK}
        out.update({h: f"HA: still fenced ({why})" for h, why in self._still_fenced.items()})
        return out

    def subscribe(self, listener: Callable[[Decision], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def status(self) -> HaStatus:
        if self.lease is not None:
            holder = None if self.running else self.lease.holder() or "nobody yet"
        else:
            holder = None if self.lock is None or self.lock.held else self.lock.holder()
        return HaStatus(self.backend.name, self.running, holder, self.engine.phases(),
                        tuple(self.decisions), dict(self.pending_failbacks),
                        tuple(self._trouble.problems.values()),
                        self.news.vm_states(self.engine.waiting()),
                        tuple(self.news.journal.incidents()))

    def approve_failback(self, vm: str) -> Decision:
        """The operator said yes to an "ask failback": it is decided and carried out now."""
        home = self.pending_failbacks.pop(vm)
        decision = Decision(self.clock.now(), Kind.FAILBACK, home, vm, home,
                            reason="approved")
        self._record([decision])
        return decision

    def failback_preview(self, vm: str, home: str) -> list[Step]:
        """The steps (with their exact commands) a failback of `vm` to `home` would run."""
        return self.runs.executor.preview(self.runs.kind("failback"), {"vm": vm, "home": home})

    def decline_failback(self, vm: str) -> None:
        self.pending_failbacks.pop(vm, None)

    def _host_left(self, host: str) -> None:
        """It left the cluster: its checks end, what HA kept about it goes."""
        for task in [t for t in self._tasks if t.get_name() == f"ha check {host}"]:
            task.cancel()
            self._tasks.remove(task)
        self.engine.forget_host(host)
        self.news.journal.forget_host(host)
        self._checked.discard(host)
        self._stale.pop(host, None)
        self._still_fenced.pop(host, None)
        self.pending_failbacks = {v: h for v, h in self.pending_failbacks.items() if h != host}
        log.info("HA %s: %s left the cluster: no longer checked", self.backend.name, host)

    # -- decisions

    def _record(self, decisions: list[Decision]) -> None:
        for d in decisions:
            self.decisions.append(d)
            log.info("HA %s: %s", self.backend.name, d.text())
            if d.kind is Kind.ASK_FAILBACK and d.vm is not None:
                self.pending_failbacks[d.vm] = d.host
            if d.kind is Kind.STALE and d.vm is not None:
                self._stale.setdefault(d.host, []).append(d.vm)
            self.news.decided(d, self.engine)
            if d.kind is Kind.FENCE:  # (a failback migrating for minutes must not hold it up)
                self._urgent.append(d)
                self._todo.put_nowait(None)  # (wakes the actor)
            elif d.kind in ACTIONABLE:
                self._todo.put_nowait(d)
            for listener in tuple(self._listeners):
                try:
                    listener(d)
                except Exception:
                    log.exception("HA decision listener failed")

    async def _actor(self) -> None:
        while True:
            d = None
            while d is None:
                d = self._urgent.popleft() if self._urgent else await self._todo.get()
            if d.kind is Kind.FAILBACK:  # a live migration (minutes): beside, in turn
                self._beside(d)
            else:
                await self._carry_out_until_recorded(d)

    def _beside(self, d: Decision) -> None:
        task = asyncio.create_task(self._fail_back(d), name=f"ha failback {d.vm}")
        self._tasks.append(task)
        task.add_done_callback(lambda t: self._tasks.remove(t) if t in self._tasks else None)

    async def _fail_back(self, d: Decision) -> None:
        async with self._failing_back:
            await self._carry_out_until_recorded(d)

    async def _carry_out_until_recorded(self, d: Decision) -> None:
        while True:
            await self._while_leased()
            try:
                await self._carry_out(d)
            except asyncio.CancelledError:
                raise
            except RecordingFailed as exc:  # never silently: said loudly, then tried again
                log.error("HA %s: %s", self.backend.name, exc)
                self._set_trouble("runs", str(exc))
                await self.clock.sleep(self.settings.check_interval)
                continue
            except Exception:
                log.exception("HA could not carry out %s", d.text())
                if d.kind is Kind.RESTART and d.vm is not None:
                    self.engine.restart_ended(d.vm)
            self._set_trouble("runs", "")
            self.memory.changed(self.engine)
            return
