"""`mvm-tui ha --config PATH`: the HA service headless, for a jump box with nobody logged in
(see contrib/mvm-tui-ha.service). Decisions go to stdout, one line each (the journal)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mvm_tui.aio import quiet_lost_connections
from mvm_tui.backends.base import BackendError
from mvm_tui.backends.ipmi import NO_PASSWORD, ipmi_password
from mvm_tui.clock import Clock
from mvm_tui.config import ConfigError
from mvm_tui.core.failover import Decision
from mvm_tui.services.balancer import Balancer, balance_settings
from mvm_tui.services.cluster import Cluster
from mvm_tui.services.ha import HaService
from mvm_tui.services.ha_actions import HaActions, NoHaActions
from mvm_tui.services.ha_failover import FailoverActions
from mvm_tui.services.ha_lease import HaLease, RadosLease
from mvm_tui.services.ha_lock import HaLock, HaLockHeld
from mvm_tui.services.ha_state_rados import RadosHaState
from mvm_tui.services.hosts_follow import config_hosts, follow_hosts
from mvm_tui.session import Session, SessionError, load, open_session

EXIT_LOCKED = 75  # EX_TEMPFAIL: another HA service is active; systemd may try again later
EXIT_TROUBLE = 74  # EX_IOERR: at some point HA could not record a run or keep its state


def build_ha_service(session: Session, cluster: Cluster, lock_dir: Path | None = None
                     ) -> HaService:
    """The HA service of one cluster of a session (not started)."""
    backend = cluster.backend
    settings = cluster.ha_settings
    actions: HaActions
    check = None
    lease: HaLease | None = None
    failover = backend.failover()
    if failover is None:
        actions = NoHaActions(backend)
    elif failover.self_fence_required and (cluster.config is None
                                           or cluster.config.ha.self_fence_after is None):
        actions = NoHaActions(backend, NoHaActions.NO_SELF_FENCE)
    else:
        state = failover.state_store()
        admin = backend.ceph_admin()
        if state is None and admin is not None and cluster.config is not None:
            # the cluster keeps no state for HA: in RADOS, next to the lease HA acts under
            ha = cluster.config.ha
            state = RadosHaState(admin.ceph, backend.name, ha.lock_pool)
            lease = RadosLease(admin.ceph, backend.name, ha.lock_pool, ha.lock_lease)
        actions = acting = FailoverActions(failover, settings.check_timeout, state)
        check = acting.check
    balancer = None
    if cluster.config is not None and cluster.config.balance.enabled:
        balancer = Balancer(backend, session.clock, session.executor,
                            balance_settings(cluster.config.balance), settings.limits,
                            cluster.snapshot, vm_changed=cluster.poller.update_vm,
                            other_moves=lambda: cluster.maintenance.in_flight)
    service = HaService(backend, session.clock, settings, session.executor, actions,
                        check=check, lock=None if lease else HaLock(cluster.name, lock_dir),
                        lease=lease, balancer=balancer,
                        notify_command=cluster.config.ha.notify_command if cluster.config
                        else (), awaiting_operator=session.prompts.awaiting)
    # an evacuation never moves a VM to a host this service knows lost or fenced
    cluster.maintenance.unusable = service.unusable_hosts
    return service


class _Troubles:
    """Whether HA could not record or keep something at some point: the exit status says so."""

    def __init__(self) -> None:
        self.seen = False

    def said(self, name: str) -> Callable[[str], None]:
        """What the HA service of cluster `name` calls with a problem, or "" once it is over."""
        def trouble(problem: str) -> None:
            if problem:
                self.seen = True
                print(f"mvm-tui ha: {name}: ERROR: {problem}", file=sys.stderr, flush=True)
            else:
                print(f"mvm-tui ha: {name}: recovered", file=sys.stderr, flush=True)
        return trouble


def _shown(name: str, out: Any) -> Callable[[Decision], None]:
    """A decision of the HA service of cluster `name` as a line of `out`."""
    def show(d: Decision) -> None:
        when = time.strftime("%H:%M:%S", time.localtime(d.time))
        print(f"{when} {name}: {d.text()}", file=out, flush=True)
    return show


def _warn_of_limits(c: Cluster, service: HaService) -> None:
    """On stderr: a fence by IPMI without its password, an HA that restarts nothing."""
    if c.config is not None and c.config.ha.ipmi:
        try:
            missing = ipmi_password() is None
        except BackendError as exc:
            print(f"mvm-tui ha: {c.name}: warning: {exc}", file=sys.stderr)
        else:
            if missing:
                print(f"mvm-tui ha: {c.name}: warning: {NO_PASSWORD}; a fence by IPMI "
                      "will fail until then", file=sys.stderr)
    if isinstance(service.actions, NoHaActions):
        print(f"mvm-tui ha: {c.name}: {service.actions.why}; lost hosts will be "
              "reported, their VMs not restarted", file=sys.stderr)


def _say_started(c: Cluster, service: HaService, out: Any) -> None:
    """The service of `c` started: the balancer's inventory with it, and how it acts."""
    if service.balancer is not None:
        c.start()  # the balancer plans on the inventory's load figures
        print(f"mvm-tui ha: {c.name}: auto balancing on", file=out, flush=True)
    if service.lease is not None:
        print(f"mvm-tui ha: {c.name}: HA service started: it acts while it holds the "
              f"Ceph lock {service.lease.describe()}, stands by otherwise", file=out,
              flush=True)
    else:
        print(f"mvm-tui ha: {c.name}: HA service active", file=out, flush=True)


