"""`mvm-tui console VM` and `mvm-tui shell HOST` on the demo: a real terminal (a pty) attached
end to end (the guest answers, ctrl+] leaves with status 0 and the terminal as it was), a
script's piped input, a console another client holds (taken only with --force), and every
refusal as one line on stderr with nothing changed."""

from __future__ import annotations

import asyncio
import fcntl
import io
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mvm_tui.cli import main
from mvm_tui.clock import VirtualClock
from mvm_tui.console_cli import EXIT_BUSY, Target, attach_in
from mvm_tui.session import Session

DEADLINE_S = 30.0  # a Python start and the demo's set-up included


def mvm_tui(*args: str) -> list[str]:
    return [sys.executable, "-m", "mvm_tui", *args]


class Pty:
    """The master side of a pty a child runs on, read with a deadline."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.seen = bytearray()

    def read_until(self, needle: bytes) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while needle not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.master], [], [], left)[0]:
                raise AssertionError(f"{needle!r} not written; it wrote {bytes(self.seen)!r}")
            try:
                self.seen += os.read(self.master, 65536)
            except OSError:  # EIO: every end of the slave is closed
                raise AssertionError(f"{needle!r} not written before the end; it wrote "
                                     f"{bytes(self.seen)!r}") from None

    def type(self, data: bytes) -> None:
        os.write(self.master, data)


@pytest.fixture
def terminal() -> Iterator[tuple[int, int]]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))  # 100x30
    yield master, slave
    os.close(master)
    os.close(slave)


def test_a_vm_s_console_in_a_terminal_answers_and_ctrl_bracket_leaves(
        terminal: tuple[int, int], tmp_path: Path) -> None:
    master, slave = terminal
    before = termios.tcgetattr(slave)
    proc = subprocess.Popen(mvm_tui("console", "web-01", "--demo"), stdin=slave, stdout=slave,
                            stderr=slave, env={**os.environ, "XDG_STATE_HOME": str(tmp_path)})
    tty = Pty(master)
    try:
        tty.read_until(b"Connected to the console of web-01 (ctrl+] leaves; the VM keeps "
                       b"running)")
        tty.read_until(b"root@web-01\x1b[0m:~# ")  # the prompt: attached, the terminal raw
        tty.type(b"hostname\r")
        tty.read_until(b"hostname\r\nweb-01\r\n")
        tty.type(b"stty size\r")
        tty.read_until(b"stty size\r\n30 100\r\n")  # the terminal's size reached the guest
        tty.type(b"\x1d")
        tty.read_until(b"the console of web-01: left (the VM keeps running)")
        assert proc.wait(timeout=DEADLINE_S) == 0
    finally:
        proc.kill()
        proc.wait()
    assert termios.tcgetattr(slave) == before
    assert b"\x1d" not in tty.seen
    assert b"Traceback" not in tty.seen


def test_a_script_pipes_commands_to_a_shell_and_gets_their_output(tmp_path: Path) -> None:
    done = subprocess.run(mvm_tui("shell", "hv1", "--demo", "--wait", "1"), input=b"hostname\r",
                          capture_output=True, timeout=DEADLINE_S,
                          env={**os.environ, "XDG_STATE_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert b"hostname\r\nhv1\r\n" in done.stdout
    assert done.stderr.decode().splitlines() == [
        "Connected to a shell on hv1 (ctrl+] leaves)",
        "mvm-tui shell: a shell on hv1: input ended",
    ]


def test_an_unknown_vm_is_one_line_on_stderr(tmp_path: Path) -> None:
    done = subprocess.run(mvm_tui("console", "web-99", "--demo"), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=DEADLINE_S,
                          env={**os.environ, "XDG_STATE_HOME": str(tmp_path)})
    assert done.returncode == 2
    assert done.stderr == "mvm-tui console: VM web-99 does not exist\n"
    assert done.stdout == ""


class Fds:
    """A script's stdin and stdout: pipes."""

    def __init__(self, typed: bytes) -> None:
        self.stdin_r, stdin_w = os.pipe()
        os.write(stdin_w, typed)
        os.close(stdin_w)
        self.stdout_r, self.stdout_w = os.pipe()
        self.err = io.StringIO()

    def output(self) -> bytes:
        os.set_blocking(self.stdout_r, False)
        try:
            return os.read(self.stdout_r, 1 << 16)
        except BlockingIOError:
            return b""

    def close(self) -> None:
        for fd in (self.stdin_r, self.stdout_r, self.stdout_w):
            os.close(fd)


