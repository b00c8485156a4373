"""The HA service inside the TUI, on the simulated cluster: a lost host's VMs restart
elsewhere after fencing, and the operator sees the service and its decisions."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace

from rich.console import Console
from textual.pilot import Pilot

from mvm_tui.models import PowerState
from mvm_tui.screens.summary import SummaryScreen
from mvm_tui.widgets.confirm import ConfirmModal

from .conftest import DemoApp, Running, screen_of, sim_of


async def test_a_lost_host_is_fenced_and_its_vms_restart_elsewhere(with_ha: Running) -> None:
    demo, pilot = with_ha
    cluster = demo.session.clusters[0]
    assert screen_of(demo.app, SummaryScreen)._ha_line().plain == "HA: active in this session"
    sim = sim_of(demo)
    sim.power_off_host("hv1")  # web-01 auto, db-01 failover, license-srv pinned
    for _ in range(60):
        await demo.clock.advance(1.0)
        await pilot.pause()
    messages = [e.message for e in cluster.poller.events()]
    assert any(m.startswith("HA: ") and "fence hv1" in m for m in messages), messages
    fence = next(i for i, m in enumerate(reversed(messages)) if "fence hv1" in m)
    restarts = [i for i, m in enumerate(reversed(messages)) if "restart" in m]
    assert restarts
    assert min(restarts) > fence  # fenced before any restart (oldest first)
    assert sim.blocklist() == ["hv1"]
    vms = {n: await sim.vm_info(n) for n in ("web-01", "db-01")}
    assert {v.host for v in vms.values()} <= {"hv2", "hv3"}
    assert all(v.power is PowerState.RUNNING for v in vms.values())
    assert sim.where_is("license-srv") == "hv1"  # pinned: stays down where it was
    assert "hv1 recovered" in screen_of(demo.app, SummaryScreen)._ha_line().plain


async def advance_until(demo: DemoApp, pilot: Pilot[None], condition: Callable[[], bool],
                        seconds: int = 120) -> None:
    """Cluster time goes on, a second at a time, until `condition()` holds."""
    for _ in range(seconds):
        if condition():
            return
        await demo.clock.advance(1.0)
        await pilot.pause()
    assert condition(), f"not within {seconds} s of cluster time"


async def test_failback_ask_is_asked_in_the_tui_and_the_answer_acts(with_ha: Running) -> None:
    demo, pilot = with_ha
    ha = demo.app.ha
    assert ha is not None
    await ha.stop()
    ha.settings = replace(ha.settings, failback="ask")
    ha.start()
    sim = sim_of(demo)
    sim.power_off_host("hv1")
    for _ in range(60):
        await demo.clock.advance(1.0)
        await pilot.pause()
    moved = {n: sim.where_is(n) for n in ("web-01", "db-01")}
    assert set(moved.values()) <= {"hv2", "hv3"}
    sim.restore_host("hv1")
    await advance_until(demo, pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    asked = demo.app.screen
    assert isinstance(asked, ConfirmModal)
    vm = asked.title_text.split()[2]  # "HA: fail db-01 back to hv1?"
    assert asked.title_text == f"HA: fail {vm} back to hv1?"
    assert vm in moved
    assert any("virsh" in c for step in asked.steps for c in step.preview)
    await pilot.press("y")
    await advance_until(demo, pilot, lambda: sim.where_is(vm) == "hv1")
    assert vm not in ha.pending_failbacks


async def test_trouble_is_a_banner(with_ha: Running) -> None:
    demo, pilot = with_ha
    ha = demo.app.ha
    assert ha is not None
    ha._set_trouble("runs", "HA cannot record its runs, so it does not act: disk full")
    await pilot.pause()
    ha_line = screen_of(demo.app, SummaryScreen)._ha_line().plain
    assert "HA PROBLEM: HA cannot record its runs" in ha_line
    messages = [e.message for e in demo.session.clusters[0].poller.events()]
    assert any("disk full" in m for m in messages)


async def test_hosts_and_summary_say_what_ha_says_and_never_ok_while_a_vm_is_down(
    with_ha: Running,
) -> None:
    """hv1 stops answering: while HA counts it suspect, the Hosts table says so (not
    "online"); once lost, Summary is not OK while its VMs are down or recovering; the fence
    and the pinned VM left down are toasts; `i` shows the incident's timeline."""
    from mvm_tui.screens.hosts import HostsScreen
    from mvm_tui.screens.incidents import IncidentsScreen
    from mvm_tui.widgets.resource_table import ResourceTable

    demo, pilot = with_ha
    ha = demo.app.ha
    assert ha is not None
    sim = sim_of(demo)
    toasts: list[str] = []
    ha.news.listen(lambda n: toasts.append(f"{n.event} {n.host} {n.vm or ''}".strip()))
    sim.power_off_host("hv1")
    await advance_until(demo, pilot, lambda: ha.status().phases["hv1"] == "suspect")
    await pilot.press("2")
    await pilot.pause()
    hosts = demo.app.screen
    assert isinstance(hosts, HostsScreen)
    row = next(r for r in hosts.query_one(ResourceTable).rows if r.key == "hv1")
    assert str(row.cells[2]) == "suspect (HA)"
    await pilot.press("1")
    summary = demo.app.screen
    assert isinstance(summary, SummaryScreen)
    said: list[str] = []

    def panel() -> str:
        written = io.StringIO()
        Console(file=written, width=300).print(summary._cluster_panel(summary.cluster.snapshot()))
        return written.getvalue()

    def looked() -> bool:  # at every second: never OK while a VM HA should run is down
        text = panel()
        if ha.status().vms:
            said.append(text)
            assert "● OK" not in text, text
        return ha.status().phases["hv1"] == "recovered"

    await advance_until(demo, pilot, looked)
    assert said  # (the restarts take no cluster time here: only the pinned VM stays down)
    text = panel()
    assert "● OK" not in text
    assert "stopped by policy: license-srv" in text
    assert "HA: license-srv stopped by policy" in text
    assert toasts[0] == "fenced hv1"
    assert "left-down hv1 license-srv" in toasts
    await pilot.press("i")
    await pilot.pause()
    screen = demo.app.screen
    assert isinstance(screen, IncidentsScreen)
    (incident,) = screen.incidents
    lines = incident.lines()
    assert lines[0] == "+0 s  suspect: a check failed"
    assert "fenced" in " ".join(lines)
    assert set(incident.downtime) == {"web-01", "db-01"}
