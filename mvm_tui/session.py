"""Wires a session together from the command line: config, clock, backend, run store, Cluster.

Shared by the TUI and the headless commands, so both see the same clusters the same way.
"""

from __future__ import annotations

import asyncio
import getpass
import math
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mvm_tui import paths
from mvm_tui.backends.base import ClusterBackend
from mvm_tui.backends.libvirt import KeepAlive
from mvm_tui.backends.real import RealBackend
from mvm_tui.backends.real_options import RealOptions
from mvm_tui.backends.sim import demo_cluster
from mvm_tui.backends.ssh import AuthFailed, HostKeyUnknown, SshOptions, SshTarget
from mvm_tui.backends.ssh.pool import AskPassword, Purpose, UnknownKeyPolicy
from mvm_tui.clock import Clock, SystemClock
from mvm_tui.config import ClusterConfig, Config, HaConfig, demo_config, load_config
from mvm_tui.config_example import COMMAND as EXAMPLE_COMMAND
from mvm_tui.core.failover import HaSettings
from mvm_tui.runs import RunExecutor, RunStore, RunStoreDamaged
from mvm_tui.services.cluster import Cluster
from mvm_tui.services.inventory import PollTimers


class SessionError(Exception):
    """The session cannot start; the message says why and what to do."""


@dataclass
class Session:
    config: Config
    clusters: list[Cluster]
    executor: RunExecutor
    store: RunStore
    clock: Clock
    prompts: Prompts
    # the run store cannot be used: the session runs on an empty store in memory and its
    # executor refuses every run (nothing is done unrecorded); the file is left as it is
    store_damage: RunStoreDamaged | None = None
    # the demo's run store is this process's own, in this directory, removed at close
    scratch: Path | None = None

    def add(self, spec: ClusterConfig) -> Cluster:
        """A cluster created while the session runs (real hosts), beside the others."""
        backend = RealBackend(spec, real_options(self.config),
                              ask_password=self.prompts.ask_password,
                              unknown_key=self.prompts.on_unknown_key)
        cluster = Cluster(backend, self.clock, self.executor, poll_timers(self.config),
                          power_timeout=self.config.timers.power_timeout, config=spec,
                          ha_settings=ha_settings(self.config, spec), plans=self.config.plans)
        self.clusters.append(cluster)
        return cluster

    async def close(self) -> None:
        for cluster in self.clusters:
            await cluster.stop()
        self.close_store()

    def close_store(self) -> None:
        """Close the run store; the demo's (this process's own) is removed with its directory."""
        self.executor.close()
        self.store.close()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


def poll_timers(config: Config) -> PollTimers:
    t = config.timers
    return PollTimers(
        interval=t.poll_interval,
        timeout=t.poll_timeout,
        slow_threshold=t.slow_threshold,
        metrics_window=t.metrics_window,
    )


def ha_settings(config: Config, cluster: ClusterConfig | None = None) -> HaSettings:
    """HaSettings from the config's [timers] ha_* keys and the cluster's [clusters.ha]: the
    only place they are made (Cluster.ha_settings holds them for the HA service and the
    drill)."""
    t = config.timers
    ha = cluster.ha if cluster is not None else HaConfig()
    return HaSettings(
        check_interval=t.ha_check_interval,
        check_timeout=t.check_timeout,
        grace_period=t.ha_grace_period,
        blocklist_expiry=t.ha_blocklist_expiry,
        failback=ha.failback,
        ipmi=ha.ipmi,
        priorities=dict(ha.priorities),
    )


def real_options(config: Config) -> RealOptions:
    """Connection settings from the timers: a silent host's connections are given up within
    about poll_timeout (keepalive every third of it, two missed answers)."""
    t = config.timers
    beat = max(1, math.ceil(t.poll_timeout / 3))
    return RealOptions(
        ssh=SshOptions(connect_timeout=t.poll_timeout, keepalive_interval=beat,
                       keepalive_count_max=2),
        libvirt_connect_timeout=t.poll_timeout,
        keepalive=KeepAlive(interval_s=beat, count=2),
        # between slow and unreachable: a host with stalled VM stats shows slow
        stats_deadline=(t.slow_threshold + t.poll_timeout) / 2,
    )


def load(config_path: Path | None, demo: bool) -> Config:
    """The demo's config, or the operator's (raises ConfigError with an operator message).
    With --demo and --config, the config's timers apply to the demo cluster."""
    if demo and config_path is None:
        return demo_config()
    return load_config(config_path or paths.default_config_path())


