"""Commands through sudo whose password reaches sudo only (the way Ansible's "become" does it).

The command runs as `sudo -S -p PROMPT -- sh -c 'echo SUCCESS; exec "$@"' sh ARGV...`, with a
one-time random PROMPT and SUCCESS marker. sudo -S writes PROMPT to stderr when, and only when,
it wants the password: only then is the password written to stdin, and sudo, which reads the
password from stdin, is the one that reads it. SUCCESS on stdout says that sudo has run the
command (it did not ask, or accepted the password): only then is the command's own stdin sent.
Whether sudo asks (a cached timestamp, timestamp_type, NOPASSWD) is never guessed: the command
cannot read the password in any sudoers setup, because nothing is on its stdin before SUCCESS
and the password is written only while sudo waits at its prompt. A second prompt is a refused
password: nothing is written again. Both markers are removed from what the command shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import asyncssh

LineSink = Callable[[str, str], None]  # (stream name "stdout" / "stderr", line without "\n")
_CHUNK = 65536


@dataclass(frozen=True)
class Markers:
    """A one-time prompt for sudo and the line the command prints first once sudo runs it."""

    prompt: str
    success: str

    @classmethod
    def fresh(cls) -> Markers:
        # hex only: no "%" (sudo expands %-escapes in a prompt), nothing a shell interprets
        return cls(f"[mvm-tui sudo {secrets.token_hex(16)}] password:",
                   f"mvm-tui-sudo-ok-{secrets.token_hex(16)}")


def become_argv(markers: Markers, argv: Sequence[str]) -> list[str]:
    """argv run by sudo, after a shell has printed the success marker."""
    return ["sudo", "-S", "-p", markers.prompt, "--",
            "sh", "-c", f'echo {markers.success}; exec "$@"', "sh", *argv]


def _partial_tail(text: str, marker: str) -> int:
    """The length of the longest end of text that is a beginning of marker (not all of it)."""
    for n in range(min(len(text), len(marker) - 1), 0, -1):
        if text.endswith(marker[:n]):
            return n
    return 0


class SudoStreams:
    """What a `become_argv` command prints, fed in chunks as they arrive (a marker may be split
    across chunks): sudo's prompts on stderr are counted and removed, the success line on
    stdout is removed. Once the command runs, its output passes as it is, even if it holds a
    marker's text (only sudo prompts, and only before it runs the command)."""

    def __init__(self, markers: Markers) -> None:
        self.markers = markers
        self.prompts = 0  # how many times sudo asked for the password
        self.started = False  # the success line came: sudo runs the command
        self._out = ""  # stdout held until the success line
        self._err = ""  # end of stderr that may be the beginning of a prompt

    def stdout(self, chunk: str) -> str:
        """The command's part of a stdout chunk."""
        if self.started:
            return chunk
        self._out += chunk
        line = self.markers.success + "\n"
        at = self._out.find(line)
        if at < 0:
            return ""
        shown = self._out[:at] + self._out[at + len(line):]
        self._out = ""
        self.started = True
        return shown

    def stderr(self, chunk: str) -> str:
        """A stderr chunk without sudo's prompts (a held partial prompt comes out later)."""
        text, self._err = self._err + chunk, ""
        if self.started:
            return text
        *before, last = text.split(self.markers.prompt)
        self.prompts += len(before)
        keep = _partial_tail(last, self.markers.prompt)
        if keep:
            last, self._err = last[:-keep], last[-keep:]
        return "".join(before) + last

    def end(self) -> tuple[str, str]:
        """What is still held at the end of both streams: (stdout, stderr)."""
        held, self._out, self._err = (self._out, self._err), "", ""
        return held


class _Lines:
    """Text to a line sink, line by line (the last line even without its newline)."""

    def __init__(self, name: str, sink: LineSink | None) -> None:
        self.name = name
        self.sink = sink
        self.parts: list[str] = []
        self._partial = ""

    def add(self, text: str) -> None:
        if not text:
            return
        self.parts.append(text)
        if self.sink is None:
            return
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            self.sink(self.name, line)

    def close(self) -> None:
        if self.sink is not None and self._partial:
            self.sink(self.name, self._partial)
        self._partial = ""

    @property
    def text(self) -> str:
        return "".join(self.parts)


class AskedAgain(Exception):
    """sudo asked for the password again after it was given: sudo refused it."""


@dataclass(frozen=True)
class Outcome:
    exit_status: int
    stdout: str
    stderr: str
    started: bool  # sudo ran the command
    answered: bool  # the password was written to sudo


async def exchange(
    proc: asyncssh.SSHClientProcess[str],
    markers: Markers,
    password: Callable[[], Awaitable[str]],
    stdin: str | None,
    on_line: LineSink | None,
) -> Outcome:
    """Talk to a `become_argv` process until it ends: the password (from `password`, called
    only when sudo prompts) to sudo's first prompt, the stdin to the command once it runs.
    A second prompt raises AskedAgain (the caller closes the process)."""
    streams = SudoStreams(markers)
    out, err = _Lines("stdout", on_line), _Lines("stderr", on_line)
    answered = False

    async def read_stdout() -> None:
        while chunk := await proc.stdout.read(_CHUNK):
            was_started = streams.started
            out.add(streams.stdout(chunk))
            if streams.started and not was_started:
                if stdin:
                    with contextlib.suppress(BrokenPipeError):  # the command already ended
                        proc.stdin.write(stdin)
                proc.stdin.write_eof()

    async def read_stderr() -> None:
        nonlocal answered
        while chunk := await proc.stderr.read(_CHUNK):
            seen = streams.prompts
            err.add(streams.stderr(chunk))
            if streams.prompts == seen or streams.started:
                continue
            if answered or streams.prompts > 1:
                raise AskedAgain
            secret = await password()
            with contextlib.suppress(BrokenPipeError):  # sudo gave up waiting: it ends
                proc.stdin.write(secret + "\n")
            answered = True

    readers = [asyncio.ensure_future(read_stdout()), asyncio.ensure_future(read_stderr())]
    try:
        await asyncio.gather(*readers)
    finally:  # one failed (AskedAgain, no password) or the caller gave up: end the other too
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    held_out, held_err = streams.end()
    out.add(held_out)
    err.add(held_err)
    out.close()
    err.close()
    done = await proc.wait(check=False)
    status = done.exit_status if done.exit_status is not None else -1
    return Outcome(status, out.text, err.text, streams.started, answered)
