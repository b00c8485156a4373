"""Fixtures shared by the simulator's tests: a virtual clock and the demo cluster on it."""

from __future__ import annotations

import pytest

from mvm_tui.backends.sim import SimBackend, demo_cluster
from mvm_tui.clock import VirtualClock


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def sim(clock: VirtualClock) -> SimBackend:
    return demo_cluster(clock)
