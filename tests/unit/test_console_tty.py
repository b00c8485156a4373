"""console_tty.attach: this process's terminal on a console channel. What is typed reaches the
channel as typed (raw), its output reaches stdout, ctrl+] leaves without being sent, a script's
input goes through and its end waits for the output, the terminal's size reaches the other end
at the start and on SIGWINCH, and the terminal's mode comes back however it ends."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import signal
import struct
import termios
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mvm_tui.backends.base import BackendError
from mvm_tui.console_tty import (
    INPUT_ENDED,
    LEFT,
    OTHER_END,
    OUTPUT_CLOSED,
    attach,
    exit_status,
)


class FakeChannel:
    """A ConsoleChannel that keeps what it is sent; `answer` says what a write makes it say."""

    def __init__(self, answer: Callable[[bytes], bytes] = lambda _: b"") -> None:
        self.why = ""
        self.answer = answer
        self.out: asyncio.Queue[bytes] = asyncio.Queue()
        self.written = bytearray()
        self.sizes: list[tuple[int, int]] = []
        self.changed = asyncio.Event()
        self.fail: Exception | None = None  # raised by the next write
        self.ends_after: bytes | None = None  # it ends once what was written ends so

    async def read(self) -> bytes:
        return await self.out.get()

    async def write(self, data: bytes) -> None:
        if self.fail is not None:
            raise self.fail
        self.written += data
        self.say(self.answer(data))
        if self.ends_after is not None and self.written.endswith(self.ends_after):
            self.end()
        self.changed.set()

    async def resize(self, columns: int, rows: int) -> None:
        self.sizes.append((columns, rows))
        self.changed.set()

    async def close(self) -> None:
        raise AssertionError("the caller closes the channel, not attach()")

    def say(self, data: bytes) -> None:
        if data:
            self.out.put_nowait(data)

    def end(self) -> None:
        self.out.put_nowait(b"")

    async def until(self, test: Callable[[], bool]) -> None:
        async with asyncio.timeout(5):
            while not test():
                self.changed.clear()
                await self.changed.wait()


async def read_until(fd: int, needle: bytes, got: bytearray) -> None:
    """Read `fd` into `got` until `needle` is in it (the loop says when there is something)."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(5):
        while needle not in got:
            ready = asyncio.Event()
            loop.add_reader(fd, ready.set)
            try:
                await ready.wait()
            finally:
                loop.remove_reader(fd)
            got += os.read(fd, 65536)


def pending(fd: int) -> bytes:
    """What can be read from `fd` now."""
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return b""


@pytest.fixture
def pipes() -> Iterator[tuple[int, int, int, int]]:
    """(stdin's read end, its write end, stdout's read end, its write end)."""
    stdin_r, stdin_w = os.pipe()
    stdout_r, stdout_w = os.pipe()
    yield stdin_r, stdin_w, stdout_r, stdout_w
    for fd in (stdin_r, stdin_w, stdout_r, stdout_w):
        with contextlib.suppress(OSError):  # (closed by the test)
            os.close(fd)


@pytest.fixture
def terminal() -> Iterator[tuple[int, int]]:
    """(master, slave) of a pty of 100x30."""
    master, slave = pty.openpty()
    set_size(slave, 100, 30)
    yield master, slave
    os.close(master)
    os.close(slave)


