"""Writes to the config file take its lock and re-read the file under it, so two processes
cannot lose each other's update: shown with real processes and real flock(2)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mvm_tui import paths
from mvm_tui.config import (
    ClusterConfig,
    Config,
    ConfigError,
    HostConfig,
    add_cluster,
    add_hosts,
    load_config,
    remove_host,
    save_config,
    update_config,
)

WRITER = str(Path(__file__).with_name("config_writer.py"))


def writer(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, WRITER, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.getcwd()})


def cluster(name: str, *hosts: str) -> ClusterConfig:
    return ClusterConfig(name=name, layout="external", hosts=[
        HostConfig(name=h, address=f"192.0.2.{i}") for i, h in enumerate(hosts or ("h1",), 1)])


def names(path: Path) -> list[str]:
    return [c.name for c in load_config(path).clusters]


def test_an_update_waits_for_the_one_in_progress_and_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    add_cluster(path, cluster("first"))
    holder = writer("hold", str(path), "a")
    assert holder.stdout is not None
    assert holder.stdin is not None
    assert holder.stdout.readline().strip() == "inside"  # a has read the file, holds the lock
    other = writer("add-once", str(path), "b")
    assert other.stdout is not None
    # b finds the lock held: it waits (without the lock it would read the file a has read
    # and its write would be lost under a's, or lose a's)
    assert other.stdout.readline().strip() == "waiting"
    holder.stdin.write("go\n")
    holder.stdin.flush()
    assert holder.wait(timeout=30) == 0, holder.stderr.read() if holder.stderr else ""
    assert other.wait(timeout=30) == 0, other.stderr.read() if other.stderr else ""
    assert names(path) == ["first", "a", "b"]


def test_two_processes_adding_clusters_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    save_config(Config(), path)
    procs = [writer("add", str(path), prefix, "15") for prefix in ("p", "q")]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert sorted(names(path)) == sorted([f"p{i}" for i in range(15)] +
                                         [f"q{i}" for i in range(15)])
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(paths.lock_path(path).stat().st_mode & 0o777) == "0o600"


def test_two_threads_editing_at_once_lose_nothing(tmp_path: Path) -> None:
    """The lock is on an open file of its own per edit: threads of one process take turns
    too (the TUI's worker and a decommission in the same mvm-tui)."""
    path = tmp_path / "config.toml"
    start = threading.Barrier(2)

    def edits(prefix: str) -> None:
        start.wait()
        for i in range(15):
            add_cluster(path, cluster(f"{prefix}{i}"))

    with ThreadPoolExecutor(2) as pool:
        for done in [pool.submit(edits, p) for p in ("p", "q")]:
            done.result()
    assert sorted(names(path)) == sorted([f"p{i}" for i in range(15)] +
                                         [f"q{i}" for i in range(15)])


def test_two_processes_accepting_host_keys_at_once_lose_none(tmp_path: Path) -> None:
    known = tmp_path / "ssh" / "known_hosts"
    procs = [writer("accept", str(known), prefix, "15") for prefix in ("p", "q")]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    lines = known.read_text().splitlines()
    assert len(lines) == 30
    assert len(set(lines)) == 30


def test_a_worker_added_keeps_a_host_removed_meanwhile_removed(tmp_path: Path) -> None:
    """Add Worker began with the cluster as it was (h1, h2, h3); h3 was decommissioned by
    another process before the worker joined: the file keeps h3 out and gets h4."""
    path = tmp_path / "config.toml"
    seen = cluster("c", "h1", "h2", "h3")
    add_cluster(path, seen)
    add_cluster(path, cluster("other"))
    remove_host(path, "c", "h3")
    add_hosts(path, seen, [HostConfig(name="h4", address="192.0.2.4")])
    config = load_config(path)
    assert [c.name for c in config.clusters] == ["c", "other"]
    assert [h.name for h in config.clusters[0].hosts] == ["h1", "h2", "h4"]


def test_a_lock_held_too_long_is_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    path = tmp_path / "config.toml"
    add_cluster(path, cluster("first"))
    before = path.read_bytes()
    monkeypatch.setattr(paths, "LOCK_WAIT", 0.2)
    fd = os.open(paths.lock_path(path), os.O_RDWR)  # another open file: another holder
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(ConfigError) as raised:
            update_config(path, lambda c: c)
    finally:
        os.close(fd)
    assert str(paths.lock_path(path)) in str(raised.value)
    assert "try again" in str(raised.value)
    assert path.read_bytes() == before


def test_a_file_that_does_not_load_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[[clusters]]\nname = \n")
    with pytest.raises(ConfigError):
        add_cluster(path, cluster("new"))
    assert path.read_text() == "[[clusters]]\nname = \n"
