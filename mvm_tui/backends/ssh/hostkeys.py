"""Host keys: tell an unknown key from a changed one, and save a key the operator accepted.

Checking itself is asyncssh's (known_hosts=PATH on every connection); this module only runs
after asyncssh refused a key, to say which case it is and to show the key's fingerprint.
"""

from __future__ import annotations

from pathlib import Path

import asyncssh

from mvm_tui import paths
from mvm_tui.backends.ssh.errors import HostKeyChanged, HostKeyUnknown


def known_hosts_pattern(address: str, port: int) -> str:
    """How known_hosts names a host: `addr`, or `[addr]:port` on another port than 22."""
    return address if port == 22 else f"[{address}]:{port}"


def trusted_keys(known_hosts: Path, address: str, port: int) -> list[asyncssh.SSHKey]:
    if not known_hosts.exists():
        return []
    known = asyncssh.read_known_hosts(str(known_hosts))
    return list(known.match(address, address, port)[0])


async def classify(
    host: str,
    address: str,
    port: int,
    known_hosts: Path,
    tunnel: asyncssh.SSHClientConnection | None = None,
) -> HostKeyUnknown | HostKeyChanged | None:
    """After a refused key: fetch the key the host presents (nothing is authenticated) and
    say whether it is unknown or changed. None when the host presents no key at all."""
    key = await asyncssh.get_server_host_key(address, port, tunnel=tunnel or ())
    if key is None:
        return None
    fingerprint = key.get_fingerprint("sha256")
    if trusted_keys(known_hosts, address, port):
        return HostKeyChanged(host, address, port, fingerprint, str(known_hosts))
    line = key.export_public_key("openssh").decode().strip()
    return HostKeyUnknown(host, address, port, fingerprint, line, str(known_hosts))


def accept(unknown: HostKeyUnknown) -> None:
    """Add the key the operator accepted to its known_hosts file (atomically, mode 0600),
    under the file's update lock: a key another process adds at the same time is kept."""
    path = Path(unknown.known_hosts)
    with paths.update_lock(path):
        old = path.read_bytes() if path.exists() else b""
        if old and not old.endswith(b"\n"):
            old += b"\n"
        line = f"{known_hosts_pattern(unknown.address, unknown.port)} {unknown.key_line}\n"
        if line.encode() not in old.splitlines(keepends=True):
            paths.write_private(path, old + line.encode())
