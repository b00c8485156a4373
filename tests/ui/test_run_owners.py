"""One owner per run, across real processes on one run store: a process executing a
decommission (tests.ui.decommission_owner) is neither interrupted nor taken over by
`inventory`, two `decommission` commands (tests.ui.on_store: the demo's, on that store) and a
TUI started meanwhile; killed with SIGKILL, its run is resumed by exactly one of the two
commands that were following it."""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mvm_tui.app import MvmApp
from mvm_tui.clock import VirtualClock
from mvm_tui.config import demo_config
from mvm_tui.runs import RunState, RunStore
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.services.decommission_runs import decommissions_for
from mvm_tui.session import open_session

from .conftest import SIZE, wait_until

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0  # real seconds before a wait gives up: only hit when something is broken


class Proc:
    """A child process whose stdout lines are read in the background."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, text=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, *texts: str) -> str:
        """The next line of stdout that holds one of `texts`."""
        while True:
            line = self.lines.get(timeout=TIMEOUT)
            if line is None:
                raise AssertionError(f"exited before {texts!r}: {self.seen[-5:]} "
                                     f"{self.popen.communicate()[1]}")
            self.seen.append(line)
            if any(text in line for text in texts):
                return line

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(timeout=TIMEOUT)
        for pipe in (self.popen.stdout, self.popen.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for p in started:
        p.stop()


async def test_one_owner_per_run_across_processes(
    tmp_path: Path, procs: list[Proc], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path)}
    db = tmp_path / "runs.sqlite3"
    owner = Proc(["-m", "tests.ui.decommission_owner", str(db)], env)
    procs.append(owner)
    run_id = int(owner.wait_for("WAITING").split()[1])
    pid = owner.popen.pid

    def run_now() -> tuple[RunState, int | None, list[str]]:
        with RunStore(db) as store:
            run = store.get_run(run_id)
            return (run.state, run.owner.pid if run.owner else None,
                    [line.text for line in store.log(run_id)])

    state, owner_pid, log = run_now()
    assert (state, owner_pid) == (RunState.RUNNING, pid)
    lines_before = len(log)

    # `inventory` opens the store (and recovers what dead processes left): not this run
    inventory = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "tests.ui.on_store", str(db), "inventory"],
        cwd=ROOT, env=env, capture_output=True, timeout=60)
    assert inventory.returncode == 0, inventory.stderr

    # two `decommission` commands: each shows the run read-only, neither executes it
    followers = [Proc(["-m", "tests.ui.on_store", str(db), "decommission", "hv3"], env)
                 for _ in range(2)]
    procs.extend(followers)
    for f in followers:
        assert f"run #{run_id} is running in process {pid} on " in f.wait_for("is running in")

    # a TUI: the unfinished decommission is shown read-only, not resumed
    session = open_session(demo_config(), True, clock=VirtualClock(), db_path=db)
    cluster = session.clusters[0]
    app = MvmApp(cluster, refresh_delay=0.0, decommissions=decommissions_for(session, cluster,
                                                                             None))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, RunDetailScreen),
                         what="the running decommission shown")
        screen = app.screen
        assert isinstance(screen, RunDetailScreen)
        assert screen.run_id == run_id
        head = str(screen.query_one("#run-head").render())
        assert f"in process {pid} on " in head
        assert "read-only" in head
        assert not session.executor.is_executing(run_id)
        assert screen.check_action("retry", ()) is False
        assert screen.check_action("pause", ()) is False
    await session.close()

    state, owner_pid, log = run_now()
    assert (state, owner_pid) == (RunState.RUNNING, pid)
    assert len(log) == lines_before  # nobody else wrote to it
    assert not any("interrupted" in line or "resumed" in line for line in log)

    # the owner dies: exactly one follower resumes the run, the other follows that one
    os.kill(pid, signal.SIGKILL)
    owner.popen.wait(timeout=TIMEOUT)
    said = {f.popen.pid: f.wait_for("stopped; resumed here", "is running in process")
            for f in followers}
    resumers = [p for p, line in said.items() if "stopped; resumed here" in line]
    assert len(resumers) == 1, said
    (other,) = set(said) - set(resumers)
    assert f"run #{run_id} is running in process {resumers[0]} on " in said[other]
    state, owner_pid, log = run_now()
    assert (state, owner_pid) == (RunState.RUNNING, resumers[0])
    assert log.count("run interrupted: the process running it stopped before it finished") == 1
    assert sum(line.startswith("run resumed") for line in log) == 1
