"""The operator's [keys] replace the defaults: the new key works, the old one no longer does,
and the footer, the `?` panel and the palette show the new keys."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from textual.widgets._key_panel import BindingsTable  # (idem)

from mvm_tui.screens.summary import SummaryScreen
from mvm_tui.screens.vms import VmsScreen
from mvm_tui.widgets.footer import SteadyFooter

from .conftest import first_poll_shown, make_demo, wait_until


async def test_rebound_keys_work_and_are_shown(tmp_path: Path) -> None:
    demo = make_demo(tmp_path)
    demo.app.set_keymap({"go.vms": "v", "app.quit": "ctrl+q", "vm.placement": "ctrl+o"})
    async with demo.app.run_test(size=(160, 48)) as pilot:
        await first_poll_shown(pilot, demo)
        assert isinstance(demo.app.screen, SummaryScreen)
        footer = demo.app.screen.query_one(SteadyFooter).shown_keys()
        assert footer.get("v") == "VMs", footer
        assert footer.get("ctrl+q") == "Quit", footer
        assert "3" not in footer, footer
        assert "q" not in footer, footer

        await pilot.press("question_mark")
        await wait_until(pilot, lambda: bool(demo.app.screen.query(BindingsTable)))
        console = Console(width=80, record=True, file=io.StringIO())
        console.print(demo.app.screen.query_one(BindingsTable).render_bindings_table())
        panel = {" ".join(line.split()) for line in console.export_text().splitlines()}
        assert {"^q Quit", "v VMs"} <= panel, panel
        assert not {"q Quit", "3 VMs"} & panel, panel

        await pilot.press("3", "q")
        await pilot.pause()
        assert isinstance(demo.app.screen, SummaryScreen)
        assert demo.app.is_running
        await pilot.press("v")
        await wait_until(pilot, lambda: isinstance(demo.app.screen, VmsScreen), what="VMs")
        await pilot.pause()
        palette = {c.title.split(":")[0]: c.help
                   for c in demo.app.get_system_commands(demo.app.screen_stack[-1])}
        assert palette.get("Placement") == "key ctrl+o", palette
