"""provision/migration.sh run by bash, as provisioning sends it (after common.sh), on files of a
temporary directory (its paths moved there through the environment): the key is made once and
stays; the peers' lines are installed next to the file's other lines, replace the ones of an
earlier run, and a second run changes nothing; --check says what is missing and changes
nothing; a line that is not a plain key is refused and nothing is written. The real run, on
every lab host, is tests/lab/test_lab_migration_trust.py."""

from __future__ import annotations

import getpass
import os
import subprocess
from pathlib import Path

import pytest

from mvm_tui.services.provision import script_text

SCRIPT = script_text("migration.sh")
ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJtS/6gXGBLi7u02+G/sZvsjM9y2UENAytBvF3AZPk7y"
AUTH = f'auth:from="10.0.0.2",restrict {ED} mvm-tui-migration@hv2'
KNOWN = f"known:10.0.0.2 {ED} mvm-tui-migration"
OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperatorsOwnKey operator@jumpbox"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "MVM_MIGRATION_DIR": str(tmp_path / "migration"),
            "MVM_KNOWN_HOSTS_FILE": str(tmp_path / "ssh_known_hosts"),
            "MVM_AUTHORIZED_KEYS": str(tmp_path / "authorized_keys")}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-s", "--", *args], input=SCRIPT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_the_key_is_made_on_the_host_once(env: dict[str, str], tmp_path: Path) -> None:
    assert run(env, "--check", "key").returncode == 1
    first = run(env, "key")
    assert first.returncode == 0, first.stderr
    key = tmp_path / "migration" / "id_ed25519"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert oct(key.parent.stat().st_mode & 0o777) == "0o700"
    public = next(line for line in first.stdout.splitlines()
                  if line.startswith("mvm-migration: key "))
    assert public.split()[2:4] == (key.with_suffix(".pub").read_text().split()[:2])
    assert first.stdout.splitlines()[-1] == "mvm-provision: changed"
    made = key.read_bytes()
    again = run(env, "key")
    assert again.stdout.splitlines()[-1] == "mvm-provision: unchanged"
    assert key.read_bytes() == made
    assert public in again.stdout
    assert run(env, "--check", "key").returncode == 0


def test_the_peers_lines_are_installed_next_to_the_others(env: dict[str, str],
                                                          tmp_path: Path) -> None:
    ak, kh = tmp_path / "authorized_keys", tmp_path / "ssh_known_hosts"
    stale = f'from="10.0.0.9",restrict {ED} mvm-tui-migration@gone'
    ak.write_text(f"{OTHER_KEY}\n{stale}\n")
    kh.write_text(f"jumpbox {ED}\n10.0.0.9 {ED} mvm-tui-migration\n")
    user = getpass.getuser()
    check = run(env, "--check", "trust", user, AUTH, KNOWN)
    assert check.returncode == 1
    assert "lacks the peers' current entries" in check.stdout
    assert ak.read_text() == f"{OTHER_KEY}\n{stale}\n"  # --check wrote nothing
    first = run(env, "trust", user, AUTH, KNOWN)
    assert first.returncode == 0, first.stdout + first.stderr
    assert ak.read_text() == f"{OTHER_KEY}\n{AUTH.removeprefix('auth:')}\n"
    assert kh.read_text() == f"jumpbox {ED}\n{KNOWN.removeprefix('known:')}\n"
    assert oct(ak.stat().st_mode & 0o777) == "0o600"
    assert oct(kh.stat().st_mode & 0o777) == "0o644"
    assert first.stdout.splitlines()[-1] == "mvm-provision: changed"
    again = run(env, "trust", user, AUTH, KNOWN)
    assert again.stdout.splitlines()[-1] == "mvm-provision: unchanged"
    assert run(env, "--check", "trust", user, AUTH, KNOWN).returncode == 0


@pytest.mark.parametrize("line", [
    f'auth:command="reboot",from="10.0.0.2",restrict {ED} mvm-tui-migration@hv2',
    f'auth:from="10.0.0.2",restrict {ED} operator@jumpbox',
    f"known:* {ED} mvm-tui-migration",
    f"known:10.0.0.2 {ED} mvm-tui-migration\nevil {ED}",
    "anything",
])
def test_a_line_that_is_not_a_plain_peer_key_is_refused(env: dict[str, str], tmp_path: Path,
                                                         line: str) -> None:
    result = run(env, "trust", getpass.getuser(), line)
    assert result.returncode == 2
    assert "refused" in result.stdout or "unknown trust line" in result.stdout
    assert not (tmp_path / "authorized_keys").exists()
    assert not (tmp_path / "ssh_known_hosts").exists()


def test_reach_without_a_key_says_so(env: dict[str, str]) -> None:
    result = run(env, "reach", "h2=qemu+ssh://root@10.0.0.2/system")
    assert result.returncode == 1
    assert "mvm-migration: nokey " in result.stdout