async def attach_with(session: Session, target: Target, typed: bytes,
                      force: bool = False) -> tuple[int, Fds]:
    fds = Fds(typed)
    code = await attach_in(session, None, target, force=force, stdin_fd=fds.stdin_r,
                           stdout_fd=fds.stdout_w, err=fds.err)
    return code, fds


async def test_a_console_another_client_holds_is_taken_only_with_force(
        session: Session) -> None:
    consoles = session.clusters[0].backend.consoles()
    assert consoles is not None
    other = await consoles.open_console("web-01")
    code, fds = await attach_with(session, Target("console", "web-01"), b"\x1d")
    fds.close()
    assert code == EXIT_BUSY
    assert fds.err.getvalue() == (
        "mvm-tui console: another client holds the console of web-01; nothing was changed. "
        "Run it again with --force to take it over (that client is cut off)\n")
    await other.write(b"x")  # still the other client's

    code, fds = await attach_with(session, Target("console", "web-01"), b"hostname\r\x1d",
                                  force=True)
    fds.close()
    assert code == 0
    assert fds.err.getvalue().splitlines() == [
        "Connected to the console of web-01 (ctrl+] leaves; the VM keeps running)",
        "mvm-tui console: the console of web-01: left (the VM keeps running)",
    ]
    while await other.read():  # the other client was cut off: its channel ended
        pass
    # and this one was closed when it left: the console is free again
    again = await consoles.open_console("web-01")
    await again.close()
    # the forced session is in History, the refused one is not
    (run,) = session.store.list_runs(cluster="demo")
    assert (run.title, run.params["via"], run.params["forced"]) == (
        "Console of VM web-01", "CLI", True)


@pytest.mark.parametrize(("target", "why"), [
    (Target("console", "web-99"), "mvm-tui console: VM web-99 does not exist"),
    (Target("console", "ci-runner-01"),
     "mvm-tui console: ci-runner-01 is shut off: its console exists while it runs"),
    (Target("shell", "hv9"), "mvm-tui shell: host hv9 does not exist"),
])
async def test_what_cannot_be_opened_is_one_line_and_nothing_is_sent(
        session: Session, target: Target, why: str) -> None:
    code, fds = await attach_with(session, target, b"reboot\r")
    assert code == 2
    assert fds.err.getvalue() == why + "\n"
    assert fds.output() == b""
    assert os.read(fds.stdin_r, 100) == b"reboot\r"  # not read: nothing was attached
    fds.close()


async def test_a_host_that_cannot_be_reached_is_one_line(session: Session,
                                                        clock: VirtualClock) -> None:
    injector = session.clusters[0].backend.fault_injector()
    assert injector is not None
    injector.cut_network("hv2")
    opening = asyncio.create_task(attach_with(session, Target("shell", "hv2"), b""))
    await clock.advance(60)  # the connection's timeout passes
    code, fds = await opening
    fds.close()
    assert code == 2
    (line,) = fds.err.getvalue().splitlines()
    assert line.startswith("mvm-tui shell: hv2")
    assert "timed out" in line


async def test_a_cluster_without_vm_consoles_says_so(
        session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session.clusters[0].backend, "consoles", lambda: None)
    code, fds = await attach_with(session, Target("console", "web-01"), b"")
    fds.close()
    assert code == 2
    assert fds.err.getvalue() == "mvm-tui console: cluster demo offers no VM consoles\n"


def test_a_wait_that_is_not_seconds_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["shell", "hv1", "--demo", "--wait", "soon"])
    assert exit_.value.code == 2
    assert "'soon' is not a number of seconds" in capsys.readouterr().err
