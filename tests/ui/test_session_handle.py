"""Screens reach the session through one typed handle (screens/handle.py) that MvmApp provides:
what a screen sees of the cluster, its HA and its decommissions is the shown cluster's, and
follows a switch."""

from __future__ import annotations

from pathlib import Path

from mvm_tui.screens.base import ClusterScreen
from mvm_tui.screens.handle import SessionHandle
from mvm_tui.services.decommission_runs import decommissions_for
from tests.ui.conftest import screen_of, wait_until
from tests.ui.test_clusters import SIZE, polled, two_clusters


async def test_screens_see_the_shown_cluster_through_the_app(tmp_path: Path) -> None:
    app, session, lab, _clock = two_clusters(tmp_path)
    handle: SessionHandle = app  # (mypy checks here that MvmApp is what screens reach)
    demo, other = app.managed
    demo.decommissions = decommissions_for(session, demo.cluster, None)  # (lab has none)
    assert demo.decommissions is not None
    assert other.decommissions is None
    async with app.run_test(size=SIZE) as pilot:
        await polled(pilot, session)
        screen = screen_of(app, ClusterScreen)
        assert screen.session is handle
        assert (screen.cluster, screen.ha, screen.decommissions) == (
            demo.cluster, demo.ha, demo.decommissions)
        assert app.switch_cluster("lab", mode="hosts")
        await wait_until(pilot, lambda: app.current_mode == "hosts", what="hosts")
        screen = screen_of(app, ClusterScreen)
        assert (screen.cluster, screen.ha, screen.decommissions) == (lab, other.ha, None)
        assert screen.ha is not demo.ha
        assert screen.ha is not None
