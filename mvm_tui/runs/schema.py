"""The run store's SQLite schema: its migrations, and the private database file."""

from __future__ import annotations

import os
from pathlib import Path

# Migration i takes the schema from version i to version i + 1. Append, never edit.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE runs (
            id      INTEGER PRIMARY KEY AUTOINCREMENT,
            kind    TEXT NOT NULL,
            title   TEXT NOT NULL,
            params  TEXT NOT NULL,          -- JSON object
            cluster TEXT NOT NULL,
            host    TEXT,
            vm      TEXT,
            state   TEXT NOT NULL,
            created REAL NOT NULL,
            started REAL,
            ended   REAL,
            error   TEXT
        )
        """,
        "CREATE INDEX runs_cluster ON runs (cluster, id)",
        "CREATE INDEX runs_host ON runs (host, id)",
        "CREATE INDEX runs_vm ON runs (vm, id)",
        "CREATE INDEX runs_state ON runs (state, id)",
        """
        CREATE TABLE steps (
            run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            idx     INTEGER NOT NULL,       -- 0-based position in the run
            title   TEXT NOT NULL,
            preview TEXT NOT NULL,          -- JSON array of strings
            state   TEXT NOT NULL,
            started REAL,
            ended   REAL,
            error   TEXT,
            PRIMARY KEY (run_id, idx)
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE log (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            step_index INTEGER,             -- NULL: a line about the whole run
            time       REAL NOT NULL,
            stream     TEXT NOT NULL,       -- out | err | info
            text       TEXT NOT NULL
        )
        """,
        "CREATE INDEX log_run ON log (run_id, id)",
    ),
    (  # the process that executes a run (runs.owner); NULL: nobody
        "ALTER TABLE runs ADD COLUMN owner TEXT",
        "ALTER TABLE runs ADD COLUMN owner_pid INTEGER",
        "ALTER TABLE runs ADD COLUMN owner_host TEXT",
    ),
    (
        # what a run's steps remember for the ones after them (and for a resume), e.g. the
        # osdmap epoch read right after an OSD went out: one JSON value per key
        """
        CREATE TABLE notes (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            key    TEXT NOT NULL,
            value  TEXT NOT NULL,           -- JSON
            PRIMARY KEY (run_id, key)
        ) WITHOUT ROWID
        """,
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)

RUN_COLUMNS = ("id, kind, title, params, cluster, host, vm, state, created, started, ended, error,"
                " owner, owner_pid, owner_host")
STEP_COLUMNS = "run_id, idx, title, preview, state, started, ended, error"


def private_file(path: Path) -> None:
    """Create the missing parent directories 0700 and the file 0600 (or tighten it to 0600)."""
    missing: list[Path] = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
