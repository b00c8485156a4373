"""`mvm-tui vm show|set|disk-add|disk-grow|disk-remove|nic-add|nic-remove` on the demo: the
plan first (what is live, what waits for a restart, every command), then the run; a value the
cluster cannot take is refused with the reason and nothing changes."""

from __future__ import annotations

import json

import pytest

from mvm_tui.cli import main


def test_show_says_what_can_change_live(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vm", "show", "--demo", "web-01", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["host"], shown["vcpus"], shown["max_vcpus"]) == ("hv1", 1, 4)
    assert (shown["memory_mb"], shown["max_memory_mb"], shown["free_slots"]) == (2048, 8192, 16)
    assert shown["pending"] == ""


def test_a_resize_dry_run_says_what_is_live_and_changes_nothing(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vm", "set", "--demo", "web-01", "--vcpus", "6", "--memory", "2304",
                 "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "vCPUs: 1 -> 6, at its next boot (more than its maximum, 4)" in out
    assert "memory: 2048 -> 2304 MiB, live (a 256 MiB module)" in out
    assert "attach-device web-01 /dev/stdin --live --config" in out
    assert "run #" not in out


@pytest.mark.parametrize(("argv", "said"), [
    (["vm", "nic-add", "web-01", "99"], "VLAN 99 is not one of the cluster's compute VLANs"),
    (["vm", "disk-remove", "web-01", "vda"], "vda is the root disk of web-01"),
    (["vm", "set", "web-01", "--memory", "40000"], "web-01 is not grown: hv1 has"),
    (["vm", "disk-grow", "web-01", "vdz", "10"], "no disk 'vdz'"),
])
def test_what_the_cluster_cannot_take_is_refused(capsys: pytest.CaptureFixture[str],
                                                 argv: list[str], said: str) -> None:
    assert main([*argv[:2], "--demo", *argv[2:]]) == 2
    captured = capsys.readouterr()
    assert said in captured.err
    assert "run #" not in captured.out


def test_a_disk_add_runs_and_is_recorded(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vm", "disk-add", "--demo", "web-01", "5"]) == 0
    out = capsys.readouterr().out
    assert "Attach vm.web-01.disk1 to web-01 as vdb" in out
    assert out.rstrip().endswith("run #1: done")
