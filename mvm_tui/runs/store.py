"""The SQLite store of runs, their steps and their log.

One database file, private to the user (directory 0700, file 0600), WAL journal. Every write
is its own short transaction, so what a subscriber was told is what a restarted process reads.
Times are given by the caller (the executor's clock), never read from the system here.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from mvm_tui.runs.damage import RunStoreDamaged, diagnose
from mvm_tui.runs.model import (
    LogLine,
    RunError,
    RunNotFound,
    RunOwnedElsewhere,
    RunOwner,
    RunRecord,
    RunState,
    RunUnreadable,
    Step,
    StepRecord,
    StepState,
    Targets,
)
from mvm_tui.runs.rows import KEEP, Keep, column_updates, run_from_row, step_from_row
from mvm_tui.runs.schema import (
    MIGRATIONS,
    RUN_COLUMNS,
    SCHEMA_VERSION,
    STEP_COLUMNS,
    private_file,
)


class RunStore:
    """Runs, steps and log lines in one SQLite database. Safe to share between threads."""

    def __init__(self, path: Path, *, memory: bool = False) -> None:
        """The store in the file at `path` (created if missing). A file that cannot be used
        (damage.diagnose: truncated, not a database, a newer schema, a directory...) raises
        RunStoreDamaged and is neither written nor migrated. `memory`: an empty store in
        memory, `path` only naming it."""
        self.path = Path(path)
        self._lock = threading.RLock()
        if memory:
            target = ":memory:"
        else:
            damage = diagnose(self.path, SCHEMA_VERSION)
            if damage is not None:
                raise damage
            try:
                private_file(self.path)
            except OSError as exc:
                raise RunStoreDamaged(self.path, f"it cannot be opened ({exc.strerror})",
                                      "check the file and its directory (owner, mode, free "
                                      "space), then start mvm-tui again") from None
            target = str(self.path)
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            target, timeout=10.0, isolation_level=None, check_same_thread=False
        )
        try:
            if not memory:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:  # damaged since the diagnosis
            self._conn.close()
            self._conn = None
            raise RunStoreDamaged(self.path, f"SQLite: {exc}") from None
        except BaseException:
            self._conn.close()
            self._conn = None
            raise

    # -- plumbing ------------------------------------------------------------------------------

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RunError(f"the run store {self.path} is closed")
        return self._conn

    @contextmanager
    def _tx(self, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._tx() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)"
            )
            row = db.execute("SELECT version FROM schema_version WHERE id = 1").fetchone()
            version = 0 if row is None else int(row[0])
            if version > SCHEMA_VERSION:
                raise RunError(
                    f"the run database {self.path} has schema version {version}, written by a "
                    f"newer mvm-tui; this one knows versions up to {SCHEMA_VERSION}"
                )
            if version == SCHEMA_VERSION and row is not None:
                return  # nothing to write: opening a store changes nothing in it
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    db.execute(statement)
            db.execute(
                "INSERT OR REPLACE INTO schema_version (id, version) VALUES (1, ?)",
                (SCHEMA_VERSION,),
            )

    # -- writes --------------------------------------------------------------------------------

    def create_run(
        self,
        kind: str,
        title: str,
        params: Mapping[str, Any],
        targets: Targets,
        steps: Sequence[Step],
        *,
        created: float,
        owner: RunOwner | None = None,
    ) -> RunRecord:
        """Persist a new PENDING run and its PENDING steps (titles and previews), owned by
        `owner` (the process that will execute it)."""
        params_json = json.dumps(dict(params), ensure_ascii=False)  # TypeError if not JSON-able
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO runs (kind, title, params, cluster, host, vm, state, created,"
                " owner, owner_pid, owner_host) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    title,
                    params_json,
                    targets.cluster,
                    targets.host,
                    targets.vm,
                    RunState.PENDING.value,
                    created,
                    *((owner.token, owner.pid, owner.host) if owner else (None, None, None)),
                ),
            )
            run_id = cursor.lastrowid
            assert run_id is not None
            db.executemany(
                "INSERT INTO steps (run_id, idx, title, preview, state) VALUES (?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        index,
                        step.title,
                        json.dumps(list(step.preview), ensure_ascii=False),
                        StepState.PENDING.value,
                    )
                    for index, step in enumerate(steps)
                ],
            )
            row = db.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        return run_from_row(row)

    def set_run_state(
        self,
        run_id: int,
        state: RunState,
        *,
        started: float | Keep | None = KEEP,
        ended: float | Keep | None = KEEP,
        error: str | Keep | None = KEEP,
    ) -> RunRecord:
        """Change a run's state, and the given columns (those left to KEEP stay as they are)."""
        sets, values = column_updates(state=state, started=started, ended=ended, error=error)
        with self._tx() as db:
            db.execute(f"UPDATE runs SET {sets} WHERE id = ?", [*values, run_id])
            row = db.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFound(run_id)
        return run_from_row(row)

    def set_step_state(
        self,
        run_id: int,
        index: int,
        state: StepState,
        *,
        started: float | Keep | None = KEEP,
        ended: float | Keep | None = KEEP,
        error: str | Keep | None = KEEP,
    ) -> StepRecord:
        """Change a step's state, and the given columns (those left to KEEP stay as they are)."""
        sets, values = column_updates(state=state, started=started, ended=ended, error=error)
        with self._tx() as db:
            db.execute(
                f"UPDATE steps SET {sets} WHERE run_id = ? AND idx = ?", [*values, run_id, index]
            )
            row = db.execute(
                f"SELECT {STEP_COLUMNS} FROM steps WHERE run_id = ? AND idx = ?", (run_id, index)
            ).fetchone()
        if row is None:
            raise RunError(f"run {run_id} has no step {index}")
        return step_from_row(row)

    def claim(self, run_id: int, owner: RunOwner, alive: Callable[[str], bool]) -> RunRecord:
        """Make `owner` the run's owner, unless another owner that is `alive` holds it
        (RunOwnedElsewhere). One transaction: of two processes claiming a run whose owner
        died, exactly one gets it."""
        with self._tx() as db:
            row = db.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise RunNotFound(run_id)
            before = run_from_row(row).owner
            if before is not None and before.token != owner.token and alive(before.token):
                raise RunOwnedElsewhere(run_id, before)
            db.execute("UPDATE runs SET owner = ?, owner_pid = ?, owner_host = ? WHERE id = ?",
                       (owner.token, owner.pid, owner.host, run_id))
            row = db.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        return run_from_row(row)

    def release(self, run_id: int, owner: RunOwner) -> None:
        """`owner` no longer executes the run (a no-op if another owner took it since)."""
        with self._tx() as db:
            db.execute("UPDATE runs SET owner = NULL, owner_pid = NULL, owner_host = NULL"
                       " WHERE id = ? AND owner = ?", (run_id, owner.token))

    def append_log(
        self, run_id: int, step_index: int | None, time: float, stream: str, text: str
    ) -> LogLine:
        with self._tx() as db:
            db.execute(
                "INSERT INTO log (run_id, step_index, time, stream, text) VALUES (?, ?, ?, ?, ?)",
                (run_id, step_index, time, stream, text),
            )
        return LogLine(run_id=run_id, step_index=step_index, time=time, stream=stream, text=text)

    def set_note(self, run_id: int, key: str, value: Any) -> None:
        """Remember a JSON-able value for the run under `key` (replacing what was there)."""
        value_json = json.dumps(value, ensure_ascii=False)  # TypeError if not JSON-able
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO notes (run_id, key, value) VALUES (?, ?, ?)",
                (run_id, key, value_json),
            )

    # -- reads ---------------------------------------------------------------------------------

    def notes(self, run_id: int) -> dict[str, Any]:
        """What the run's steps remembered (set_note), by key."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, value FROM notes WHERE run_id = ?", (run_id,)
            ).fetchall()
        notes: dict[str, Any] = {}
        for key, value in rows:
            try:
                notes[str(key)] = json.loads(value)
            except (TypeError, ValueError):
                raise RunUnreadable(run_id, f"what its steps remembered ({key}) is not valid "
                                            "JSON") from None
        return notes

    def get_run(self, run_id: int) -> RunRecord:
        """The run with this id; RunNotFound (a LookupError) if there is none."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
        if row is None:
            raise RunNotFound(run_id)
        return run_from_row(row)

    def steps(self, run_id: int) -> list[StepRecord]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {STEP_COLUMNS} FROM steps WHERE run_id = ? ORDER BY idx", (run_id,)
            ).fetchall()
        return [step_from_row(row) for row in rows]

    def log(self, run_id: int, skip: int = 0) -> list[LogLine]:
        """The run's log, without its first `skip` lines (what a follower has read)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT run_id, step_index, time, stream, text FROM log"
                " WHERE run_id = ? ORDER BY id LIMIT -1 OFFSET ?",
                (run_id, skip),
            ).fetchall()
        return [
            LogLine(run_id=r[0], step_index=r[1], time=r[2], stream=r[3], text=r[4]) for r in rows
        ]

    def list_runs(
        self,
        cluster: str | None = None,
        host: str | None = None,
        vm: str | None = None,
        limit: int = 200,
    ) -> list[RunRecord]:
        """Runs about this cluster / host / VM (each filter optional), newest first."""
        where: list[str] = []
        values: list[object] = []
        for column, value in (("cluster", cluster), ("host", host), ("vm", vm)):
            if value is not None:
                where.append(f"{column} = ?")
                values.append(value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {RUN_COLUMNS} FROM runs{clause} ORDER BY id DESC LIMIT ?",
                [*values, limit],
            ).fetchall()
        return [run_from_row(row) for row in rows]

    def unfinished(self) -> list[RunRecord]:
        """Runs PENDING, RUNNING or INTERRUPTED, oldest first (the order to resume them in).
        An unreadable run is not among them: it is never recovered or resumed."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {RUN_COLUMNS} FROM runs WHERE state IN (?, ?, ?) ORDER BY id",
                (RunState.PENDING.value, RunState.RUNNING.value, RunState.INTERRUPTED.value),
            ).fetchall()
        return [run for run in map(run_from_row, rows) if run.unreadable is None]

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
