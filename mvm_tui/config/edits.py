"""Changes to the config file by mvm-tui itself (a new cluster, a worker added, a host
decommissioned): each under the file's update lock, from the file as it is then.

Two processes (two TUIs, a TUI and `mvm-tui decommission`, `cluster create`...) may change the
file at once; each re-reads it under the lock (paths.update_lock) and writes it back before
the other can read it, so neither loses the other's change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from mvm_tui import paths
from mvm_tui.config.cluster import ClusterConfig, HostConfig
from mvm_tui.config.errors import ConfigError
from mvm_tui.config.io import load_config, save_config
from mvm_tui.config.model import Config
from mvm_tui.paths import lock_path, update_lock

__all__ = ["add_cluster", "add_hosts", "remove_host", "update_config"]


def update_config(path: Path, change: Callable[[Config], Config],
                  on_wait: Callable[[], None] | None = None) -> Config:
    """Write `change(the file's config now)` to `path` (a missing file is an empty config),
    under the file's update lock; returns what was written. A file that does not load
    raises ConfigError and is left as it is. `on_wait`: called if another process is changing
    the file when this one asks (it then waits for it, paths.LOCK_WAIT at most)."""
    path = Path(path)
    try:
        with update_lock(path, on_wait=on_wait):
            config = load_config(path) if path.exists() else Config()
            changed = change(config)
            save_config(changed, path)
    except TimeoutError:
        raise ConfigError(path, f"another process is changing it (it holds {lock_path(path)} "
                                f"for more than {paths.LOCK_WAIT:g} s); try again") from None
    return changed


def add_cluster(path: Path, cluster: ClusterConfig) -> Config:
    """Add the cluster to the config file (or replace the one of the same name)."""
    return update_config(path, lambda config: config.model_copy(update={"clusters": [
        *(c for c in config.clusters if c.name != cluster.name), cluster]}))


def add_hosts(path: Path, cluster: ClusterConfig, hosts: Sequence[HostConfig]) -> Config:
    """Add the hosts (a worker) to the cluster as the file has it now, replacing a host of
    the same name; the rest of its entry (a host another process removed meanwhile, say) is
    kept as it is in the file. A cluster no longer in the file is added as `cluster`."""
    names = {h.name for h in hosts}

    def change(config: Config) -> Config:
        if not any(c.name == cluster.name for c in config.clusters):
            return config.model_copy(update={"clusters": [*config.clusters, cluster]})
        return config.model_copy(update={"clusters": [
            c.model_copy(update={"hosts": [*(h for h in c.hosts if h.name not in names),
                                           *hosts]})
            if c.name == cluster.name else c for c in config.clusters]})

    return update_config(path, change)


def remove_host(path: Path, cluster: str, host: str) -> Config:
    """Remove the host from the cluster's hosts in the config file."""
    return update_config(path, lambda config: config.model_copy(update={"clusters": [
        c.model_copy(update={"hosts": [h for h in c.hosts if h.name != host]})
        if c.name == cluster else c for c in config.clusters]}))
