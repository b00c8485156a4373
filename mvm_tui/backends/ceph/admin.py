"""What administering Ceph needs from a backend (a host decommission): `ceph` commands run on
a host that has a monitor connection and the admin keyring, systemd units on one host, and the
monitors listed in a host's ceph.conf. RealBackend runs them over SSH; the simulator answers
them from its Ceph model in the same JSON as real Ceph, so the same parsers and steps run on
both."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

UnitAction = Literal["stop", "disable", "is-active"]


@dataclass(frozen=True)
class CliResult:
    exit_status: int
    stdout: str
    stderr: str


class CephAdmin(Protocol):
    async def ceph(self, argv: Sequence[str]) -> CliResult:
        """`argv` (from backends.ceph.commands: ["ceph", "--connect-timeout", ...]) on any
        host that answers; its exit status is returned, not checked. Raises BackendError
        when no host answers."""

    async def systemctl(self, host: str, action: UnitAction, unit: str) -> CliResult:
        """`systemctl ACTION UNIT` on the host (units: ceph-osd@ID, ceph-mon@NAME)."""

    async def crush_name(self, host: str) -> str:
        """The host's CRUSH bucket name (its short hostname)."""

    async def mon_host(self, host: str) -> str:
        """The mon_host value of /etc/ceph/ceph.conf on the host."""

    async def set_mon_host(self, host: str, value: str) -> None:
        """Rewrite mon_host in the host's /etc/ceph/ceph.conf (nothing else changes)."""
