"""Who executes a run: one owner per process, alive exactly as long as the process.

Each executor holds an exclusive flock(2) on a file of its own beside the run store. The
kernel drops the lock when the process dies (even by SIGKILL), so "is the owner of this run
alive?" is "is its file still locked?", asked without blocking. A run records its owner's
token; another process never executes, recovers or resumes it while that lock is held.

The file is locked before it gets its final name, so a file found under that name is locked
for as long as its owner lives. A dead owner's file is removed by whoever finds it unlocked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import socket
import weakref
from pathlib import Path

from mvm_tui.runs.model import RunOwner

SUFFIX = ".owner"
TOKEN = re.compile(r"[0-9]+-[0-9a-f]{16}")


def owners_dir(store_path: Path) -> Path:
    """Where the owners of the runs of the store at `store_path` keep their lock files."""
    return store_path.with_name(store_path.name + ".owners")


class Owner:
    """This process's claim on the runs it executes (see the module docstring)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory = directory
        self.info = RunOwner(token=f"{os.getpid()}-{secrets.token_hex(8)}", pid=os.getpid(),
                             host=socket.gethostname())
        temporary = directory / f".{self.info.token}.new"
        fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(temporary, self._path(self.info.token))
        # closed at close(), or when this owner is garbage, as the kernel would at exit
        self._release = weakref.finalize(self, _give_up, fd, self._path(self.info.token))

    def _path(self, token: str) -> Path:
        return self.directory / f"{token}{SUFFIX}"

    @property
    def closed(self) -> bool:
        return not self._release.alive

    def is_alive(self, token: str) -> bool:
        """Whether the owner with this token still lives (holds its lock)."""
        if token == self.info.token:
            return not self.closed
        if not TOKEN.fullmatch(token):
            return False  # not one this code made: no process holds it
        try:
            fd = os.open(self._path(token), os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path(token))  # its owner died: nobody will lock it again
            return False
        finally:
            os.close(fd)

    def close(self) -> None:
        """Give up ownership (as dying would): this owner's runs become resumable."""
        self._release()


def _give_up(fd: int, path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    os.close(fd)
