"""IPMI power-off through ipmitool, with a stand-in ipmitool that logs its arguments and
environment and answers like a BMC."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.ipmi import Ipmi, ipmi_password
from mvm_tui.ha_cli import run_ha

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
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with pytest.raises(BackendError, match=r"no BMC password.*LoadCredential.*IPMI_PASSWORD"):
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


async def test_the_systemd_credential_is_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LoadCredential=ipmi-password:...: systemd puts it in $CREDENTIALS_DIRECTORY; it wins
    over IPMI_PASSWORD, reaches ipmitool's environment only, and mvm-tui's stays as it was."""
    credentials = tmp_path / "credentials"
    credentials.mkdir(mode=0o700)
    (credentials / "ipmi-password").write_text("from systemd \n")  # echo's newline
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    monkeypatch.setenv("IPMI_PASSWORD", "from the environment")
    ipmi, log = tool(tmp_path)
    await ipmi.power_off("h1")
    assert log.read_text().splitlines() == [
        "-I lanplus -H 10.0.1.11 -U ADMIN -E chassis power off | password=from systemd ",
        "-I lanplus -H 10.0.1.11 -U ADMIN -E chassis power status | password=from systemd "]
    assert os.environ["IPMI_PASSWORD"] == "from the environment"


async def test_the_credential_without_ipmi_password_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "ipmi-password").write_text("only here")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    monkeypatch.delenv("IPMI_PASSWORD", raising=False)
    ipmi, log = tool(tmp_path)
    await ipmi.power_off("h1")
    assert all(line.endswith("| password=only here") for line in log.read_text().splitlines())
    assert "IPMI_PASSWORD" not in os.environ


def test_where_the_password_comes_from(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    # a credentials directory without this credential (another unit's): the environment
    assert ipmi_password({"CREDENTIALS_DIRECTORY": str(creds), "IPMI_PASSWORD": "e"}) == "e"
    assert ipmi_password({"CREDENTIALS_DIRECTORY": str(creds)}) is None
    assert ipmi_password({}) is None
    assert ipmi_password({"IPMI_PASSWORD": ""}) is None
    (creds / "ipmi-password").write_text("\n")  # empty: as if not given
    assert ipmi_password({"CREDENTIALS_DIRECTORY": str(creds), "IPMI_PASSWORD": "e"}) == "e"
    (creds / "ipmi-password").write_text("p w\r\n")
    assert ipmi_password({"CREDENTIALS_DIRECTORY": str(creds)}) == "p w"
    (creds / "ipmi-password").unlink()
    (creds / "ipmi-password").mkdir()  # cannot be read: said, not skipped
    with pytest.raises(BackendError, match=r"cannot read the credential .*ipmi-password"):
        ipmi_password({"CREDENTIALS_DIRECTORY": str(creds), "IPMI_PASSWORD": "e"})


CONFIG = """
[[clusters]]
name = "c1"
layout = "external"
[clusters.ha]
ipmi = true
[[clusters.hosts]]
name = "n1"
address = "127.0.0.1"
port = 1
ipmi_address = "10.0.1.11"
"""


@pytest.mark.parametrize(("credential", "said"), [
    (None, "warning: no BMC password"), ("s3cret\n", None)])
async def test_the_ha_service_says_at_start_when_it_has_no_bmc_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    credential: str | None, said: str | None,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    monkeypatch.delenv("IPMI_PASSWORD", raising=False)
    creds = tmp_path / "creds"
    creds.mkdir()
    if credential is not None:
        (creds / "ipmi-password").write_text(credential)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    stop = asyncio.Event()
    stop.set()  # started, then stopped at once
    assert await run_ha(config, stop=stop, db_path=tmp_path / "runs.sqlite3",
                        lock_dir=tmp_path / "ha") == 0
    err = capsys.readouterr().err
    if said is None:
        assert "BMC password" not in err
    else:
        assert f"c1: {said}" in err
        assert "LoadCredential" in err
    assert "s3cret" not in err
