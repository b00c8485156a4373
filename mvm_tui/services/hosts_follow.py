"""A process that did not run a decommission itself (the headless HA service, `mvm-tui ha`,
on this or another jump box) learns that a host left the cluster from the config file: the
decommission's last step deletes the host's entry there. Seen gone, the host leaves through the
same signal as in the process that ran the decommission: ClusterBackend.host_left (the backend's
host list, the inventory poller and the HA service all hear it)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

from mvm_tui.backends.base import ClusterBackend
from mvm_tui.clock import Clock
from mvm_tui.config import ConfigError, load_config

log = logging.getLogger(__name__)

# cluster -> the names of its hosts, as configured now; None: cannot be read now (being saved)
HostsReader = Callable[[], Mapping[str, Collection[str]] | None]


def config_hosts(path: Path) -> HostsReader:
    def read() -> dict[str, set[str]] | None:
        try:
            config = load_config(path)
        except ConfigError as exc:
            log.warning("the config cannot be read now (%s): hosts as they were", exc)
            return None
        return {c.name: {h.name for h in c.hosts} for c in config.clusters}

    return read


def hosts_gone(backends: Sequence[ClusterBackend], read: HostsReader,
               said: Callable[[str], None]) -> None:
    """Every host the config no longer has leaves its backend (host_left). A cluster missing
    from the config altogether is left alone (not taken as all its hosts leaving)."""
    hosts = read()
    if hosts is None:
        return
    for backend in backends:
        if backend.name not in hosts:
            continue
        for host in [h.name for h in backend.hosts if h.name not in hosts[backend.name]]:
            said(f"{backend.name}: {host} left the cluster (no longer in the config): no "
                 "longer checked")
            backend.host_left(host)


async def follow_hosts(backends: Sequence[ClusterBackend], read: HostsReader, clock: Clock,
                       every: float, said: Callable[[str], None]) -> None:
    """hosts_gone every `every` seconds, until cancelled."""
    while True:
        await clock.sleep(every)
        try:
            hosts_gone(backends, read, said)
        except Exception:  # never stops following
            log.exception("following the configured hosts failed")
