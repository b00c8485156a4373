"""The scripts of a group snapshot (backends/workload_commands.py), run by /bin/sh against
stand-ins of virsh that log their calls: each host's freeze reports how each member was held
(frozen by its agent, paused without one, left paused, shut off), after starting a watchdog
per running member; the thaw stops the watchdogs and thaws (resumes) what was held; should the
thaw never come, the watchdog thaws and resumes by itself after its hold."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mvm_tui.backends.workload_commands import (
    group_freeze_script,
    group_snap_script,
    group_thaw_script,
)

VIRSH = """#!/bin/sh
echo "virsh $4 $5" >> "$LOG"  # (virsh -q -c qemu:///system VERB VM)
case "$4" in
  domstate) case "$5" in off-*) echo "shut off";; held-*) echo paused;; *) echo running;; esac;;
  domfsfreeze) case "$5" in agent-*) exit 0;; *) exit 1;; esac;;
esac
"""


@pytest.fixture
def host(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "virsh").write_text(VIRSH)
    (bin_dir / "virsh").chmod(0o755)
    (bin_dir / "rbd").write_text('#!/bin/sh\necho "rbd $*" >> "$LOG"\n')
    (bin_dir / "rbd").chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "LOG": str(tmp_path / "calls"),
            "RUN": str(tmp_path)}


def sh(env: dict[str, str], script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True,
                          timeout=30)


def calls(env: dict[str, str]) -> list[str]:
    path = Path(env["LOG"])
    return path.read_text().splitlines() if path.exists() else []


def alive(pid: int) -> bool:
    """Running (not ended, nor a zombie nobody reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


MEMBERS = ["agent-a", "plain-b", "held-c", "off-d"]


def test_each_member_is_held_as_it_can_be_and_the_thaw_undoes_only_that(
        host: dict[str, str]) -> None:
    freeze = sh(host, group_freeze_script(MEMBERS, "t1", 600, host["RUN"]))
    assert freeze.stdout.splitlines() == ["agent-a frozen", "plain-b crash", "held-c held",
                                          "off-d stopped"], freeze.stderr
    watchdogs = sorted(Path(host["RUN"]).glob("mvm-tui-thaw-t1-*.pid"))
    assert [p.name for p in watchdogs] == ["mvm-tui-thaw-t1-agent-a.pid",
                                           "mvm-tui-thaw-t1-plain-b.pid"]  # (running ones)
    pids = [int(p.read_text()) for p in watchdogs]
    held = [c for c in calls(host) if c.split()[1] in ("domfsfreeze", "suspend")]
    assert held == ["virsh domfsfreeze agent-a", "virsh domfsfreeze plain-b",
                    "virsh suspend plain-b"]
    thaw = sh(host, group_thaw_script(MEMBERS, ["agent-a"], ["plain-b"], "t1", host["RUN"]))
    assert thaw.returncode == 0, thaw.stderr
    assert calls(host)[-2:] == ["virsh domfsthaw agent-a", "virsh resume plain-b"]
    assert not list(Path(host["RUN"]).glob("mvm-tui-thaw-*"))
    assert not [pid for pid in pids if alive(pid)]  # (no late thaw or resume)
    sleeping = subprocess.run(["pgrep", "-f", "sleep 600"], capture_output=True, text=True)
    assert sleeping.stdout == ""  # (nor their sleep left behind)


def test_a_thaw_that_never_comes_is_done_by_the_watchdog(host: dict[str, str]) -> None:
    freeze = sh(host, group_freeze_script(["agent-a", "plain-b"], "t2", 1, host["RUN"]))
    assert freeze.returncode == 0, freeze.stderr
    expected = {"virsh domfsthaw agent-a", "virsh resume agent-a", "virsh domfsthaw plain-b",
                "virsh resume plain-b"}
    for _ in range(5000):  # (bounded: the watchdogs wait 1 s, then undo)
        if expected <= set(calls(host)):
            break
        subprocess.run(["true"], check=True)  # (a moment: no sleep)
    assert expected <= set(calls(host))


def test_every_disk_is_snapshotted_and_a_failure_stops_the_rest(host: dict[str, str]) -> None:
    done = sh(host, group_snap_script("vms", ["a0", "b0", "b1"], "g"))
    assert done.returncode == 0
    assert calls(host) == ["rbd snap create vms/a0@g", "rbd snap create vms/b0@g",
                           "rbd snap create vms/b1@g"]