def set_size(fd: int, columns: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def hostname(data: bytes) -> bytes:
    return b"h1\r\n" if data == b"hostname\r" else b""


async def test_typed_bytes_reach_the_channel_its_output_stdout_and_ctrl_bracket_leaves(
        pipes: tuple[int, int, int, int]) -> None:
    stdin_r, stdin_w, stdout_r, stdout_w = pipes
    channel = FakeChannel()
    attached = asyncio.create_task(attach(channel, stdin_fd=stdin_r, stdout_fd=stdout_w))
    os.write(stdin_w, b"ls -l\r")
    await channel.until(lambda: channel.written == b"ls -l\r")
    channel.say(b"total 0\r\n")
    got = bytearray()
    await read_until(stdout_r, b"total 0\r\n", got)

    os.write(stdin_w, b"a\x1db")  # what comes before ctrl+] is sent; it and the rest are not
    assert await attached == LEFT
    assert channel.written == b"ls -l\ra"
    assert channel.sizes == []  # no terminal: no size to tell
    assert exit_status(LEFT) == 0


async def test_the_channel_ending_ends_it_after_its_last_output(
        pipes: tuple[int, int, int, int]) -> None:
    stdin_r, _, stdout_r, stdout_w = pipes
    channel = FakeChannel()
    channel.say(b"logout\r\n")
    channel.end()
    assert await attach(channel, stdin_fd=stdin_r, stdout_fd=stdout_w) == OTHER_END
    assert pending(stdout_r) == b"logout\r\n"


async def test_a_closed_channel_ends_it_when_written_to(
        pipes: tuple[int, int, int, int]) -> None:
    stdin_r, stdin_w, _, stdout_w = pipes
    channel = FakeChannel()
    channel.fail = BackendError("the console of web-01 is closed")
    os.write(stdin_w, b"x")
    assert await attach(channel, stdin_fd=stdin_r, stdout_fd=stdout_w) == OTHER_END


async def test_after_a_script_s_input_the_output_is_copied_until_the_channel_ends(
        pipes: tuple[int, int, int, int]) -> None:
    stdin_r, stdin_w, stdout_r, stdout_w = pipes
    channel = FakeChannel(lambda data: hostname(data[:len(b"hostname\r")]))
    channel.ends_after = b"exit\r"
    os.write(stdin_w, b"hostname\rexit\r")
    os.close(stdin_w)
    # a bound of an hour: only the channel's end can end it here
    assert await attach(channel, stdin_fd=stdin_r, stdout_fd=stdout_w,
                        wait_after_input=3600) == OTHER_END
    assert channel.written == b"hostname\rexit\r"
    assert pending(stdout_r) == b"h1\r\n"


async def test_after_a_script_s_input_a_quiet_channel_ends_it_after_the_bound(
        pipes: tuple[int, int, int, int]) -> None:
    stdin_r, stdin_w, stdout_r, stdout_w = pipes
    channel = FakeChannel(hostname)
    os.write(stdin_w, b"hostname\r")
    os.close(stdin_w)
    assert await attach(channel, stdin_fd=stdin_r, stdout_fd=stdout_w,
                        wait_after_input=0.05) == INPUT_ENDED
    assert channel.written == b"hostname\r"
    assert pending(stdout_r) == b"h1\r\n"  # the answer came before the output was quiet


async def test_without_a_bound_the_input_s_end_ends_it_once_everything_is_sent(
        pipes: tuple[int, int, int, int]) -> None:
    stdin_r, stdin_w, _, stdout_w = pipes
    channel = FakeChannel()
    os.write(stdin_w, b"reboot\r")
    os.close(stdin_w)
    assert await attach(channel, stdin_fd=stdin_r, stdout_fd=stdout_w) == INPUT_ENDED
    assert channel.written == b"reboot\r"


async def test_input_from_a_regular_file_goes_through(
        pipes: tuple[int, int, int, int], tmp_path: Path) -> None:
    """A file cannot be watched by the loop (epoll refuses it): it is read as it is."""
    _, _, stdout_r, stdout_w = pipes
    commands = tmp_path / "commands"
    commands.write_bytes(b"hostname\r")
    channel = FakeChannel(hostname)
    with commands.open("rb") as stdin:
        assert await attach(channel, stdin_fd=stdin.fileno(), stdout_fd=stdout_w,
                            wait_after_input=0.05) == INPUT_ENDED
    assert channel.written == b"hostname\r"
    assert pending(stdout_r) == b"h1\r\n"


async def test_a_reader_of_stdout_that_left_ends_it(pipes: tuple[int, int, int, int]) -> None:
    stdin_r, _, stdout_r, stdout_w = pipes
    os.close(stdout_r)  # like `mvm-tui shell h1 | head -1` once head has its line
    channel = FakeChannel()
    channel.say(b"welcome\r\n")
    assert await attach(channel, stdin_fd=stdin_r, stdout_fd=stdout_w) == OUTPUT_CLOSED


async def test_sigterm_ends_it_with_its_exit_status(pipes: tuple[int, int, int, int]) -> None:
    stdin_r, stdin_w, _, stdout_w = pipes
    before = signal.getsignal(signal.SIGTERM)
    channel = FakeChannel()
    attached = asyncio.create_task(attach(channel, stdin_fd=stdin_r, stdout_fd=stdout_w))
    os.write(stdin_w, b"x")
    await channel.until(lambda: channel.written == b"x")  # attached: its handlers are set
    os.kill(os.getpid(), signal.SIGTERM)
    reason = await attached
    assert reason == "stopped by SIGTERM"
    assert exit_status(reason) == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == before


async def test_on_a_terminal_keys_go_raw_the_size_follows_and_the_mode_comes_back(
        terminal: tuple[int, int]) -> None:
    master, slave = terminal
    before = termios.tcgetattr(slave)
    channel = FakeChannel()
    attached = asyncio.create_task(attach(channel, stdin_fd=slave, stdout_fd=slave))
    await channel.until(lambda: channel.sizes == [(100, 30)])  # at the start
    lflag = termios.tcgetattr(slave)[3]
    assert not lflag & (termios.ICANON | termios.ECHO | termios.ISIG)

    set_size(slave, 120, 40)
    os.kill(os.getpid(), signal.SIGWINCH)
    await channel.until(lambda: channel.sizes[-1:] == [(120, 40)])

    os.write(master, b"ls\r\x03\x1b[A")  # Enter as \r, ctrl+c and an arrow: as typed
    await channel.until(lambda: channel.written == b"ls\r\x03\x1b[A")
    channel.say(b"a\nb")  # no output processing either (\n stays \n)
    got = bytearray()
    await read_until(master, b"a\nb", got)
    assert bytes(got) == b"a\nb"

    os.write(master, b"\x1d")
    assert await attached == LEFT
    assert channel.written == b"ls\r\x03\x1b[A"
    assert termios.tcgetattr(slave) == before
    assert signal.getsignal(signal.SIGWINCH) == signal.SIG_DFL
    assert not asyncio.get_running_loop().remove_reader(slave)  # no longer watched


async def test_the_terminal_s_mode_comes_back_after_a_failure(
        terminal: tuple[int, int]) -> None:
    master, slave = terminal
    before = termios.tcgetattr(slave)
    channel = FakeChannel()
    channel.fail = RuntimeError("a bug in a channel")
    attached = asyncio.create_task(attach(channel, stdin_fd=slave, stdout_fd=slave))
    os.write(master, b"x")
    with pytest.raises(RuntimeError, match="a bug in a channel"):
        await attached
    assert termios.tcgetattr(slave) == before
    assert signal.getsignal(signal.SIGWINCH) == signal.SIG_DFL


async def test_the_terminal_s_mode_comes_back_after_a_cancellation(
        terminal: tuple[int, int]) -> None:
    _, slave = terminal
    before = termios.tcgetattr(slave)
    channel = FakeChannel()
    attached = asyncio.create_task(attach(channel, stdin_fd=slave, stdout_fd=slave))
    await channel.until(lambda: channel.sizes == [(100, 30)])
    assert termios.tcgetattr(slave) != before  # raw now
    attached.cancel()
    with pytest.raises(asyncio.CancelledError):
        await attached
    assert termios.tcgetattr(slave) == before
    assert not asyncio.get_running_loop().remove_reader(slave)


async def test_a_terminal_that_hangs_up_ends_it_at_once() -> None:
    """A script's input waits for the output after its end; a terminal's end is a hangup:
    there is nobody left to wait for."""
    master, slave = pty.openpty()
    set_size(slave, 80, 24)
    channel = FakeChannel()
    attached = asyncio.create_task(attach(channel, stdin_fd=slave, stdout_fd=slave,
                                          wait_after_input=3600))
    try:
        await channel.until(lambda: channel.sizes == [(80, 24)])
        os.close(master)
        assert await attached == INPUT_ENDED
    finally:
        os.close(slave)


async def test_output_to_a_terminal_that_hung_up_ends_it(
        pipes: tuple[int, int, int, int]) -> None:
    stdin_r = pipes[0]  # (open, nothing typed)
    master, slave = pty.openpty()
    os.close(master)  # writing to the slave: EIO
    channel = FakeChannel()
    channel.say(b"late\r\n")
    try:
        assert await attach(channel, stdin_fd=stdin_r, stdout_fd=slave) == OUTPUT_CLOSED
    finally:
        os.close(slave)
