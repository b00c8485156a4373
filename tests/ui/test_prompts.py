"""The backends ask the operator through dialogs: unknown host keys and passwords."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mvm_tui.backends.ssh import AuthFailed, HostKeyUnknown, SshTarget
from mvm_tui.screens.host_key import HostKeyScreen
from mvm_tui.screens.password import PasswordScreen

from .conftest import Running, wait_until

FINGERPRINT = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"


def unknown(tmp_path: Path) -> HostKeyUnknown:
    return HostKeyUnknown("hv1", "192.0.2.11", 22, FINGERPRINT, "ssh-ed25519 AAAAC3Nz",
                          str(tmp_path / "known_hosts"))


@pytest.mark.parametrize(("key", "trusted"), [("a", True), ("r", False), ("escape", False)])
async def test_unknown_host_key_dialog(running: Running, tmp_path: Path, key: str,
                                       trusted: bool) -> None:
    demo, pilot = running
    prompts = demo.session.prompts
    answer = asyncio.create_task(prompts.on_unknown_key(unknown(tmp_path)))
    await wait_until(pilot, lambda: isinstance(demo.app.screen, HostKeyScreen))
    shown = str(demo.app.screen.query_one("#hostkey-fingerprint").render())
    assert shown == FINGERPRINT
    await pilot.press(key)
    assert await answer is trusted
    assert (prompts.accepted if trusted else prompts.refused)[0].fingerprint == FINGERPRINT
    assert not isinstance(demo.app.screen, HostKeyScreen)


async def test_password_dialog_hides_what_is_typed(running: Running) -> None:
    demo, pilot = running
    target = SshTarget("hv1", "192.0.2.11", user="ops")
    answer = asyncio.create_task(demo.session.prompts.ask_password(target, "sudo"))
    await wait_until(pilot, lambda: isinstance(demo.app.screen, PasswordScreen))
    await pilot.press(*"s3cret", "enter")
    assert await answer == "s3cret"


async def test_password_typed_is_never_on_screen(running: Running) -> None:
    demo, pilot = running
    target = SshTarget("hv1", "192.0.2.11", user="ops")
    answer = asyncio.create_task(demo.session.prompts.ask_password(target, "login"))
    await wait_until(pilot, lambda: isinstance(demo.app.screen, PasswordScreen))
    await pilot.press(*"hunter2")
    await pilot.pause()
    assert "hunter2" not in demo.app.export_screenshot()
    await pilot.press("escape")
    with pytest.raises(AuthFailed, match="no login password given"):
        await answer


async def test_the_same_key_is_asked_once(running: Running, tmp_path: Path) -> None:
    demo, pilot = running
    prompts = demo.session.prompts
    first = asyncio.create_task(prompts.on_unknown_key(unknown(tmp_path)))
    second = asyncio.create_task(prompts.on_unknown_key(unknown(tmp_path)))  # e.g. Ceph's poll
    await wait_until(pilot, lambda: isinstance(demo.app.screen, HostKeyScreen))
    await pilot.press("r")
    assert (await first, await second) == (False, False)
    assert len(prompts.refused) == 1
    assert await prompts.on_unknown_key(unknown(tmp_path)) is False  # a refusal stands
    assert not isinstance(demo.app.screen, HostKeyScreen)
