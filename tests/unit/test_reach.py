"""Every connection to a host is built by backends.reach from the host's config: preflight,
provisioning, the migration trust's own preflight and CLI run, and the backend (polling, HA,
decommission, all over RealBackend.ssh and its libvirt URIs). A host with its own known_hosts
file and a proxy_jump bastion: every target built for it carries both."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from mvm_tui.backends import reach
from mvm_tui.backends.real import RealBackend
from mvm_tui.backends.ssh import SshTarget
from mvm_tui.clock import VirtualClock
from mvm_tui.config import ClusterConfig, HostConfig
from mvm_tui.core.preflight import Item
from mvm_tui.services import cluster_builder, preflight
from mvm_tui.services.cluster_builder import ClusterBuilder
from mvm_tui.services.preflight import PreflightReport, run_preflight, spec_from_config

JUMP = "ops@192.0.2.1:2222"


class Built(Exception):
    """Raised by the recording pool once it has the targets: nothing connects."""


class RecordingPool:
    targets: list[SshTarget] = []

    def __init__(self, targets: Iterable[SshTarget], *args: Any, **kwargs: Any) -> None:
        RecordingPool.targets = list(targets)
        raise Built


@pytest.fixture
def cluster(tmp_path: Path) -> ClusterConfig:
    for name in ("hv1_known", "cluster_known", "key"):
        (tmp_path / name).write_text("")
    hosts = [
        HostConfig(name="hv1", address="192.0.2.11", key_file=tmp_path / "key",
                   known_hosts=tmp_path / "hv1_known", proxy_jump=JUMP),
        HostConfig(name="hv2", address="192.0.2.12", key_file=tmp_path / "key"),
    ]
    return ClusterConfig(name="c1", layout="external", hosts=hosts,
                         known_hosts=tmp_path / "cluster_known")


def check(targets: Iterable[SshTarget], tmp_path: Path) -> None:
    by_name = {t.name: t for t in targets}
    assert by_name["hv1"].known_hosts == tmp_path / "hv1_known"
    assert by_name["hv1"].proxy_jump == JUMP
    assert by_name["hv2"].known_hosts == tmp_path / "cluster_known"
    assert by_name["hv2"].proxy_jump is None


def test_the_target_carries_the_hosts_known_hosts_and_bastion(cluster: ClusterConfig,
                                                              tmp_path: Path) -> None:
    check([reach.ssh_target(cluster, h) for h in cluster.hosts], tmp_path)
    assert reach.ssh_target(cluster, "hv1") == reach.ssh_target(cluster, cluster.hosts[0])
    assert reach.ssh_target(cluster, "hv1", password_auth=True).password_auth
    uri = reach.libvirt_uri(cluster, "hv1", "libssh")
    assert f"known_hosts={tmp_path / 'hv1_known'}&" in uri


async def test_preflight_uses_it(cluster: ClusterConfig, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    spec = spec_from_config(cluster, {"hv2": "pw"})
    assert [h.target for h in spec.hosts] == [
        reach.ssh_target(cluster, "hv1", password_auth=False),
        reach.ssh_target(cluster, "hv2", password_auth=True)]
    monkeypatch.setattr(preflight, "SshPool", RecordingPool)
    with pytest.raises(Built):
        await run_preflight(spec)
    check(RecordingPool.targets, tmp_path)
    assert [t.password_auth for t in RecordingPool.targets] == [False, True]


async def test_the_trust_preflight_uses_it(cluster: ClusterConfig, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight, "SshPool", RecordingPool)
    with pytest.raises(Built):
        await preflight.trust_preflight(cluster)
    check(RecordingPool.targets, tmp_path)


async def test_provisioning_uses_it(cluster: ClusterConfig, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    async def passed(spec: preflight.PreflightSpec, *args: Any) -> list[PreflightReport]:
        check([h.ssh_target(spec.known_hosts) for h in spec.hosts], tmp_path)
        return [PreflightReport(h.name, (Item("sudo", "ok", "root"),)) for h in spec.hosts]

    monkeypatch.setattr(cluster_builder, "run_preflight", passed)
    monkeypatch.setattr(cluster_builder, "SshPool", RecordingPool)
    builder = ClusterBuilder(None, VirtualClock())  # type: ignore[arg-type]
    with pytest.raises(Built):
        await builder.build(cluster, {}, None)
    check(RecordingPool.targets, tmp_path)


async def test_the_backend_uses_it(cluster: ClusterConfig, tmp_path: Path) -> None:
    backend = RealBackend(cluster)
    check(backend.ssh.targets.values(), tmp_path)
    # hv1 is behind a bastion: its libvirt is a local socket forwarded over its SSH connection
    behind = backend.nodes["hv1"].host
    assert behind.uri.startswith("qemu+unix:///system?socket=/")
    assert behind.uri.endswith(".sock")
    assert behind.before_open is not None
    assert backend.nodes["hv2"].host.uri == reach.libvirt_uri(cluster, "hv2", "libssh2")
    assert backend.nodes["hv2"].host.before_open is None
    ha = backend.ha_host("hv1")
    assert (ha.uri, ha.before_open) == (behind.uri, behind.before_open)
    await backend.close()
