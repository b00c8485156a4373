"""Fixtures shared by the backends' tests: a virtual clock and the demo cluster on it; the
in-process SSH server with its key in a known_hosts file, for the preflight's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mvm_tui.backends.sim import SimBackend, demo_cluster
from mvm_tui.clock import VirtualClock
from tests.backends.ssh_server import SshTestServer


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def sim(clock: VirtualClock) -> SimBackend:
    return demo_cluster(clock)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[SshTestServer]:
    """The in-process SSH server (tests/backends/ssh_server.py), stopped after the test."""
    srv = SshTestServer(tmp_path)
    await srv.start()
    yield srv
    await srv.stop()


@pytest.fixture
async def known_server(tmp_path: Path) -> AsyncIterator[SshTestServer]:
    """The SSH server, its host key in tmp_path/known_hosts (the preflight tests name their
    own `server` after it)."""
    srv = SshTestServer(tmp_path)
    await srv.start()
    (tmp_path / "known_hosts").write_text(srv.known_hosts_line())
    yield srv
    await srv.stop()
