"""Decommissioning a host of the lab's real 3-node Ceph cluster, monitor included, to
HEALTH_OK with 2 monitors and 2 OSDs: once through the app's code (maintenance first, then
the run), once headless with the process killed (SIGKILL) in the middle of the rebalance while
another `decommission` follows it read-only: that one resumes the run and ends the same way.
These run last: they take a host out of the shared lab."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mvm_tui import lab
from mvm_tui.backends import ceph
from mvm_tui.backends.ceph import commands as c
from mvm_tui.backends.real import RealBackend
from mvm_tui.config import load_config
from mvm_tui.models import HostState
from mvm_tui.runs import RunState, RunStore
from mvm_tui.services.decommission_runs import Decommissions, host_remover
from mvm_tui.session import open_session, poll_once
from tests.lab.test_lab_backend import wait_for

pytestmark = pytest.mark.lab
HOST = "h3"


async def _end_state(backend: RealBackend) -> tuple[str, int, int, tuple[str, ...]]:
    s = ceph.parse_status((await backend.ceph(c.status())).stdout)
    monmap = ceph.parse_mon_dump((await backend.ceph(c.mon_dump())).stdout)
    return s.health, s.num_mons, s.num_osds, monmap.names


async def test_decommission_a_lab_host_end_to_end(lab_info: lab.LabInfo, tmp_path: Path) -> None:
    config_path = tmp_path / "config.toml"
    shutil.copy(lab_info.config_path, config_path)
    session = open_session(load_config(config_path), demo=False, db_path=tmp_path / "r.sqlite3")
    cluster = session.clusters[0]
    backend = cluster.backend
    assert isinstance(backend, RealBackend)
    try:
        await poll_once(cluster)
        enter = cluster.maintenance.create_enter_run(cluster.maintenance.plan_enter(HOST))
        assert (await cluster.execute(enter.id)).state is RunState.DONE
        await poll_once(cluster)
        assert next(h.state for h in cluster.snapshot().hosts if h.name == HOST) \
            is HostState.MAINTENANCE
        # earlier tests (a cut host, added latency) may leave Ceph warning for a while
        await asyncio.to_thread(lab.wait_health_ok, lab_info)
        forget, known = host_remover(cluster.name, config_path)
        decom = Decommissions(backend, session.clock, session.executor, forget, known)
        plan = await decom.plan(HOST, in_maintenance=True)
        assert plan.bucket == "mvmlab-h3"
        assert plan.mon == "mvmlab-h3"
        assert [o.id for o in plan.osds] == [2]
        assert plan.blockers == []
        run = decom.create(plan)
        started = time.monotonic()
        done = await session.executor.execute(run.id)
        took = time.monotonic() - started
        assert done.state is RunState.DONE, done.error
        print(f"decommission of {HOST}: {took:.1f} s")
        assert await _end_state(backend) == ("HEALTH_OK", 2, 2, ("mvmlab-h1", "mvmlab-h2"))
        assert [h.name for h in load_config(config_path).clusters[0].hosts] == ["h1", "h2"]
        for h in ("h1", "h2"):
            assert "10.213.0.13" not in await backend.mon_host(h)
        log = [line.text for line in session.store.log(run.id)]
        assert any(line.startswith("osd.2 out at osdmap epoch") for line in log)
    finally:
        await session.close()


async def test_killed_mid_rebalance_and_resumed(tmp_path: Path) -> None:
    lab.down()  # the first test took h3 away: a fresh 3-host lab
    info = lab.up()
    config_path = tmp_path / "config.toml"
    shutil.copy(info.config_path, config_path)
    session = open_session(load_config(config_path), demo=False, db_path=tmp_path / "r.sqlite3")
    backend = session.clusters[0].backend
    assert isinstance(backend, RealBackend)
    try:
        await backend.set_maintenance(HOST, True)  # no VM on it in a fresh lab
        await asyncio.to_thread(lab.wait_health_ok, info)
        env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
        argv = [sys.executable, "-m", "mvm_tui", "decommission", HOST, "--config",
                str(config_path)]
        log = tmp_path / "first.log"
        with log.open("w") as out:
            first = await asyncio.to_thread(subprocess.Popen, argv, stdout=out,
                                            stderr=subprocess.STDOUT, env=env)

            async def rebalancing() -> bool:
                return "wait for the data to move off it" in log.read_text() and \
                    "[waiting]" in log.read_text()

            second_log = tmp_path / "second.log"
            try:
                await wait_for(rebalancing, 120, "the run to wait on the rebalance")
                # other processes on the same run store while the first one lives: inventory
                # leaves its run alone, a second decommission follows it read-only
                inventory = await asyncio.to_thread(
                    subprocess.run, [*argv[:3], "inventory", "--json", *argv[5:]],
                    capture_output=True, text=True, env=env, timeout=120)
                assert inventory.returncode == 0, inventory.stderr[-2000:]
                with second_log.open("w") as out2:
                    second = await asyncio.to_thread(subprocess.Popen, argv, stdout=out2,
                                                     stderr=subprocess.STDOUT, env=env)

                async def following() -> bool:
                    return f"run #1 is running in process {first.pid} on " in \
                        second_log.read_text()

                await wait_for(following, 60, "the second command to follow the run")
                with RunStore(tmp_path / "state" / "mvm-tui" / "runs.sqlite3") as store:
                    run = store.get_run(1)
                    assert run.state is RunState.RUNNING
                    assert run.owner is not None
                    assert run.owner.pid == first.pid
                    assert not any("interrupted" in line.text for line in store.log(1))
            finally:
                first.send_signal(signal.SIGKILL)
                first.wait(30)
        # the owner died: the follower resumes the run, which ends as if never killed
        returncode = await asyncio.to_thread(second.wait, 900)
        text = second_log.read_text()
        assert returncode == 0, text[-3000:]
        assert "run #1: the process running it stopped; resumed here" in text
        assert text.count("run resumed: Decommission h3") == 1
        assert await _end_state(backend) == ("HEALTH_OK", 2, 2, ("mvmlab-h1", "mvmlab-h2"))
    finally:
        await session.close()
