"""Crash traces: every mvm-tui process has `faulthandler` on, writing to a file of its own in
the state directory, so a fatal error (SIGSEGV in a C library such as libvirt.so, SIGABRT,
SIGBUS, SIGFPE, SIGILL) leaves the Python stack of every thread where the operator finds it
and can send it, even when the terminal UI simply vanished.

    $XDG_STATE_HOME/mvm-tui/crash/<UTC time>-<pid>.trace   (mode 0600, directory 0700)

The file starts with a header naming the process (pid, start time, command line, version).
A process that exits normally removes its file when nothing was written after the header, so
what stays there are the traces of processes that died of a fatal signal (or were killed
before they could tidy up: then only the header).
"""

from __future__ import annotations

import atexit
import contextlib
import faulthandler
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from mvm_tui import paths

_FILE_MODE = 0o600
# the open file, its path, the header's size, the pid it is for
_trace: tuple[IO[str], Path, int, int] | None = None


def crash_dir() -> Path:
    """state_dir()/crash: where the crash traces are."""
    return paths.state_dir() / "crash"


def enable_crash_traces(argv: Sequence[str], directory: Path | None = None) -> Path | None:
    """Turn faulthandler on for this process, writing to a new file in `directory` (by
    default crash_dir()). Returns the file, or None when faulthandler was on already (e.g.
    `python -X faulthandler`, PYTHONFAULTHANDLER, pytest: their choice stands) or the file
    cannot be made (then faulthandler writes to stderr). Once per process."""
    global _trace
    if faulthandler.is_enabled():
        return None
    directory = directory or crash_dir()
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    path = directory / f"{stamp}-{os.getpid()}.trace"
    try:
        paths.ensure_private_dir(directory)
        _prune(directory)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(path, flags, _FILE_MODE)
        os.fchmod(fd, _FILE_MODE)
        out = os.fdopen(fd, "w", encoding="utf-8")
    except OSError as exc:
        faulthandler.enable()
        print(f"mvm-tui: cannot keep crash traces in {directory} ({exc}); they go to stderr",
              file=sys.stderr)
        return None
    header = (f"mvm-tui {_version()} pid {os.getpid()} started "
              f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(now))}\n"
              f"command: mvm-tui {' '.join(argv)}\n"
              "A fatal error's Python stacks (every thread) follow, if there was one.\n\n")
    out.write(header)
    out.flush()
    faulthandler.enable(file=out, all_threads=True)
    _trace = (out, path, out.tell(), os.getpid())
    atexit.register(_tidy)
    return path


def earlier_crashes(directory: Path | None = None) -> list[str]:
    """What to tell the operator about processes that died of a fatal error since the last
    time this was asked (each trace is told once: its file is renamed *.seen.trace)."""
    directory = directory or crash_dir()
    told = []
    for path, text in _dead_traces(directory):
        if "Fatal Python error" not in text:
            continue
        lines = text.splitlines()
        fatal = next(line for line in lines if "Fatal Python error" in line)
        seen = path.with_name(path.name.removesuffix(".trace") + ".seen.trace")
        with contextlib.suppress(OSError):
            path.rename(seen)
            told.append(f"an earlier mvm-tui process died: {fatal.strip()} ({lines[0]}); its "
                        f"trace, to send with a report: {seen}")
    return told


def _tidy() -> None:
    """At a normal exit: the file goes when it holds the header only."""
    global _trace
    if _trace is None:
        return
    out, path, header_size, pid = _trace
    _trace = None
    if pid != os.getpid():
        return  # a forked child's exit: the file is its parent's
    faulthandler.disable()
    with contextlib.suppress(OSError, ValueError):
        out.flush()
        if os.fstat(out.fileno()).st_size <= header_size:
            path.unlink()
        out.close()


def _dead_traces(directory: Path) -> Iterator[tuple[Path, str]]:
    """The trace files not yet told of, of processes that are gone, with their start."""
    for path in sorted(directory.glob("*.trace")):
        pid = path.stem.rpartition("-")[2]
        if path.name.endswith(".seen.trace") or not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            with path.open("rb") as f:
                start = f.read(65536).decode(errors="replace")
        except OSError:
            continue
        yield path, start


def _prune(directory: Path) -> None:
    """Remove the files of processes that are gone and wrote no trace (killed by SIGTERM or
    SIGKILL, which leave no trace and run no exit handler)."""
    for path, text in _dead_traces(directory):
        if "Fatal Python error" not in text and "most recent call first" not in text:
            with contextlib.suppress(OSError):
                path.unlink()
def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mvm-tui")
    except PackageNotFoundError:
        return "(not installed)"
