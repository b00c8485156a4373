"""`mvm-tui console VM [--force]` and `mvm-tui shell HOST`: a VM's serial console or a shell on
a host in this terminal (issue 18), for scripts and for operators who prefer their own
terminal's scrollback. ctrl+] leaves; the attaching itself is console_tty.py's. Whatever goes
wrong (an unknown VM or host, a VM that does not run, a host that cannot be reached, a cluster
without consoles) is one line on stderr and a non-zero exit status; nothing changes."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from dataclasses import dataclass
from typing import Literal, TextIO

from mvm_tui.backends.base import BackendError, ConsoleBusy
from mvm_tui.backends.capabilities import ConsoleChannel
from mvm_tui.config import Config
from mvm_tui.console_tty import INPUT_ENDED, LEFT, OTHER_END, attach, exit_status, terminal_size
from mvm_tui.services.cluster import Cluster
from mvm_tui.session import Prompts, Session, open_session
from mvm_tui.vm_cli import EXIT_REFUSED, Refused, pick_cluster

EXIT_BUSY = 3  # another client holds the VM's console (and --force was not given)
DEFAULT_SIZE = (80, 24)  # a shell's pty when this is no terminal


@dataclass(frozen=True)
class Target:
    kind: Literal["console", "shell"]
    name: str  # the VM's, or the host's

    @property
    def title(self) -> str:
        return (f"the console of {self.name}" if self.kind == "console"
                else f"a shell on {self.name}")


async def run_attach_command(args: argparse.Namespace, config: Config) -> int:
    """`mvm-tui console` or `mvm-tui shell`, as parsed by cli.py."""
    prompts = Prompts(accept_new_host_keys=args.accept_new_host_keys)
    target = (Target("console", args.vm) if args.command == "console"
              else Target("shell", args.host))
    session = open_session(config, args.demo, prompts=prompts)
    try:
        code = await attach_in(session, args.cluster, target,
                               force=getattr(args, "force", False), wait=args.wait)
    finally:
        await session.close()
    return code or prompts.report()


async def attach_in(session: Session, cluster_name: str | None, target: Target, *,
                    force: bool = False, wait: float = 0.0, stdin_fd: int | None = None,
                    stdout_fd: int | None = None, err: TextIO | None = None) -> int:
    """Open the target's channel and attach this terminal (or the fds given) to it until
    ctrl+], its end, or the input's end (then `wait` seconds without output). Returns the exit
    status."""
    err = err or sys.stderr
    stdin_fd = sys.stdin.fileno() if stdin_fd is None else stdin_fd
    stdout_fd = sys.stdout.fileno() if stdout_fd is None else stdout_fd
    command = f"mvm-tui {target.kind}"
    try:
        cluster = pick_cluster(session, cluster_name)
        channel = await _open_channel(cluster, target, force=force,
                                      size=terminal_size(stdout_fd, stdin_fd) or DEFAULT_SIZE)
    except ConsoleBusy as exc:
        print(f"{command}: {exc}; nothing was changed. Run it again with --force to take it "
              "over (that client is cut off)", file=err)
        return EXIT_BUSY
    except (Refused, BackendError) as exc:
        if not session.prompts.refused:  # (a refused host key: Prompts.report says it)
            print(f"{command}: {exc}", file=err)
        return EXIT_REFUSED
    keeps = "; the VM keeps running" if target.kind == "console" else ""
    print(f"Connected to {target.title} (ctrl+] leaves{keeps})", file=err, flush=True)
    try:
        reason = await attach(channel, stdin_fd=stdin_fd, stdout_fd=stdout_fd,
                              wait_after_input=wait)
    finally:
        with contextlib.suppress(BackendError):  # (closed at the other end already)
            await channel.close()
    after = (" (the VM keeps running)" if keeps and reason in (LEFT, INPUT_ENDED)
             else f" ({channel.why})" if reason == OTHER_END and channel.why else "")
    newline = "\n" if os.isatty(stdout_fd) and err.isatty() else ""  # after a prompt's line
    print(f"{newline}{command}: {target.title}: {reason}{after}", file=err, flush=True)
    return exit_status(reason)


async def _open_channel(cluster: Cluster, target: Target, *, force: bool,
                        size: tuple[int, int]) -> ConsoleChannel:
    """The console or shell, its session recorded in History (services/consoles). ConsoleBusy
    when another client holds the VM's console and not `force`; BackendError when it cannot
    be opened."""
    if target.kind == "console":
        return await cluster.consoles.open_console(target.name, force=force, via="CLI")
    return await cluster.consoles.open_shell(target.name, *size, via="CLI")
