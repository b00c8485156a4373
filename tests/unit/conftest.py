"""Fixtures of the unit tests that act on the demo cluster through its Cluster facade."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvm_tui.clock import VirtualClock
from mvm_tui.config import demo_config
from mvm_tui.session import Session, measure, open_session


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
async def session(tmp_path: Path, clock: VirtualClock) -> Session:
    """The demo, on a virtual clock, with its first poll done."""
    s = open_session(demo_config(), demo=True, clock=clock, db_path=tmp_path / "runs.db")
    await measure(s.clusters[0], 0)
    return s
