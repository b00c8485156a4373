"""Only one HA service acts on a cluster at a time: a local lock (flock on a file in the XDG
state dir), held for as long as the service runs and released by the kernel if it dies.

This protects against two services on the same jump box; it is the lock of clusters without
Ceph. HCI clusters use a Ceph RADOS lock with a lease instead (services.ha_lease), so HA
services on two jump boxes take turns.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from pathlib import Path

from mvm_tui import paths


class HaLockHeld(Exception):
    """Another HA service holds the cluster's lock."""


class HaLock:
    def __init__(self, cluster: str, directory: Path | None = None) -> None:
        self.cluster = cluster
        self.path = (directory or paths.state_dir() / "ha") / f"{cluster}.lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise HaLockHeld naming its holder. Never waits."""
        if self._fd is not None:
            return
        paths.ensure_private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 512).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise HaLockHeld(
                f"the HA service of cluster {self.cluster} is already running ({holder}); "
                f"lock file {self.path}"
            ) from None
        os.ftruncate(fd, 0)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} since {stamp}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the descriptor drops the flock

    def holder(self) -> str | None:
        """Who holds the lock (as it wrote itself down), or None when nobody does."""
        if self._fd is not None:
            return f"this process (pid {os.getpid()})"
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return os.read(fd, 512).decode(errors="replace").strip() or "another process"
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)
