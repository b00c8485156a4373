"""Host keys against the real lab's sshd: unknown keys refused headless unless accepted, a
changed key always refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import asyncssh
import pytest
import tomli_w

from mvm_tui import lab

pytestmark = pytest.mark.lab


def config_with(lab_info: lab.LabInfo, known_hosts: Path, tmp_path: Path) -> Path:
    data = tomllib.loads(lab_info.config_path.read_text())
    data["clusters"][0]["known_hosts"] = str(known_hosts)
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(data))
    return path


def inventory(config: Path, tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mvm_tui.cli", "--config", str(config), "inventory", "--json",
         *flags],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path)},
    )


def keys(path: Path) -> set[str]:
    return {" ".join(line.split()[1:3]) for line in path.read_text().splitlines() if line}


def test_unknown_keys_are_refused_then_accepted_on_request(
    lab_info: lab.LabInfo, tmp_path: Path
) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    config = config_with(lab_info, known_hosts, tmp_path)

    refused = inventory(config, tmp_path)
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.count("unknown host key SHA256:") == 3
    assert "--accept-new-host-keys" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert known_hosts.read_text() == ""
    hosts = json.loads(refused.stdout)["clusters"][0]["hosts"]
    assert {h["state"] for h in hosts} == {"unreachable"}

    accepted = inventory(config, tmp_path, "--accept-new-host-keys")
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stderr.count("accepted new host key SHA256:") == 3
    assert keys(known_hosts) == keys(lab_info.known_hosts)  # exactly the hosts' real keys
    hosts = json.loads(accepted.stdout)["clusters"][0]["hosts"]
    assert {h["state"] for h in hosts} == {"online"}


def test_a_changed_key_is_refused_even_when_new_keys_are_accepted(
    lab_info: lab.LabInfo, tmp_path: Path
) -> None:
    real = lab_info.known_hosts.read_text().splitlines()
    h1 = lab_info.host("h1")
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    forged = [f"{h1.address} {other}"] + [line for line in real if h1.address not in line]
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("\n".join(forged) + "\n")
    result = inventory(config_with(lab_info, known_hosts, tmp_path), tmp_path,
                       "--accept-new-host-keys")
    hosts = {h["name"]: h for h in json.loads(result.stdout)["clusters"][0]["hosts"]}
    assert "HOST KEY CHANGED" in hosts["h1"]["error"]
    assert hosts["h1"]["state"] == "unreachable"
    assert hosts["h2"]["state"] == hosts["h3"]["state"] == "online"
    assert known_hosts.read_text() == "\n".join(forged) + "\n"  # nothing was rewritten
