"""How to reach a configured host: the ONE place an SSH target and a libvirt URI are built
from a host's config, for every connection (preflight, provisioning, polling, HA,
decommission, migration trust). Each carries the host's own known_hosts file (else the
cluster's, else the user's) and its proxy_jump bastion, so a key accepted anywhere is saved to
the file every later connection checks, and a host behind a bastion is reached through it
(libvirt too: over its SSH connection, see backends.ssh.libvirt_tunnel).
"""

from __future__ import annotations

from mvm_tui.backends.libvirt import build_uri
from mvm_tui.backends.libvirt.uri import Transport
from mvm_tui.backends.ssh import SshTarget
from mvm_tui.config import ClusterConfig, HostConfig


def _host(cluster: ClusterConfig, host: HostConfig | str) -> HostConfig:
    return cluster.host(host) if isinstance(host, str) else host


def ssh_target(cluster: ClusterConfig, host: HostConfig | str, *,
               password_auth: bool | None = None) -> SshTarget:
    """The SSH target of `host` (a host of `cluster`, or one about to join it).
    `password_auth` overrides the host's setting (preflight: a password was given)."""
    h = _host(cluster, host)
    return SshTarget(
        name=h.name, address=h.address, port=h.port, user=h.user, key_file=h.key_file,
        known_hosts=cluster.known_hosts_for(h),
        password_auth=h.password_auth if password_auth is None else password_auth,
        proxy_jump=h.proxy_jump,
    )


def libvirt_uri(cluster: ClusterConfig, host: HostConfig | str, transport: Transport) -> str:
    """The libvirt URI of `host`'s system libvirtd, checked against the same known_hosts file
    as its SSH target."""
    h = _host(cluster, host)
    return build_uri(
        h.user, h.address, port=h.port if h.port != 22 else None,
        keyfile=str(h.key_file) if h.key_file else None,
        known_hosts=str(cluster.known_hosts_for(h)), transport=transport,
    )
