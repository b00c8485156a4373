"""The command line: help, headless inventory, and operator messages for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mvm_tui.cli import main


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mvm_tui.cli", *args],
        capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})},
    )


def test_help_explains_options_and_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for word in ("--demo", "--config", "inventory", "mvm-tui config example"):
        assert word in out


def test_inventory_json_on_the_demo() -> None:
    result = run_cli("inventory", "--json", "--demo")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    (cluster,) = doc["clusters"]
    assert [h["name"] for h in cluster["hosts"]] == ["hv1", "hv2", "hv3"]
    assert all(h["state"] == "online" for h in cluster["hosts"])
    on_hv1 = {v["name"]: v["placement"] for v in cluster["vms"] if v["host"] == "hv1"}
    assert sorted(on_hv1.values()) == ["auto", "failover", "pinned"]
    assert all({"power", "vcpus", "memory_mb", "host"} <= set(v) for v in cluster["vms"])
    assert cluster["ceph"]["health"] == "HEALTH_OK"


def test_inventory_rates_are_measured_or_null_never_a_made_up_zero() -> None:
    measured = json.loads(run_cli("inventory", "--json", "--demo", "--sample", "0.2").stdout)
    (cluster,) = measured["clusters"]
    assert cluster["rates_over_s"] == 0.2
    running = [v for v in cluster["vms"] if v["power"] == "running"]
    assert running
    assert any(v["cpu_pct"] > 0 for v in running)
    assert all(h["metrics"]["cpu_pct"] > 0 for h in cluster["hosts"])
    assert all(h["facts"]["storage_gb"] > 0 for h in cluster["hosts"])
    once = json.loads(run_cli("inventory", "--json", "--demo", "--sample", "0").stdout)
    (cluster,) = once["clusters"]
    assert cluster["rates_over_s"] is None
    assert all(v["cpu_pct"] is None and v["net_rx_bps"] is None for v in cluster["vms"])
    assert all(h["metrics"]["cpu_pct"] is None for h in cluster["hosts"])
    assert all(v["mem_source"] == "guest" for v in cluster["vms"])
    bad = run_cli("inventory", "--json", "--demo", "--sample", "soon")
    assert bad.returncode == 2
    assert "'soon' is not a number of seconds" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_bad_config_names_file_and_key_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text(
        '[[clusters]]\nname = "prod"\nlayout = "external"\ncompute_vlans = "25-22"\n'
        '[[clusters.hosts]]\nname = "h1"\nadress = "10.0.0.1"\n'
    )
    result = run_cli("--config", str(bad), "inventory", "--json")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert str(bad) in result.stderr
    assert "adress" in result.stderr
    assert "address" in result.stderr
    assert "compute_vlans" in result.stderr
    assert result.stdout == ""


def test_no_config_file_says_where_it_looked(tmp_path: Path) -> None:
    result = run_cli("inventory", "--json", env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert result.returncode == 2
    assert str(tmp_path / "mvm-tui" / "config.toml") in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("home", ["home", "ops team", "jürgen"])
def test_hosts_that_cannot_be_reached_are_reported_per_host(tmp_path: Path, home: str) -> None:
    # HOME elsewhere: the example's key files do not exist, so nothing leaves this machine;
    # a HOME with a space or a non-ASCII letter is no different (its paths are quoted in the
    # libvirt URIs)
    tmp_path = tmp_path / home
    tmp_path.mkdir()
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    result = run_cli("--config", str(example), "inventory", "--json",
                     env={"HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    doc = json.loads(result.stdout)
    assert [c["name"] for c in doc["clusters"]] == ["prod", "branch"]
    errors = {h["name"]: h["error"] for c in doc["clusters"] for h in c["hosts"]}
    assert errors["hv1"] == (
        f"hv1 (10.10.0.11:22): key file {tmp_path}/.ssh/id_ed25519 does not exist"
    )
    assert errors["branch-hv1"].endswith("a login password is needed and there is no "
                                         "terminal to ask it on")
    assert all(h["state"] == "unreachable" for c in doc["clusters"] for h in c["hosts"])


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mvm_tui.cli", "inventory", "--json", "--demo"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path)},
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    assert proc.stdout.read(1) == b"{"
    proc.stdout.close()  # like `| head -c 1`
    assert proc.wait(timeout=60) == 0
    assert proc.stderr.read() == b""


def test_ha_service_runs_headless_until_stopped(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mvm_tui.cli", "ha", "--demo"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "XDG_STATE_HOME": str(tmp_path)},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "mvm-tui ha: demo: HA service active"
    second = run_cli("ha", "--demo", env={"XDG_STATE_HOME": str(tmp_path)})
    assert second.returncode == 75  # one HA service per cluster: the lock is held
    proc.terminate()
    assert proc.wait(timeout=30) == 0


# A library warning raised while mvm-tui runs, as asyncssh's DSA deprecation is on import.
WARN_FROM_A_LIBRARY = (
    "import warnings, mvm_tui; "
    "warnings.warn_explicit('DSA is deprecated', DeprecationWarning, 'misc.py', 32, "
    "module='asyncssh.crypto.misc')"
)


def test_no_library_warning_reaches_the_operator() -> None:
    quiet = subprocess.run([sys.executable, "-c", WARN_FROM_A_LIBRARY],
                           capture_output=True, text=True, timeout=60)
    assert quiet.returncode == 0
    assert quiet.stderr == ""
    help_ = run_cli("--help")
    assert help_.returncode == 0
    assert help_.stderr == ""


def test_a_developer_sees_warnings_when_asking_for_them() -> None:
    shown = subprocess.run([sys.executable, "-W", "default", "-c", WARN_FROM_A_LIBRARY],
                           capture_output=True, text=True, timeout=60)
    assert "DSA is deprecated" in shown.stderr
