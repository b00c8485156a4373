"""A provisioning step's progress bar follows apt-get's own status lines (-o APT::Status-Fd=1,
captured from a real `apt-get install hello` in tests/fixtures/provision); every other line
goes to the run's log."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvm_tui.clock import SystemClock
from mvm_tui.runs import StepContext
from mvm_tui.services.provision import apt_progress, step_output

APT = Path(__file__).parent.parent / "fixtures" / "provision" / "apt-install-hello.txt"


@pytest.mark.parametrize(("line", "expected"), [
    ("dlstatus:1:24.4943:Retrieving file 1 of 1", (0.122, "Retrieving file 1 of 1")),
    ("pmstatus:hello:60.0000:Configuring hello (amd64)", (0.8, "Configuring hello (amd64)")),
    ("pmstatus:dpkg-exec:100.0000:Running dpkg", (1.0, "Running dpkg")),
    ("pmstatus:x:250:too far", (1.0, "too far")),
    ("pmstatus:x:abc:not a number", None),
    ("mvm-provision: installing openvswitch-switch", None),
    ("Setting up hello (2.10-3) ...", None),
    ("", None),
])
def test_apt_status_lines(line: str, expected: tuple[float, str] | None) -> None:
    got = apt_progress(line)
    if expected is None:
        assert got is None
    else:
        assert got is not None
        assert got[1] == expected[1]
        assert got[0] == pytest.approx(expected[0], abs=1e-3)


def test_a_real_apt_install_moves_the_bar_forward_and_logs_the_rest() -> None:
    ctx = StepContext(1, 0, SystemClock())
    sink = step_output(ctx, "h1")
    lines = APT.read_text().splitlines()
    for line in lines:
        sink("stdout", line)
    fractions = [f for f, _ in ctx.progress_seen]
    assert len(fractions) == sum(line.startswith(("dlstatus:", "pmstatus:")) for line in lines)
    assert fractions == sorted(fractions)
    assert fractions[-1] >= 0.9
    assert ctx.progress_seen[-1][1].startswith("h1: ")
    logged = [text for _, text in ctx.lines]
    assert "Setting up hello (2.10-3) ..." in logged
    assert not any("status:" in text for text in logged)
