"""What can go wrong talking to a host over SSH, as typed errors with operator messages."""

from __future__ import annotations

from mvm_tui.backends.base import BackendError, HostUnreachable

__all__ = [
    "AuthFailed",
    "CommandFailed",
    "CommandTimeout",
    "HostKeyChanged",
    "HostKeyUnknown",
    "HostUnreachable",
    "SshError",
]


class SshError(BackendError):
    """An SSH problem with one host."""


class AuthFailed(SshError):
    """The host refused the key, the agent's keys or the password."""


class HostKeyUnknown(SshError):
    """The host's key is not in known_hosts. The operator may accept it (see hostkeys.accept)."""

    def __init__(self, host: str, address: str, port: int, fingerprint: str, key_line: str,
                 known_hosts: str) -> None:
        super().__init__(
            f"{host} ({address}:{port}): unknown host key {fingerprint}; not in {known_hosts}"
        )
        self.host = host
        self.address = address
        self.port = port
        self.fingerprint = fingerprint
        self.key_line = key_line  # the public key, as known_hosts stores it
        self.known_hosts = known_hosts


class HostKeyChanged(SshError):
    """The host presented a key other than the one known_hosts holds for it: refused."""

    def __init__(self, host: str, address: str, port: int, fingerprint: str,
                 known_hosts: str) -> None:
        super().__init__(
            f"{host} ({address}:{port}): HOST KEY CHANGED, now {fingerprint}, which is not "
            f"the key {known_hosts} holds for it. This can be an attack. If the host was "
            "reinstalled, remove its old line from that file (ssh-keygen -R) and connect again."
        )
        self.host = host
        self.fingerprint = fingerprint


class CommandFailed(SshError):
    """A remote command ended with a non-zero exit status."""

    def __init__(self, host: str, command: str, exit_status: int, stderr: str) -> None:
        last = stderr.strip().splitlines()[-3:]
        detail = ": " + " / ".join(last) if last else ""
        super().__init__(f"{host}: `{command}` failed with exit status {exit_status}{detail}")
        self.host = host
        self.command = command
        self.exit_status = exit_status
        self.stderr = stderr


class CommandTimeout(SshError):
    """A remote command did not end within its timeout (it was stopped)."""
