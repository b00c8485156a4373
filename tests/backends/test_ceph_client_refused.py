"""A Ceph command that fails because of the host it ran on (its client blocklisted: the host
was fenced; or no answer in time) is run on another host: HA's lease and state (rados) must
not stop at a fenced host. On what the lab's Ceph 16 really printed
(tests/fixtures/ceph/lab16/blocklisted-client.txt)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from mvm_tui.backends.ceph import client_refused
from mvm_tui.backends.real import RealBackend
from mvm_tui.backends.ssh.pool import CommandResult
from mvm_tui.config import ClusterConfig, HostConfig

CAPTURE = (Path(__file__).resolve().parents[1] / "fixtures" / "ceph" / "lab16"
           / "blocklisted-client.txt").read_text()


def captured() -> dict[str, tuple[int, str]]:
    """command -> (exit status, stderr), as the lab printed them."""
    out = {}
    for block in CAPTURE.split("$ timeout 10 ")[1:]:
        command = block.splitlines()[0]
        status = int(re.search(r"^exit: (\d+)$", block, re.M).group(1))  # type: ignore[union-attr]
        stderr = block.split("stderr: ", 1)[1]
        out[command] = (status, stderr)
    return out


def test_a_blocklisted_client_is_told_from_a_refusal_of_what_was_asked() -> None:
    got = captured()
    refused = [c for c, (status, err) in got.items() if client_refused(status, err)]
    assert refused == ["rados -p vms lock info mvm-tui-ha.mvmlab ha",
                       "rados -p vms listxattr mvm-tui-ha.mvmlab",
                       "rados -p vms setxattr mvm-tui-ha.mvmlab probe x"]
    assert not client_refused(*got["ceph -s -f json"])
    assert client_refused(124, "")  # `timeout 10 rados ...` ran out of time
    # what was asked is refused (a lock held by another: EBUSY): the answer, from any host
    assert not client_refused(1, "rados_lock_exclusive: (16) Device or resource busy")
    assert not client_refused(2, "error getting xattr vms/x/ha: (2) No such file or directory")


@pytest.fixture
def backend() -> RealBackend:
    cluster = ClusterConfig(name="c", layout="hci", data_devices=["/dev/sdb"], hosts=[
        HostConfig(name=n, address=f"192.0.2.{i}") for i, n in enumerate(("h1", "h2", "h3"), 1)])
    return RealBackend(cluster)


async def test_the_lease_command_runs_on_another_host_when_its_host_is_fenced(
    backend: RealBackend, monkeypatch: pytest.MonkeyPatch,
) -> None:
    status, stderr = captured()["rados -p vms lock info mvm-tui-ha.mvmlab ha"]
    ran: list[str] = []

    async def run(host: str, argv: list[str], **kw: Any) -> CommandResult:
        ran.append(host)
        if host == "h1":  # fenced: its client is refused
            return CommandResult(" ".join(argv), status, "", stderr)
        return CommandResult(" ".join(argv), 0, "{}", "")

    monkeypatch.setattr(backend.ssh, "run", run)
    backend._answered = "h1"  # (it answered last, so it is asked first)
    result = await backend.ceph(["rados", "-p", "vms", "lock", "info", "x", "ha"])
    assert (result.exit_status, ran) == (0, ["h1", "h2"])
    backend._fenced.add("h1")  # fenced by this process: asked last from now on
    backend._answered = "h1"
    ran.clear()
    await backend.ceph(["rados", "-p", "vms", "lock", "info", "x", "ha"])
    assert ran == ["h2"]
