"""SteadyFooter repaints its keys only when what it shows changed (issue 16: Textual's Footer
rebuilt them at every focus change and refresh_bindings, 20-30 ms each on a busy screen), and a
click on a key presses it."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Button

from mvm_tui.widgets.footer import SteadyFooter


class FooterApp(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("x", "act", "Act")]

    def __init__(self) -> None:
        super().__init__()
        self.can_act = True
        self.acted = 0

    def compose(self) -> ComposeResult:
        yield Button("one", id="one")
        yield Button("two", id="two")
        yield SteadyFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.can_act if action == "act" else True

    def action_act(self) -> None:
        self.acted += 1


async def test_the_footer_is_repainted_only_when_what_it_shows_changed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    painted: list[bool] = []
    refresh = SteadyFooter.refresh

    def counted(footer: SteadyFooter, *args: Any, **kwargs: Any) -> Any:
        painted.append(footer.app.can_act)  # type: ignore[attr-defined]
        return refresh(footer, *args, **kwargs)

    monkeypatch.setattr(SteadyFooter, "refresh", counted)
    app = FooterApp()
    async with app.run_test() as pilot:
        await pilot.pause()
        footer = app.query_one(SteadyFooter)
        assert painted  # its first keys
        assert footer.shown_keys().get("x") == "Act"
        painted.clear()

        app.query_one("#two", Button).focus()  # the same keys
        await pilot.pause()
        app.screen.refresh_bindings()
        await pilot.pause()
        assert painted == []

        app.can_act = False  # (check_action False: the key is not shown)
        app.screen.refresh_bindings()
        await pilot.pause()
        assert painted == [False]
        assert "x" not in footer.shown_keys()


async def test_a_click_on_a_key_presses_it() -> None:
    app = FooterApp()
    async with app.run_test() as pilot:
        await pilot.pause()
        footer = app.query_one(SteadyFooter)
        [(start, _, _)] = [span for span in footer._spans if span[2][0] == "x"]
        await pilot.click(SteadyFooter, offset=(start + 1, 0))
        assert app.acted == 1
        await pilot.click(SteadyFooter, offset=(footer.size.width - 1, 0))  # past every key
        assert app.acted == 1
