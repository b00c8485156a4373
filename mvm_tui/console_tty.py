"""This process's own terminal attached to a console channel (a VM's serial console, a host's
shell): `mvm-tui console` and `mvm-tui shell` (issue 18). No Textual: bytes in, bytes out.

What is typed goes to the channel as typed (stdin in raw mode when it is a terminal: ctrl+c,
ctrl+z and the arrows reach the other end), what the channel writes goes to stdout, until
ctrl+] (not sent), the channel ends, or the input ends. A script's input (a pipe, a file) goes
through the same way; once it ends, the output is still copied until the channel ends or
nothing more has come for `wait_after_input` seconds. The terminal's mode is restored however
it ends (an exception, a cancellation, SIGTERM or SIGHUP).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import select
import signal
import termios
import tty
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from types import FrameType

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.capabilities import ConsoleChannel

LEAVE = b"\x1d"  # ctrl+]
LEFT = "left"
OTHER_END = "ended by the other end"
INPUT_ENDED = "input ended"
OUTPUT_CLOSED = "output closed"
STOPPED = "stopped by "  # + the signal's name: SIGTERM, SIGHUP
_STOPPING = (signal.SIGTERM, signal.SIGHUP)
_CHUNK = 65536


def exit_status(reason: str) -> int:
    """A command's exit status for the way its attach ended: 0, or 128 + the signal that
    stopped it."""
    if reason.startswith(STOPPED):
        return 128 + signal.Signals[reason.removeprefix(STOPPED)]
    return 0


def terminal_size(*fds: int) -> tuple[int, int] | None:
    """(columns, rows) of the first of `fds` that is a terminal with a size."""
    for fd in fds:
        if not os.isatty(fd):
            continue
        try:
            size = os.get_terminal_size(fd)
        except OSError:
            continue
        if size.columns > 0 and size.lines > 0:
            return size.columns, size.lines
    return None


@dataclass(frozen=True)
class _Resize:
    columns: int
    rows: int


@dataclass(frozen=True)
class _End:
    """The input ended (LEFT: the leave byte; INPUT_ENDED: end of file), after what was
    queued before it is sent."""

    reason: str


_Item = bytes | _Resize | _End
_Handler = Callable[[int, FrameType | None], object] | int | None  # as signal.getsignal gives


async def attach(channel: ConsoleChannel, *, stdin_fd: int, stdout_fd: int,
                 leave: bytes = LEAVE, wait_after_input: float = 0.0) -> str:
    """Attach stdin and stdout to `channel` until it ends; returns why: LEFT (the leave byte
    was typed; it is not sent), OTHER_END (the channel ended), INPUT_ENDED (stdin's end of
    file, then `wait_after_input` seconds without output), OUTPUT_CLOSED (stdout's reader
    left) or STOPPED + a signal's name. `wait_after_input` applies to a script's input (a
    pipe, a file), not a terminal's. The channel is not closed here: the caller's."""
    saved = termios.tcgetattr(stdin_fd) if os.isatty(stdin_fd) else None
    # a terminal's input ends when it hangs up: nobody is left to read what would come
    attached = _Attached(channel, stdin_fd, stdout_fd, leave,
                         wait_after_input if saved is None else 0.0)
    try:
        if saved is not None:
            tty.setraw(stdin_fd, termios.TCSADRAIN)
        return await attached.run()
    finally:
        try:
            await attached.detach()
        finally:
            if saved is not None:
                with contextlib.suppress(termios.error):  # EIO: it hung up, nothing to restore
                    termios.tcsetattr(stdin_fd, termios.TCSADRAIN, saved)


class _Attached:
    def __init__(self, channel: ConsoleChannel, stdin_fd: int, stdout_fd: int, leave: bytes,
                 wait_after_input: float) -> None:
        self.channel = channel
        self.stdin_fd, self.stdout_fd = stdin_fd, stdout_fd
        self.leave = leave
        self.wait_after_input = wait_after_input
        self.loop = asyncio.get_running_loop()
        self.ended: asyncio.Future[str] = self.loop.create_future()
        self.inbox: asyncio.Queue[_Item] = asyncio.Queue()
        self.tasks: list[asyncio.Task[None]] = []
        self.reading = False  # stdin watched by the loop (add_reader)
        self.signals: dict[signal.Signals, _Handler] = {}  # and the handler before
        self.idle: asyncio.TimerHandle | None = None  # after the input ended: the bound
        self.input_done = False

    async def run(self) -> str:
        if os.isatty(self.stdout_fd) or os.isatty(self.stdin_fd):
            self._resized()  # the other end hears the size now, and at each change
            self._on_signal(signal.SIGWINCH, self._resized)
        for sig in _STOPPING:
            self._on_signal(sig, functools.partial(self._end, STOPPED + sig.name))
        self._start(self._output())
        self._start(self._send())
        try:
            self.loop.add_reader(self.stdin_fd, self._readable)
            self.reading = True
        except PermissionError:  # a regular file (or /dev/null): epoll cannot watch it,
            self._start(self._read_file())  # and reading it never blocks
        return await self.ended

    async def detach(self) -> None:
        if self.reading:
            self.loop.remove_reader(self.stdin_fd)
            self.reading = False
        for sig, before in self.signals.items():
            self.loop.remove_signal_handler(sig)
            if before is not None:
                signal.signal(sig, before)
        self.signals.clear()
        if self.idle is not None:
            self.idle.cancel()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    # -- setting up ------------------------------------------------------------------------

    def _start(self, work: Coroutine[object, object, None]) -> None:
        task = asyncio.ensure_future(work)
        task.add_done_callback(self._task_done)
        self.tasks.append(task)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self.ended.done():
            return
        error = task.exception()
        if error is not None:  # a fault, not an end: attach() raises it
            self.ended.set_exception(error)

    def _on_signal(self, sig: signal.Signals, handler: Callable[[], None]) -> None:
        before = signal.getsignal(sig)
        try:
            self.loop.add_signal_handler(sig, handler)
        except (RuntimeError, ValueError):  # not the main thread: no signals heard
            return
        self.signals[sig] = before

    def _end(self, reason: str) -> None:
        if not self.ended.done():
            self.ended.set_result(reason)

    # -- the input -------------------------------------------------------------------------

    def _readable(self) -> None:
        try:
            data = os.read(self.stdin_fd, _CHUNK)
        except BlockingIOError:
            return
        except OSError:  # EIO: the terminal hung up
            data = b""
        self._take(data)

    async def _read_file(self) -> None:
        while not self.input_done:
            self._take(os.read(self.stdin_fd, _CHUNK))
            await asyncio.sleep(0)  # (a turn for the rest between chunks)

    def _take(self, data: bytes) -> None:
        if self.input_done:
            return
        at = data.find(self.leave) if self.leave else -1
        if at >= 0:
            data, end = data[:at], _End(LEFT)
        elif not data:
            end = _End(INPUT_ENDED)
        else:
            self.inbox.put_nowait(data)
            return
        if data:
            self.inbox.put_nowait(data)
        self.inbox.put_nowait(end)
        self.input_done = True
        if self.reading:
            self.loop.remove_reader(self.stdin_fd)
            self.reading = False

    def _resized(self) -> None:
        size = terminal_size(self.stdout_fd, self.stdin_fd)
        if size is not None:
            self.inbox.put_nowait(_Resize(*size))

    async def _send(self) -> None:
        """What was typed and the terminal's new sizes, in order, to the channel."""
        while True:
            item = await self.inbox.get()
            try:
                if isinstance(item, bytes):
                    await self.channel.write(item)
                elif isinstance(item, _Resize):
                    await self.channel.resize(item.columns, item.rows)
                elif item.reason == LEFT or self.wait_after_input <= 0:
                    self._end(item.reason)
                else:  # copy the output on, until it has been quiet that long
                    self._quiet()
            except BackendError:  # closed at the other end
                self._end(OTHER_END)
                return

    def _quiet(self) -> None:
        if self.idle is not None:
            self.idle.cancel()
        self.idle = self.loop.call_later(self.wait_after_input, self._end, INPUT_ENDED)

    # -- the output ------------------------------------------------------------------------

    async def _output(self) -> None:
        while True:
            try:
                data = await self.channel.read()
            except BackendError:
                data = b""
            if not data:
                self._end(OTHER_END)
                return
            try:
                _write_all(self.stdout_fd, data)
            except OSError:  # EPIPE: its reader left; EIO: the terminal hung up
                self._end(OUTPUT_CLOSED)
                return
            if self.idle is not None:
                self._quiet()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:  # a non-blocking stdout (set by another process sharing it)
            select.select([], [fd], [])