# over 60 lines only by its signature and docstring (its body is 47): one flow, left whole
async def run_ha(
    config_path: Path | None,
    *,
    demo: bool = False,
    cluster: str | None = None,
    stop: asyncio.Event | None = None,
    clock: Clock | None = None,
    db_path: Path | None = None,
    lock_dir: Path | None = None,
    out: Any = None,
) -> int:
    """Run the HA service of every configured cluster (or just `cluster`) until SIGTERM or
    SIGINT (or `stop` is set). Returns the exit status: 0, 2 (bad config), 75 (another HA
    service holds a cluster's lock), 74 (HA could not record a run or keep its state at some
    point: each time said on stderr, and tried again; or the run store cannot be used, and
    HA did not start)."""
    out = out or sys.stdout
    try:
        config = load(config_path, demo)
        session = open_session(config, demo, clock=clock, db_path=db_path)
    except (ConfigError, SessionError) as exc:
        print(f"mvm-tui ha: {exc}", file=sys.stderr)
        return 2
    if session.store_damage is not None:  # HA never acts unrecorded
        print(f"mvm-tui ha: {session.store_damage}. HA records every action it takes, so it "
              "does not start until then", file=sys.stderr)
        await session.close()
        return EXIT_TROUBLE
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    quiet_lost_connections(loop)
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    services: list[HaService] = []
    troubles = _Troubles()
    follow: asyncio.Task[None] | None = None
    try:
        for c in session.clusters:
            if cluster is not None and c.name != cluster:
                continue
            service = build_ha_service(session, c, lock_dir)
            _warn_of_limits(c, service)
            service.subscribe(_shown(c.name, out))
            service.on_trouble(troubles.said(c.name))
            service.start()
            services.append(service)
            _say_started(c, service, out)
        if config_path is not None and not demo:  # a host decommissioned elsewhere leaves
            follow = asyncio.create_task(follow_hosts(
                [s.backend for s in services], config_hosts(config_path), session.clock,
                config.timers.ha_check_interval,
                lambda said: print(f"mvm-tui ha: {said}", file=out, flush=True)))
        await stop.wait()
        return EXIT_TROUBLE if troubles.seen else 0
    except HaLockHeld as exc:
        print(f"mvm-tui ha: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    finally:
        await _stop_all(follow, services, session)
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


async def _stop_all(follow: asyncio.Task[None] | None, services: list[HaService],
                    session: Session) -> None:
    if follow is not None:
        follow.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follow
    for service in services:
        await service.stop()
    for c in session.clusters:
        await c.stop()
    await session.close()
