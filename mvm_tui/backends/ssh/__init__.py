"""SSH to the hosts: pooled connections, checked host keys, quoted commands, typed errors."""

from mvm_tui.backends.ssh.errors import (
    AuthFailed,
    CommandFailed,
    CommandTimeout,
    HostKeyChanged,
    HostKeyUnknown,
    SshError,
)
from mvm_tui.backends.ssh.pool import (
    CommandResult,
    SshOptions,
    SshPool,
    SshTarget,
    command_line,
)

__all__ = [
    "AuthFailed",
    "CommandFailed",
    "CommandResult",
    "CommandTimeout",
    "HostKeyChanged",
    "HostKeyUnknown",
    "SshError",
    "SshOptions",
    "SshPool",
    "SshTarget",
    "command_line",
]
