"""A demo app on a virtual clock, and helpers to drive it without sleeping."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias, TypeVar

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen

from mvm_tui.app import MvmApp
from mvm_tui.backends.sim import SimBackend
from mvm_tui.clock import VirtualClock
from mvm_tui.config import demo_config
from mvm_tui.ha_cli import build_ha_service
from mvm_tui.session import Session, open_session

SIZE = (120, 40)


@dataclass
class DemoApp:
    app: MvmApp
    clock: VirtualClock
    session: Session


Running: TypeAlias = tuple[DemoApp, Pilot[None]]  # what the running and with_ha fixtures give
S = TypeVar("S", bound=Screen[Any])  # a screen of any result type


def sim_of(demo: DemoApp) -> SimBackend:
    """The demo cluster's backend: the simulator, with its faults and its hosts' services."""
    backend = demo.session.clusters[0].backend
    assert isinstance(backend, SimBackend)
    return backend


def screen_of(app: App[None], kind: type[S]) -> S:
    """The screen on top, which must be a `kind`."""
    screen = app.screen
    assert isinstance(screen, kind), f"{type(screen).__name__} is on top, not {kind.__name__}"
    return screen


def make_demo(tmp_path: Path) -> DemoApp:
    clock = VirtualClock()
    session = open_session(demo_config(), demo=True, clock=clock, db_path=tmp_path / "runs.db")
    app = MvmApp(session.clusters[0], refresh_delay=0.0, prompts=session.prompts)
    return DemoApp(app, clock, session)


@pytest.fixture
def demo(tmp_path: Path) -> DemoApp:
    return make_demo(tmp_path)


async def wait_until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 5.0,
                     what: str = "condition") -> None:
    """Let the app run until `condition()` holds; fail after `timeout` real seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.01)


async def first_poll_shown(pilot: Pilot[None], demo: DemoApp) -> None:
    """Every host polled once and the result pushed to the screens."""
    poller = demo.session.clusters[0].poller
    hosts = len(demo.session.clusters[0].backend.hosts)
    await wait_until(pilot, lambda: poller.polls_done >= hosts and demo.app.up_to_date,
                     what="first poll shown")
    await pilot.pause()


async def advance(pilot: Pilot[None], demo: DemoApp, seconds: float) -> None:
    """Move the cluster's clock on, then let the app catch up."""
    await demo.clock.advance(seconds)
    await pilot.pause()


@pytest.fixture
async def running(demo: DemoApp) -> AsyncIterator[Running]:
    async with demo.app.run_test(size=SIZE) as pilot:
        await first_poll_shown(pilot, demo)
        yield demo, pilot


async def finish_latest_run(pilot: Pilot[None], demo: DemoApp, max_seconds: int = 300) -> None:
    """Advance the cluster's clock a second at a time until the newest run has ended."""
    store = demo.session.store
    await wait_until(pilot, lambda: bool(store.list_runs()), what="a run")
    for _ in range(max_seconds):
        if store.list_runs()[0].ended is not None:
            return
        await advance(pilot, demo, 1.0)
    raise AssertionError(f"run still {store.list_runs()[0].state} after {max_seconds} s")


@pytest.fixture
async def with_ha(tmp_path: Path) -> AsyncIterator[Running]:
    """The demo app with its HA service (local lock in tmp_path/ha), every host polled."""
    clock = VirtualClock()
    session = open_session(demo_config(), demo=True, clock=clock, db_path=tmp_path / "runs.db")
    cluster = session.clusters[0]
    ha = build_ha_service(session, cluster, lock_dir=tmp_path / "ha")
    app = MvmApp(cluster, refresh_delay=0.0, prompts=session.prompts, ha=ha)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.up_to_date and cluster.poller.polls_done >= 3)
        yield DemoApp(app, clock, session), pilot
