"""`mvm-tui cluster create --from FILE.toml`: the wizard without the UI, for automation. FILE is
a config file holding the new cluster (the same keys as config.toml); the preflight runs first
and nothing changes unless every host passes; the provisioning log goes to stdout; the cluster
is then added to the config file (--config).

`mvm-tui cluster trust [--check] --config PATH`: the hosts' mutual trust for live migration of
an existing cluster, set up (the Run cluster creation and Add Worker run) and checked; with
--check only checked (read-only), each failure with what to fix."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from mvm_tui import paths
from mvm_tui.backends.reach import ssh_target
from mvm_tui.backends.ssh import SshOptions, SshPool
from mvm_tui.backends.ssh.errors import HostKeyUnknown
from mvm_tui.clock import SystemClock
from mvm_tui.config import ClusterConfig, ConfigError, load_config
from mvm_tui.runs import (
    LogAppended,
    RunEvent,
    RunExecutor,
    RunStore,
    RunStoreDamaged,
    StepChanged,
)
from mvm_tui.services.cluster_builder import BuildResult, ClusterBuilder
from mvm_tui.services.migration_trust import MigrationTrust, trust_hosts
from mvm_tui.services.preflight import trust_preflight


def _show(event: RunEvent, out: TextIO) -> None:
    if isinstance(event, StepChanged):
        s = event.step
        print(f"[{s.state.value}] run {s.run_id} step {s.index + 1}: {s.title}"
              + (f": {s.error}" if s.error else ""), file=out, flush=True)
    elif isinstance(event, LogAppended):
        print(f"    {event.line.text}", file=out, flush=True)


def _unknown_key(accept_new: bool,
                 out: TextIO) -> Callable[[HostKeyUnknown], Awaitable[bool]]:
    """What a host's unknown key gets: accepted with --accept-new-host-keys (the pool saves an
    accepted key), else refused; said on `out`."""
    async def answer(key: HostKeyUnknown) -> bool:
        print(f"{key.host}: unknown host key {key.fingerprint}"
              + (": accepted (--accept-new-host-keys)" if accept_new else ": refused"), file=out)
        return accept_new
    return answer


def _new_cluster(source: Path, target: Path) -> ClusterConfig | None:
    """The one cluster of `source`, or None (said on stderr): `source` cannot be read or does
    not hold one cluster, or `target` (the config file it goes to) cannot be read."""
    try:
        spec = load_config(source)
    except ConfigError as exc:
        print(f"mvm-tui cluster create: {exc}", file=sys.stderr)
        return None
    if len(spec.clusters) != 1:
        print(f"mvm-tui cluster create: {source} must hold exactly one [[clusters]] table",
              file=sys.stderr)
        return None
    try:  # the cluster is added to it at the end: a file it cannot read fails now, not then
        if target.exists():
            load_config(target)
    except ConfigError as exc:
        print(f"mvm-tui cluster create: {exc}", file=sys.stderr)
        return None
    return spec.clusters[0]


async def _passwords(cluster: ClusterConfig) -> dict[str, str] | None:
    """The login passwords of the hosts that use one, asked on the terminal; None (said on
    stderr) when one is needed and there is no terminal."""
    passwords: dict[str, str] = {}
    for h in cluster.hosts:
        if h.password_auth:
            if not sys.stdin.isatty():
                print(f"mvm-tui cluster create: {h.name} logs in with a password and there is "
                      "no terminal to ask it on", file=sys.stderr)
                return None
            passwords[h.name] = await asyncio.to_thread(
                getpass.getpass, f"password of {h.user}@{h.address} ({h.name}): ")
    return passwords


async def create_cluster(source: Path, config_path: Path | None, *, accept_new: bool = False,
                         out: TextIO | None = None, db_path: Path | None = None) -> int:
    out = out or sys.stdout
    target = config_path or paths.default_config_path()
    cluster = _new_cluster(source, target)
    if cluster is None:
        return 2
    passwords = await _passwords(cluster)
    if passwords is None:
        return 2

    def show(event: RunEvent) -> None:
        _show(event, out)

    try:  # before the preflight: nothing is done that could not be recorded
        store = RunStore(db_path or paths.runs_db_path())
    except RunStoreDamaged as damage:
        print(f"mvm-tui cluster create: {damage}", file=sys.stderr)
        return 74
    executor = RunExecutor(store, SystemClock())
    try:
        builder = ClusterBuilder(executor, SystemClock(),
                                 unknown_key=_unknown_key(accept_new, out))
        result = await builder.build(cluster, passwords, target, show)
    finally:
        executor.close()
        store.close()
    return _print_result(result, cluster, out)


def _print_result(result: BuildResult, cluster: ClusterConfig, out: TextIO) -> int:
    """What the build did, on `out`; the exit status."""
    for report in result.preflight:
        print(f"preflight {report.host}: {'ready' if report.ok else 'NOT ready'}", file=out)
        for item in report.items:
            if item.status != "ok":
                print(f"  [{item.status}] {item.check}: {item.detail}"
                      + (f" -> {item.fix}" if item.fix else ""), file=out)
    if not all(r.ok for r in result.preflight):
        print("nothing was changed: fix the preflight first", file=out)
        return 1
    for run in result.runs:
        print(f"run #{run.id} {run.title}: {run.state.value}"
              + (f": {run.error}" if run.error else ""), file=out)
    if result.saved:
        print(f"cluster {cluster.name} added to {result.saved}", file=out)
    return 0 if result.ok else 1


async def trust_cluster(config_path: Path | None, name: str | None, *, check_only: bool = False,
                        accept_new: bool = False, out: TextIO | None = None,
                        db_path: Path | None = None) -> int:
    """`mvm-tui cluster trust`: set up (unless --check) and check the hosts' mutual trust for
    live migration of a cluster of the config; 0 when every host reaches every other."""
    out = out or sys.stdout
    path = config_path or paths.default_config_path()
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"mvm-tui cluster trust: {exc}", file=sys.stderr)
        return 2
    chosen = [c for c in config.clusters if name is None or c.name == name]
    if len(chosen) != 1:
        names = ", ".join(c.name for c in config.clusters) or "none"
        print(f"mvm-tui cluster trust: name one cluster with --cluster (the clusters of {path}: "
              f"{names})", file=sys.stderr)
        return 2
    cluster = chosen[0]
    unknown_key = _unknown_key(accept_new, out)

    if not check_only:
        store = RunStore(db_path or paths.runs_db_path())
        executor = RunExecutor(store, SystemClock())
        pool = SshPool([ssh_target(cluster, h.name) for h in cluster.hosts],
                       SshOptions(connect_timeout=10, command_timeout=120),
                       unknown_key=unknown_key)
        unsubscribe = executor.subscribe(lambda e: _show(e, out))
        try:
            trust = MigrationTrust(executor, pool, cluster.name)
            record = await executor.execute(trust.create(trust_hosts(cluster)).id)
        finally:
            unsubscribe()
            await pool.close()
            executor.close()
            store.close()
        print(f"run #{record.id} {record.title}: {record.state.value}"
              + (f": {record.error}" if record.error else ""), file=out)
    reports = await trust_preflight(cluster, unknown_key)
    for report in reports:
        print(f"{report.host}: {'ready' if report.ok else 'NOT ready'} for migration", file=out)
        for item in report.items:
            print(f"  [{item.status}] {item.check}: {item.detail}"
                  + (f" -> {item.fix}" if item.fix else ""), file=out)
    return 0 if all(r.ok for r in reports) else 1
