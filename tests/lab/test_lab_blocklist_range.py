"""Fencing sees CIDR ranges: `ceph osd blocklist range add` (Ceph 16.2.11+, the lab runs
16.2.15) fences every client of the addresses it holds, with no entry naming the host."""

from __future__ import annotations

import subprocess

import pytest

from mvm_tui import lab
from mvm_tui.backends.real import RealBackend
from mvm_tui.lab.netns import hx
from mvm_tui.session import Session

pytestmark = pytest.mark.lab


def ceph(lab_info: lab.LabInfo, *words: str) -> None:
    h1 = lab_info.host("h1")
    done = subprocess.run(hx(h1.index, "ceph", "--connect-timeout", "10", *words),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


async def test_a_host_in_a_blocklisted_range_is_fenced(
    lab_session: Session, lab_info: lab.LabInfo
) -> None:
    backend = lab_session.clusters[0].backend
    assert isinstance(backend, RealBackend)
    assert not await backend.is_fenced("h3")
    ceph(lab_info, "osd", "blocklist", "range", "add", "10.213.0.13/32", "600")
    try:
        assert "10.213.0.13:0/0" not in await backend.blocklisted()  # no entry for h3...
        assert await backend.is_fenced("h3")  # ...the range holds its address
        assert not await backend.is_fenced("h2")
    finally:
        ceph(lab_info, "osd", "blocklist", "range", "rm", "10.213.0.13/32")
    assert not await backend.is_fenced("h3")
