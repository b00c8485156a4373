"""IPMI power-off through ipmitool, with a stand-in ipmitool that logs its arguments and
environment and answers like a BMC."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.ipmi import Ipmi

BMC = """#!/bin/sh
echo "$* | password=$IPMI_PASSWORD" >> {log}
case "$*" in
  *"power off") {off};;
  *"power status") echo "Chassis Power is {status}";;
esac
"""


def tool(tmp_path: Path, off: str = "echo 'Chassis Power Control: Down/Off'",
         status: str = "off") -> tuple[Ipmi, Path]:
    log = tmp_path / "calls.log"
    script = tmp_path / "ipmitool"
    script.write_text(BMC.format(log=log, off=off, status=status))
    script.chmod(0o755)
    return Ipmi(str(script), {"h1": ("10.0.1.11", "ADMIN")}, timeout=2.0), log


async def test_power_off_then_confirm_with_the_password_only_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPMI_PASSWORD", "s3cret")
    ipmi, log = tool(tmp_path)
    await ipmi.power_off("h1")
    calls = log.read_text().splitlines()
    assert calls == [
        "-I lanplus -H 10.0.1.11 -U ADMIN -E chassis power off | password=s3cret",
        "-I lanplus -H 10.0.1.11 -U ADMIN -E chassis power status | password=s3cret"]
    assert all("s3cret" not in c for c in ipmi.power_off_commands("h1"))


async def test_no_password_no_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IPMI_PASSWORD", raising=False)
    ipmi, log = tool(tmp_path)
    with pytest.raises(BackendError, match="IPMI_PASSWORD is not set"):
        await ipmi.power_off("h1")
    assert not log.exists()


@pytest.mark.parametrize(("off", "status", "error"), [
    ("echo 'Unable to establish IPMI v2 session' >&2; exit 1", "on", "Unable to establish"),
    ("true", "on", "still says 'Chassis Power is on"),
    ("sleep 30", "off", "no answer within 2 s"),
])
async def test_a_bmc_that_fails_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, off: str, status: str, error: str
) -> None:
    monkeypatch.setenv("IPMI_PASSWORD", "x")
    ipmi, _ = tool(tmp_path, off, status)
    with pytest.raises(BackendError, match=error):
        await ipmi.power_off("h1")


def test_a_host_without_a_bmc() -> None:
    with pytest.raises(BackendError, match="no ipmi_address"):
        Ipmi("ipmitool", {}).power_off_commands("h9")
