"""The palette's Screenshot saves into a directory that exists and says which file; a save
that fails says why (Textual's default, ~/Downloads, is missing on most jump boxes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import DemoApp, first_poll_shown, make_demo, wait_until
from .test_palette_actions import choose


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME, config and state in tmp_path/home, which has no Downloads directory."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    return home


async def take(demo: DemoApp, size: tuple[int, int]) -> list[tuple[str, str, str]]:
    """The palette's Screenshot, once; the notifications then (title, severity, message)."""
    async with demo.app.run_test(size=size, notifications=True) as pilot:
        await first_poll_shown(pilot, demo)
        await choose(pilot, demo.app, "Screenshot")
        await wait_until(pilot, lambda: any(n.title == "Screenshot"
                                            for n in demo.app._notifications),
                         what="the screenshot's notification")
        assert demo.app.is_running
        return [(n.title, n.severity, n.message) for n in demo.app._notifications]


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_without_downloads_it_goes_to_the_state_directory(
        tmp_path: Path, home: Path, size: tuple[int, int]) -> None:
    told = await take(make_demo(tmp_path), size)
    saved = list((home / "state" / "mvm-tui" / "screenshots").glob("*.svg"))
    assert len(saved) == 1
    assert saved[0].read_text().startswith("<svg")
    assert ("Screenshot", "information", f"Saved to {saved[0]}") in told
    assert saved[0].parent.stat().st_mode & 0o777 == 0o700
    assert not (home / "Downloads").exists()


async def test_an_existing_downloads_directory_is_used(tmp_path: Path, home: Path) -> None:
    (home / "Downloads").mkdir()
    told = await take(make_demo(tmp_path), (160, 48))
    saved = list((home / "Downloads").glob("*.svg"))
    assert len(saved) == 1
    assert ("Screenshot", "information", f"Saved to {saved[0]}") in told


async def test_a_failed_save_says_why(tmp_path: Path, home: Path) -> None:
    (home / "state").mkdir()
    (home / "state" / "mvm-tui").write_text("a file where the state directory should be")
    told = await take(make_demo(tmp_path), (160, 48))
    [(severity, message)] = [(s, m) for t, s, m in told if t == "Screenshot"]
    assert severity == "error"
    assert message.startswith("Not saved: ")
    assert str(home / "state" / "mvm-tui") in message
    assert (home / "state" / "mvm-tui").is_file()  # nothing changed
