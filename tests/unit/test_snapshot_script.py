"""The script that snapshots a running VM on its host (backends/real_snapshots.py), run by
/bin/sh against stand-ins of virsh and rbd that log their calls: the guest is thawed (and
resumed, when it was paused) on every end of the script, also when a snapshot fails and when
the script is hung up (its SSH session's end) in the middle of a snapshot; it thaws before it
writes its answer (a reader gone never leaves the guest frozen)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from mvm_tui.backends.real_snapshots import parse_snaps
from mvm_tui.backends.workload_commands import take_script

FAKE = """#!/bin/sh
echo "$(basename "$0") $*" >> "$LOG"
case "$(basename "$0") $*" in
  *domstate*) echo "${STATE:-running}";;
  *domfsfreeze*) [ -n "$AGENT" ] || exit 1;;
  "rbd snap create"*"@hang") echo hanging >> "$LOG"; exec sleep 60;;
  "rbd snap create"*"@bad") echo "rbd: failed" >&2; exit 2;;
esac
"""


@pytest.fixture
def host(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("virsh", "rbd"):
        (bin_dir / tool).write_text(FAKE)
        (bin_dir / tool).chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "LOG": str(tmp_path / "calls")}


def take(env: dict[str, str], images: list[str], name: str,
         **extra: str) -> subprocess.CompletedProcess[str]:
    script = take_script("web-1", "vms", images, name)
    return subprocess.run(["sh", "-c", script], env={**env, **extra}, capture_output=True,
                          text=True, timeout=30)


def verbs(env: dict[str, str]) -> list[str]:
    """What was called, shortly: "virsh domfsfreeze", "rbd snap create vms/d0@s" ..."""
    out = []
    for line in Path(env["LOG"]).read_text().splitlines():
        words = line.split()
        out.append(" ".join(w for w in words if w not in ("-q", "-c", "qemu:///system",
                                                          "web-1")))
    return out


def test_frozen_by_the_agent_then_thawed(host: dict[str, str]) -> None:
    done = take(host, ["d0", "d1"], "s", AGENT="1")
    assert (done.returncode, done.stdout) == (0, "frozen\n"), done.stderr
    assert verbs(host) == ["virsh domstate", "virsh domfsfreeze", "rbd snap create vms/d0@s",
                           "rbd snap create vms/d1@s",
                           "rbd image-meta set vms/d0 mvm.snap.s frozen", "virsh domfsthaw"]


def test_without_an_agent_several_disks_are_paused_for_one_instant(host: dict[str, str]) -> None:
    done = take(host, ["d0", "d1"], "s")
    assert (done.returncode, done.stdout) == (0, "crash\n"), done.stderr
    assert verbs(host) == ["virsh domstate", "virsh domfsfreeze", "virsh suspend",
                           "rbd snap create vms/d0@s", "rbd snap create vms/d1@s",
                           "rbd image-meta set vms/d0 mvm.snap.s crash", "virsh resume"]


def test_one_disk_without_an_agent_is_not_paused(host: dict[str, str]) -> None:
    done = take(host, ["d0"], "s")
    assert done.stdout == "crash\n"
    assert "virsh suspend" not in verbs(host)


def test_a_paused_vm_is_neither_frozen_nor_paused_again(host: dict[str, str]) -> None:
    done = take(host, ["d0", "d1"], "s", AGENT="1", STATE="paused")
    assert done.stdout == "crash\n"
    assert not [v for v in verbs(host) if v.split()[1] in ("domfsfreeze", "suspend")]


def test_a_failed_snapshot_still_thaws(host: dict[str, str]) -> None:
    done = take(host, ["d0"], "bad", AGENT="1")
    assert done.returncode != 0
    assert verbs(host)[-1] == "virsh domfsthaw"
    assert done.stdout == ""
    assert "mvm.snap.bad" not in " ".join(verbs(host))  # (no consistency recorded)


def test_a_script_hung_up_midway_still_resumes_the_vm(host: dict[str, str]) -> None:
    script = take_script("web-1", "vms", ["d0", "d1"], "hang")
    proc = subprocess.Popen(["sh", "-c", script], env={**host}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    log = Path(host["LOG"])
    for _ in range(3000):  # (bounded: the stand-in writes "hanging" before it sleeps)
        if log.exists() and "hanging" in log.read_text():
            break
        assert proc.poll() is None
        subprocess.run(["true"], check=True)  # (a moment: no sleep)
    else:
        raise AssertionError("the script never reached its snapshot")
    os.killpg(proc.pid, signal.SIGHUP)  # (the session's processes, as a hangup reaches them)
    proc.wait(timeout=30)
    assert verbs(host)[-2:] == ["hanging", "virsh resume"]  # (no agent: it was paused)
    assert proc.returncode == 129


def test_rbd_snap_ls_parsed() -> None:
    text = ('[{"id":4,"name":"before","size":67108864,"protected":"false",'
            '"timestamp":"Mon Dec  7 23:00:00 2026"}]')
    assert parse_snaps(text) == {"before": (1796684400.0, 67108864)}


def test_a_reader_gone_never_leaves_the_guest_frozen(host: dict[str, str]) -> None:
    read, write = os.pipe()
    os.close(read)  # (the SSH session that would read the answer is gone)
    script = take_script("web-1", "vms", ["d0"], "s")
    try:
        subprocess.run(["sh", "-c", script], env={**host, "AGENT": "1"}, stdout=write,
                       stderr=subprocess.DEVNULL, timeout=30, check=False)
    finally:
        os.close(write)
    assert verbs(host)[-1] == "virsh domfsthaw"
