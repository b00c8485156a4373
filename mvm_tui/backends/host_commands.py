"""Commands run on a cluster host over its SSH connection, and how a preview shows them.

The real backend runs these argvs (as root: through sudo for another user) and the simulator
previews the same ones, so the demo shows what a real cluster would run. The maintenance
marker is a file on the host itself, so every jump box (and HA service) sees it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from pathlib import PurePosixPath

MAINTENANCE = PurePosixPath("/var/lib/mvm-tui/maintenance")  # on the host: it is in maintenance


def on_host(host: str, argv: Sequence[str]) -> str:
    """What running `argv` as root on `host` amounts to, as a command an operator could run:
    ssh hv1 sudo touch /var/lib/mvm-tui/maintenance

    ssh hands the host one command line, its words joined by spaces: a command with quoted
    words goes in quotes of its own (ssh hv1 "sudo ceph ... 'allow *'"), so that the host's
    shell reads the same words."""
    remote = shlex.join(["sudo", *argv])
    if remote == " ".join(["sudo", *argv]):
        return f"ssh {shlex.quote(host)} {remote}"
    if "!" in remote:  # (history expansion in double quotes)
        return f"ssh {shlex.quote(host)} {shlex.quote(remote)}"
    escaped = re.sub(r'([\\"$`])', r"\\\1", remote)
    return f'ssh {shlex.quote(host)} "{escaped}"'


def maintenance_argvs(on: bool) -> list[list[str]]:
    """What puts a host in maintenance (on) or takes it out, one argv a command."""
    if on:
        return [["mkdir", "-p", str(MAINTENANCE.parent)], ["touch", str(MAINTENANCE)]]
    return [["rm", "-f", str(MAINTENANCE)]]


def maintenance_commands(host: str, on: bool) -> list[str]:
    return [on_host(host, argv) for argv in maintenance_argvs(on)]
