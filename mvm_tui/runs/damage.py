"""A run store that cannot be used: what is wrong with the file, found without changing it.

The run store is the record of every action and the place processes coordinate (who executes
a run). A damaged file (truncated, not a database, written by a newer mvm-tui, a directory in
its place) is never migrated, repaired or written: it is diagnosed read-only (an SQLite
read-only connection and `PRAGMA quick_check`), and the error says which file, what is wrong
and what to do. The session then runs without recording, so it refuses every action (see
session.open_session and the README, "A damaged run history").
"""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import stat
from pathlib import Path
from typing import Any

from mvm_tui.runs.model import RunError

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT = 10.0  # seconds the read-only check waits for another process's lock


class RunStoreDamaged(RunError):
    """The run store at `path` cannot be used; nothing in it was changed."""

    def __init__(self, path: Path, problem: str, advice: str | None = None) -> None:
        self.path = Path(path)
        self.problem = problem
        aside = f"{shlex.quote(str(path))} {shlex.quote(f'{path}.damaged')}"
        self.advice = advice or (
            f"move it aside (mv {aside}) and start mvm-tui again: a new, "
            "empty history is started, and the old file is kept to inspect or restore"
        )
        super().__init__(f"the run history {path} cannot be used: {problem}. Nothing in it was "
                         f"changed. To go on, {self.advice}")


class RunsRefused(RunError):
    """This process records no runs (its run store cannot be used), so it starts none."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"nothing was done: {reason}")
        self.reason = reason


def diagnose(path: Path, schema_version: int) -> RunStoreDamaged | None:
    """What keeps the store at `path` from being used, or None if it can be (also when there
    is no file yet, or an empty one: a new store). Reads only."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return RunStoreDamaged(path, f"it cannot be read ({exc.strerror})",
                               "check the file and its directory, then start mvm-tui again")
    if stat.S_ISDIR(info.st_mode):
        return RunStoreDamaged(path, "a directory is in its place, not a file")
    if not stat.S_ISREG(info.st_mode):
        return RunStoreDamaged(path, "it is not a regular file")
    if info.st_size == 0:
        return None
    try:
        with open(path, "rb") as file:
            head = file.read(len(SQLITE_MAGIC))
    except OSError as exc:
        return RunStoreDamaged(path, f"it cannot be read ({exc.strerror})",
                               "check the file's owner and mode, then start mvm-tui again")
    if not SQLITE_MAGIC.startswith(head):
        return RunStoreDamaged(path, "it is not an SQLite database (something else was "
                                     "written there)")
    if len(head) < len(SQLITE_MAGIC):
        return RunStoreDamaged(path, f"it is truncated ({info.st_size} bytes)")
    return _check_database(path, schema_version)


def _check_database(path: Path, schema_version: int) -> RunStoreDamaged | None:
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                             timeout=BUSY_TIMEOUT)
    except sqlite3.Error as exc:
        return RunStoreDamaged(path, f"SQLite cannot open it ({exc})")
    try:
        result = [row[0] for row in db.execute("PRAGMA quick_check(5)").fetchall()]
        if result != ["ok"]:
            return RunStoreDamaged(path, "it is truncated or damaged (SQLite's check: "
                                         f"{'; '.join(str(r) for r in result)})")
        tables = {row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()}
        if "schema_version" not in tables:
            if tables:
                return RunStoreDamaged(path, "it is an SQLite database, but not an mvm-tui run "
                                             f"history (its tables: {', '.join(sorted(tables))})")
            return None
        row = db.execute("SELECT version FROM schema_version WHERE id = 1").fetchone()
        version = 0 if row is None else int(row[0])
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):  # not damage: another process
            return RunStoreDamaged(path, f"another process holds it ({exc})",
                                   "start mvm-tui again once that process is done")
        return RunStoreDamaged(path, f"it is truncated or damaged (SQLite: {exc})")
    except sqlite3.DatabaseError as exc:
        problem = ("it is not an SQLite database" if "not a database" in str(exc)
                   else f"it is truncated or damaged (SQLite: {exc})")
        return RunStoreDamaged(path, problem)
    except (TypeError, ValueError) as exc:
        return RunStoreDamaged(path, f"its schema version cannot be read ({exc})")
    finally:
        db.close()
    if version > schema_version:
        aside = f"{shlex.quote(str(path))} {shlex.quote(f'{path}.newer')}"
        return RunStoreDamaged(
            path, f"it was written by a newer mvm-tui (schema version {version}; this one "
                  f"knows versions up to {schema_version})",
            f"use that newer mvm-tui, or move it aside (mv {aside}) and start this one again "
            "with a new, empty history")
    return None


def read_json(text: object, kind: type, what: str, unreadable: list[str]) -> Any:
    """The JSON value a stored column holds, if it is a `kind`; else None, with why appended
    to `unreadable` (a run or step is then shown as unreadable, never acted on)."""
    try:
        value = json.loads(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        unreadable.append(f"{what} are not valid JSON")
        return None
    if not isinstance(value, kind):
        unreadable.append(f"{what} are not a JSON {'object' if kind is dict else 'array'}")
        return None
    return value
