"""`mvm-tui lab guests` and `lab guests start N`, run as a new user would, on the real lab:
tiny guests made and spread over the hosts, started again when shut off, listed with their
host and state, and seen by mvm-tui."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from mvm_tui import lab
from mvm_tui.lab.netns import hx
from mvm_tui.session import Session, poll_once

pytestmark = pytest.mark.lab

MVM_TUI = str(Path(sys.executable).with_name("mvm-tui"))
VIRSH = ("virsh", "-q", "-c", "qemu:///system")
NEW = [f"guest-{n}" for n in range(1, 5)]


def lab_cmd(*args: str) -> str:
    out = subprocess.run([MVM_TUI, "lab", *args], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def listing(text: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(guest, host) -> (state, kind), from the table `lab guests` prints."""
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.split()[:2] == ["GUEST", "HOST"])
    rows: dict[tuple[str, str], tuple[str, str]] = {}
    for line in lines[head + 1:]:
        if line.startswith(("not asked", "guests done")):
            break
        parts = line.split()
        rows[(parts[0], parts[1])] = (" ".join(parts[2:-1]), parts[-1])
    return rows


@pytest.fixture
def clean(lab_info: lab.LabInfo) -> Iterator[None]:
    yield
    for h in lab_info.hosts:  # the shared lab keeps the guests the other tests expect
        for name in NEW:
            for verb in ("destroy", "undefine"):
                subprocess.run(hx(h.index, *VIRSH, verb, name), capture_output=True, timeout=60)


async def test_lab_guests_start_and_list(lab_info: lab.LabInfo, lab_session: Session,
                                         clean: None) -> None:
    before = listing(lab_cmd("guests"))
    assert not {g for g, _ in before} & set(NEW)
    load = Counter(h for _, h in before)
    expected = {}
    for name in NEW:  # each on the host with the fewest guests then
        host = min((h.name for h in lab_info.hosts), key=lambda h: (load[h], h))
        expected[name], load[host] = host, load[host] + 1

    out = lab_cmd("guests", "start", "4")
    for name in NEW:
        assert f"{name}: made (nodisk) and started on {expected[name]}" in out, out
    rows = listing(out)
    for name in NEW:
        assert rows[(name, expected[name])] == ("running", "nodisk")

    h = lab_info.host(expected["guest-1"])
    await asyncio.to_thread(subprocess.run, hx(h.index, *VIRSH, "destroy", "guest-1"),
                            check=True, timeout=60)
    assert listing(lab_cmd("guests"))[("guest-1", h.name)] == ("shut off", "nodisk")
    again = lab_cmd("guests", "start", "4")  # nothing made twice; the shut-off one started
    assert f"guest-1: started on {h.name} (it was shut off)" in again
    assert f"guest-2: running on {expected['guest-2']} already" in again
    assert "made" not in again
    assert listing(again)[("guest-1", h.name)] == ("running", "nodisk")

    cluster = lab_session.clusters[0]  # what the TUI shows
    await poll_once(cluster)
    seen = {v.name: (v.host, v.power.value) for v in cluster.snapshot().vms}
    assert {n: seen[n] for n in NEW} == {n: (expected[n], "running") for n in NEW}


def test_bad_input_gets_a_message() -> None:
    out = subprocess.run([MVM_TUI, "lab", "guests", "start", "0"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.strip() == "mvm-tui lab guests: the number of guests must be 1..50, got 0"
