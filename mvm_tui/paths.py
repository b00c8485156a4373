"""Where mvm-tui keeps its files (XDG base directories), and private atomic file writes.

Nothing here creates a directory except write_private() and ensure_private_dir().
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = [
    "APP_NAME",
    "config_dir",
    "default_config_path",
    "ensure_private_dir",
    "known_hosts_path",
    "lock_path",
    "runs_db_path",
    "screenshots_dir",
    "state_dir",
    "update_lock",
    "write_private",
]

APP_NAME = "mvm-tui"

_DIR_MODE = 0o700
_FILE_MODE = 0o600
LOCK_WAIT = 10.0  # seconds update_lock() waits for another process's update of a file


def _xdg_base(variable: str, default: str) -> Path:
    """$variable if it is set to an absolute path (the XDG spec ignores relative ones),
    else ~/default."""
    value = os.environ.get(variable, "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / default


def config_dir() -> Path:
    """$XDG_CONFIG_HOME/mvm-tui, by default ~/.config/mvm-tui."""
    return _xdg_base("XDG_CONFIG_HOME", ".config") / APP_NAME


def state_dir() -> Path:
    """$XDG_STATE_HOME/mvm-tui, by default ~/.local/state/mvm-tui."""
    return _xdg_base("XDG_STATE_HOME", ".local/state") / APP_NAME


def default_config_path() -> Path:
    """config_dir()/config.toml."""
    return config_dir() / "config.toml"


def runs_db_path() -> Path:
    """state_dir()/runs.sqlite3: the record of build runs."""
    return state_dir() / "runs.sqlite3"


def screenshots_dir() -> Path:
    """state_dir()/screenshots: the TUI's screenshots when there is no Downloads directory."""
    return state_dir() / "screenshots"


def known_hosts_path() -> Path:
    """The user's SSH known_hosts file, ~/.ssh/known_hosts."""
    return Path.home() / ".ssh" / "known_hosts"


def ensure_private_dir(path: Path) -> Path:
    """Create `path` and any missing parents with mode 0700; existing ones are left alone.

    Returns `path`. Raises OSError (e.g. FileExistsError when a file is in the way).
    """
    missing: list[Path] = []
    p = path
    while not p.is_dir():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, _DIR_MODE)
        except FileExistsError:
            if not d.is_dir():
                raise
            continue  # created concurrently by someone else: not ours to chmod
        os.chmod(d, _DIR_MODE)  # the umask may have removed bits from 0700
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, readable by the owner only (mode 0600).

    The data goes to a temporary file in the same directory (created 0600 with os.open),
    is fsynced, renamed over `path` with os.replace, and the directory is fsynced. Readers see
    either the old file or the new one, never a partial one; the new file is 0600 even if an
    older one had wider permissions. Missing parent directories are created 0700. The
    temporary file is removed if anything fails.
    """
    path = Path(path)
    parent = path.parent
    ensure_private_dir(parent)
    tmp = parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, _FILE_MODE)
    try:
        try:
            os.fchmod(fd, _FILE_MODE)  # exactly 0600, whatever the umask
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(parent)


def _fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable (best effort where directories cannot be opened)."""
    try:
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def lock_path(path: Path) -> Path:
    """The lock file of `path`'s updates: `.NAME.lock` beside it."""
    return path.with_name(f".{path.name}.lock")


@contextlib.contextmanager
def update_lock(path: Path, wait: float | None = None,
                on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the lock of `path`'s updates while reading it, changing it and writing it back,
    so two processes cannot lose each other's update.

    An exclusive flock(2) on lock_path(path) (created 0600, never removed: removing a lock
    file lets two processes lock two different files). Not on `path` itself: write_private
    replaces that file, and a lock on the old one would guard nothing. The kernel drops the
    lock when the process dies. Raises TimeoutError, naming the lock file, when another
    process holds it for more than `wait` seconds (default LOCK_WAIT); `on_wait` is called
    once if the lock is held when asked for.
    """
    path = Path(path)
    ensure_private_dir(path.parent)
    lock = lock_path(path)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, _FILE_MODE)
    try:
        wait = LOCK_WAIT if wait is None else wait
        deadline = time.monotonic() + wait
        waiting = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
                if not waiting and on_wait is not None:
                    on_wait()
                waiting = True
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"{path} is being changed by another process (it holds {lock} for "
                        f"more than {wait:g} s); try again") from None
                time.sleep(0.02)  # the other update is a read and an atomic write: short
        yield
    finally:
        os.close(fd)  # and with it the lock
