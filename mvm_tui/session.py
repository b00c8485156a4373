"""Wires a session together from the command line: config, clock, backend, run store, Cluster.

Shared by the TUI and the headless commands, so both see the same clusters the same way.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from mvm_tui import paths
from mvm_tui.backends.base import ClusterBackend
from mvm_tui.backends.sim import demo_cluster
from mvm_tui.clock import Clock, SystemClock
from mvm_tui.config import Config, demo_config, load_config
from mvm_tui.runs import RunExecutor, RunStore
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

    async def close(self) -> None:
        for cluster in self.clusters:
            await cluster.stop()
        self.store.close()


def poll_timers(config: Config) -> PollTimers:
    t = config.timers
    return PollTimers(
        interval=t.poll_interval,
        timeout=t.poll_timeout,
        slow_threshold=t.slow_threshold,
        metrics_window=t.metrics_window,
    )


def load(config_path: Path | None, demo: bool) -> Config:
    """The demo's config, or the operator's (raises ConfigError with an operator message).
    With --demo and --config, the config's timers apply to the demo cluster."""
    if demo and config_path is None:
        return demo_config()
    return load_config(config_path or paths.default_config_path())


def open_session(
    config: Config,
    demo: bool,
    *,
    clock: Clock | None = None,
    db_path: Path | None = None,
    backend: ClusterBackend | None = None,
) -> Session:
    clock = clock or SystemClock()
    if not demo:
        # The SSH / libvirt backends that reach real hosts are not part of this version.
        raise SessionError(
            "this version can only run the built-in simulated cluster: pass --demo "
            "(the configuration was read and is valid)"
        )
    spec = demo_config().clusters[0]
    backend = backend or demo_cluster(clock)
    store = RunStore(db_path or paths.state_dir() / "demo-runs.sqlite3")
    executor = RunExecutor(store, clock)
    executor.recover()
    cluster = Cluster(
        backend,
        clock,
        executor,
        poll_timers(config),
        power_timeout=config.timers.power_timeout,
        config=spec,
    )
    return Session(config, [cluster], executor, store, clock)


async def poll_once(cluster: Cluster) -> None:
    """One poll of every host and of Ceph, at once; for headless commands."""
    poller = cluster.poller
    await asyncio.gather(*(poller.poll_host(h.name) for h in cluster.backend.hosts),
                         poller.poll_ceph())
