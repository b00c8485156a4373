"""RealSnapshots.take_group against a stand-in of its hosts (what each command answers): the
hosts freeze at once, the disks are snapshotted once every host has answered, every host that
froze is thawed, also when another host's freeze failed (then nothing is snapshotted), and
each VM's consistency is recorded on its first disk."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.capabilities import CliResult, GroupMember
from mvm_tui.backends.real_snapshots import RealSnapshots


class Hosts:
    def __init__(self, freezes: dict[str, str | None]) -> None:
        self.freezes = freezes  # host -> what its freeze prints (None: it fails)
        self.done: list[tuple[str, str]] = []  # (host, what: freeze, snap, thaw, meta)

    async def as_root(self, host: str, argv: Sequence[str], stdin: str | None = None,
                      timeout: float | None = None) -> CliResult:
        await asyncio.sleep(0)
        script = argv[-1]
        if "domfsfreeze" in script and "kill -- -" not in script:
            self.done.append((host, "freeze"))
            out = self.freezes[host]
            return CliResult(1, "", "unreachable") if out is None else CliResult(0, out, "")
        what = ("thaw" if "kill -- -" in script else "snap" if "snap create" in script
                else "meta")
        self.done.append((host, what))
        return CliResult(0, "", "")


MEMBERS = [GroupMember("h1", "a", ("a0", "a1")), GroupMember("h2", "b", ("b0",)),
           GroupMember("h1", "c", ("c0",))]


async def test_frozen_on_every_host_then_snapshotted_then_thawed() -> None:
    hosts = Hosts({"h1": "a frozen\nc held\n", "h2": "b crash\n"})
    how = await RealSnapshots(hosts).take_group(MEMBERS, "g")
    assert how == {"a": "frozen", "b": "crash", "c": "crash"}
    kinds = [w for _, w in hosts.done]
    assert kinds[:2] == ["freeze", "freeze"]
    assert kinds[2] == "snap"
    assert sorted(hosts.done[3:5]) == [("h1", "thaw"), ("h2", "thaw")]
    assert kinds[5:] == ["meta"] * 3


async def test_a_failed_freeze_snapshots_nothing_and_every_host_is_thawed() -> None:
    hosts = Hosts({"h1": "a frozen\nc frozen\n", "h2": None})
    with pytest.raises(BackendError):
        await RealSnapshots(hosts).take_group(MEMBERS, "g")
    assert "snap" not in [w for _, w in hosts.done]
    assert sorted(h for h, w in hosts.done if w == "thaw") == ["h1", "h2"]
