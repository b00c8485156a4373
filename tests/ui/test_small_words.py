"""Smaller points of #14 §5: the preflight counts hosts in good English, an empty VMs filter
says that nothing matches, `cluster create --from` is explained in its help."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Label, Static

from mvm_tui.cli import main
from mvm_tui.core.preflight import Item
from mvm_tui.screens.preflight import PreflightScreen
from mvm_tui.screens.vms import VmsScreen
from mvm_tui.services.preflight import PreflightHost, PreflightReport, PreflightSpec
from mvm_tui.widgets.vm_table import VmTable

from .conftest import first_poll_shown, make_demo, wait_until
from .test_preflight_screen import _screen_text


@pytest.mark.parametrize("count", [1, 2])
async def test_the_preflight_title_counts_hosts(tmp_path: Path, count: int) -> None:
    demo = make_demo(tmp_path)
    hosts = tuple(PreflightHost(f"n{i}", f"10.0.0.{i}") for i in range(1, count + 1))
    spec = PreflightSpec(hosts, ("/dev/sdb",), ("eth0",), tmp_path / "known_hosts")

    async def run(s: PreflightSpec) -> list[PreflightReport]:
        return [PreflightReport(h.name, (Item("sudo", "ok", "root"),)) for h in s.hosts]

    async with demo.app.run_test(size=(160, 48)) as pilot:
        await first_poll_shown(pilot, demo)
        demo.app.push_screen(PreflightScreen(spec, run))
        await wait_until(pilot, lambda: isinstance(demo.app.screen, PreflightScreen) and
                         demo.app.screen.reports is not None)
        await pilot.pause()
        title = str(demo.app.screen.query_one(".dialog-title", Label).render())
        head = _screen_text(demo)
    word = "host" if count == 1 else "hosts"
    assert title.startswith(f"Preflight of {count} {word} (")
    assert f"{count} of {count} {word} ready" in head


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_a_filter_matching_no_vm_says_so(tmp_path: Path, size: tuple[int, int]) -> None:
    demo = make_demo(tmp_path)
    async with demo.app.run_test(size=size) as pilot:
        await first_poll_shown(pilot, demo)
        await pilot.press("3")
        await wait_until(pilot, lambda: isinstance(demo.app.screen, VmsScreen))
        screen = demo.app.screen
        none = screen.query_one("#vm-none", Static)
        assert not none.display  # VMs are listed: no such line
        await pilot.press("slash", *"[b]zzz")
        await wait_until(pilot, lambda: not screen.query_one(VmTable).rows, what="no row")
        await pilot.pause()
        assert none.display
        assert none.region.height >= 1
        assert str(none.render()) == 'No VM matches "[b]zzz" (esc clears the filter).'
        await pilot.press("escape")
        await wait_until(pilot, lambda: not none.display, what="the line gone")


def test_cluster_create_from_has_a_help_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["cluster", "create", "--help"])
    out = capsys.readouterr().out
    assert "--from FILE" in out
    assert "the TOML file describing the cluster" in out


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_esc_clears_a_filter_left_with_enter(tmp_path: Path, size: tuple[int, int]) -> None:
    """The line says "esc clears the filter": so it does once Enter has moved to the table."""
    demo = make_demo(tmp_path)
    async with demo.app.run_test(size=size) as pilot:
        await first_poll_shown(pilot, demo)
        await pilot.press("3")
        await wait_until(pilot, lambda: isinstance(demo.app.screen, VmsScreen))
        screen = demo.app.screen
        table, none = screen.query_one(VmTable), screen.query_one("#vm-none", Static)
        every = len(table.rows)
        await pilot.press("slash", *"zzz", "enter")
        await wait_until(pilot, lambda: not table.rows and none.display, what="no row")
        assert screen.focused is table
        await pilot.press("escape")
        await wait_until(pilot, lambda: len(table.rows) == every, what="every VM back")
        assert not none.display
        assert not screen.query_one("#vm-filter").display
        assert demo.app.screen is screen
        assert screen.focused is table
