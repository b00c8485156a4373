"""SteadyFooter rebuilds its keys only when what it shows changed (issue 16: Textual's Footer
rebuilt them at every focus change and refresh_bindings, 20-30 ms each on a busy screen)."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Button
from textual.widgets._footer import FooterKey  # (not exported by textual.widgets)

from mvm_tui.widgets.footer import SteadyFooter


class FooterApp(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("x", "act", "Act")]

    def __init__(self) -> None:
        super().__init__()
        self.can_act = True

    def compose(self) -> ComposeResult:
        yield Button("one", id="one")
        yield Button("two", id="two")
        yield SteadyFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.can_act if action == "act" else True

    def action_act(self) -> None:
        pass


async def test_the_footer_is_rebuilt_only_when_what_it_shows_changed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rebuilt: list[bool] = []
    recompose = SteadyFooter.recompose

    async def counted(footer: SteadyFooter) -> Any:
        rebuilt.append(footer.app.can_act)  # type: ignore[attr-defined]
        return await recompose(footer)

    monkeypatch.setattr(SteadyFooter, "recompose", counted)
    app = FooterApp()
    async with app.run_test() as pilot:
        await pilot.pause()
        footer = app.query_one(SteadyFooter)
        assert rebuilt  # its first keys
        assert "Act" in [key.description for key in footer.query(FooterKey)]
        rebuilt.clear()

        app.query_one("#two", Button).focus()  # the same keys
        await pilot.pause()
        app.screen.refresh_bindings()
        await pilot.pause()
        assert rebuilt == []

        app.can_act = False  # (check_action False: the key is not shown)
        app.screen.refresh_bindings()
        await pilot.pause()
        assert rebuilt == [False]
        await pilot.pause()  # (the new keys are mounted after the rebuild)
        assert "Act" not in [key.description for key in footer.query(FooterKey)]