@dataclass
class Prompts:
    """How the operator is asked for a decision or a secret. Headless by default: an unknown
    host key is refused (or accepted with accept_new_host_keys), a password is read from the
    terminal. The TUI replaces both with dialogs. Passwords stay in memory."""

    accept_new_host_keys: bool = False
    host_key: UnknownKeyPolicy | None = None
    password: AskPassword | None = None
    refused: list[HostKeyUnknown] = field(default_factory=list)
    accepted: list[HostKeyUnknown] = field(default_factory=list)
    _answers: dict[tuple[str, str], asyncio.Future[bool]] = field(default_factory=dict)

    async def on_unknown_key(self, unknown: HostKeyUnknown) -> bool:
        """Asked once per host and key: the same question (a host's poll and a Ceph command
        meet the same key) waits for the first answer, and a refusal stands."""
        key = (unknown.host, unknown.fingerprint)
        if key not in self._answers:
            self._answers[key] = asyncio.ensure_future(self._decide(unknown))
        return await asyncio.shield(self._answers[key])

    def awaiting(self, host: str) -> bool:
        """A question about the host's key waits for the operator's answer."""
        return any(h == host and not answer.done() for (h, _), answer in self._answers.items())

    async def _decide(self, unknown: HostKeyUnknown) -> bool:
        if self.host_key is not None:
            ok = await self.host_key(unknown)
        else:
            ok = self.accept_new_host_keys
        (self.accepted if ok else self.refused).append(unknown)
        return ok

    def report(self) -> int:
        """What a headless command says of the host keys met (on stderr): 1 when one was
        refused (its host was not reached), else 0."""
        for key in self.accepted:
            print(f"mvm-tui: {key.host}: accepted new host key {key.fingerprint}, saved in "
                  f"{key.known_hosts}", file=sys.stderr)
        for key in self.refused:
            print(f"mvm-tui: {key}; check it, then run again with --accept-new-host-keys to "
                  "trust it", file=sys.stderr)
        return 1 if self.refused else 0

    async def ask_password(self, target: SshTarget, purpose: Purpose) -> str:
        if self.password is not None:
            return await self.password(target, purpose)
        if not sys.stdin.isatty():
            raise AuthFailed(f"{target.label}: a {purpose} password is needed and there is "
                             "no terminal to ask it on")
        prompt = f"{purpose} password for {target.user}@{target.address} ({target.name}): "
        try:
            return await asyncio.to_thread(getpass.getpass, prompt)
        except EOFError:
            raise AuthFailed(f"{target.label}: no {purpose} password given") from None


def open_session(
    config: Config,
    demo: bool,
    *,
    clock: Clock | None = None,
    db_path: Path | None = None,
    backend: ClusterBackend | None = None,
    prompts: Prompts | None = None,
) -> Session:
    clock = clock or SystemClock()
    prompts = prompts or Prompts()
    scratch = None
    if demo:
        specs = [demo_config().clusters[0]]
        backends = [backend or demo_cluster(clock)]
        if db_path is None:  # its own History: runs of an earlier demo match no simulator now
            scratch = Path(tempfile.mkdtemp(prefix="mvm-tui-demo-"))
            db_path = scratch / "runs.sqlite3"
        store_path = db_path
    else:
        if not config.clusters:
            raise SessionError(
                "the configuration has no cluster: add a [[clusters]] table "
                f"(`{EXAMPLE_COMMAND}` shows one), or pass --demo"
            )
        specs = list(config.clusters)
        backends = [
            backend or RealBackend(c, real_options(config), ask_password=prompts.ask_password,
                                   unknown_key=prompts.on_unknown_key)
            for c in specs
        ]
        store_path = db_path or paths.runs_db_path()
    store, damage = open_store(store_path)
    executor = RunExecutor(store, clock, refusal=None if damage is None else str(damage))
    executor.recover()
    clusters = [
        Cluster(b, clock, executor, poll_timers(config),
                power_timeout=config.timers.power_timeout, config=spec,
                ha_settings=ha_settings(config, spec), plans=config.plans)
        for spec, b in zip(specs, backends, strict=True)
    ]
    return Session(config, clusters, executor, store, clock, prompts, damage, scratch)


def open_store(path: Path) -> tuple[RunStore, RunStoreDamaged | None]:
    """The run store at `path`; if it cannot be used, an empty one in memory and why (the
    file is left exactly as it is: see runs/damage.py)."""
    try:
        return RunStore(path), None
    except RunStoreDamaged as damage:
        return RunStore(path, memory=True), damage


async def poll_once(cluster: Cluster) -> None:
    """One poll of every host and of Ceph, at once; for headless commands."""
    poller = cluster.poller
    await asyncio.gather(*(poller.poll_host(h.name) for h in cluster.backend.hosts),
                         poller.poll_ceph())


async def measure(cluster: Cluster, interval: float) -> None:
    """What `inventory` prints: with interval > 0, poll_once, then every host again
    `interval` seconds later, so the rates of that second poll (CPU %, disk and network) are
    over the interval (rates are differences of counters: one poll cannot give them) and the
    hosts' storage is from Ceph's answer to the first. With 0, Ceph then the hosts, once."""
    poller = cluster.poller

    async def hosts() -> None:
        await asyncio.gather(*(poller.poll_host(h.name) for h in cluster.backend.hosts))

    if interval <= 0:
        await poller.poll_ceph()
        await hosts()
        return
    await poll_once(cluster)
    await cluster.clock.sleep(interval)
    await hosts()
