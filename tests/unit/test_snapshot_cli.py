"""`mvm-tui vm snapshots|snapshot|revert|snapshot-delete` on the demo (issue 19). Expected
before running: the list shows db-01's two demo snapshots (and --json their fields); a
snapshot of the shut-off ci-runner-01 prints its commands, runs and is recorded; one of the
running web-01 with --dry-run shows the freeze script and changes nothing; a revert of a
running VM is refused saying to shut it down, one without --confirm is refused after its plan;
a delete runs; a missing snapshot is refused naming it."""

from __future__ import annotations

import json

import pytest

from mvm_tui.cli import main


def test_the_list_and_its_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vm", "snapshots", "--demo", "db-01"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["before-pg16", "weekly"]
    assert lines[0].endswith("160.0 GiB  filesystems frozen by the guest agent")
    assert main(["vm", "snapshots", "--demo", "ci-runner-01", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    (snap,) = shown["snapshots"]
    assert (shown["vm"], snap["name"], snap["consistency"], snap["disks"], snap["complete"]) \
        == ("ci-runner-01", "clean-install", "stopped", ["ci-runner-01"], True)
    assert main(["vm", "snapshots", "--demo", "web-01"]) == 0
    assert "web-01 has no snapshot" in capsys.readouterr().out


def test_a_snapshot_runs_and_a_dry_run_changes_nothing(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vm", "snapshot", "--demo", "ci-runner-01", "s1"]) == 0
    out = capsys.readouterr().out
    assert "Snapshot ci-runner-01 as s1 in cluster demo, on hv3: shut off" in out
    assert "$ hv3: rbd snap create vms/ci-runner-01@s1" in out
    assert "snapshot s1 of ci-runner-01: VM shut off" in out
    assert out.rstrip().endswith("run #1: done")
    assert main(["vm", "snapshot", "--demo", "web-01", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "domfsfreeze" in out
    assert "rbd snap create vms/web-01@snap-" in out
    assert "run #" not in out


def test_a_revert_is_refused_while_running_and_without_confirm(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vm", "revert", "--demo", "db-01", "weekly", "--confirm", "db-01"]) == 2
    captured = capsys.readouterr()
    assert "db-01 is running: shut it down" in captured.err
    assert "steps:" not in captured.out
    assert main(["vm", "revert", "--demo", "ci-runner-01", "clean-install"]) == 2
    captured = capsys.readouterr()
    assert "hv3: rbd snap rollback --no-progress vms/ci-runner-01@clean-install" in captured.out
    assert "--confirm ci-runner-01" in captured.err
    assert "run #" not in captured.out
    assert main(["vm", "revert", "--demo", "ci-runner-01", "clean-install", "--confirm",
                 "ci-runner-01"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("run #1: done")


def test_a_delete_runs_and_a_missing_snapshot_is_refused(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vm", "snapshot-delete", "--demo", "db-01", "weekly"]) == 0
    out = capsys.readouterr().out
    assert "$ hv1: rbd snap rm --no-progress vms/db-01-disk1@weekly" in out
    assert out.rstrip().endswith("run #1: done")
    assert main(["vm", "snapshot-delete", "--demo", "db-01", "nightly"]) == 2
    assert "db-01 has no snapshot named nightly" in capsys.readouterr().err


def test_a_group_snapshot_runs_and_one_vm_alone_is_refused(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vm", "group-snapshot", "--demo", "g1", "db-01", "web-01"]) == 0
    out = capsys.readouterr().out
    assert "Snapshot db-01, web-01 as g1 at one instant, in cluster demo" in out
    assert "rbd snap create vms/db-01-disk1@g1" in out
    assert "db-01: filesystems frozen by the guest agent" in out
    assert out.rstrip().endswith("run #1: done")
    assert main(["vm", "group-snapshot", "--demo", "g2", "db-01"]) == 2
    assert "two VMs or more" in capsys.readouterr().err


def test_a_running_vm_is_cloned_as_its_snapshot_was(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vm", "clone", "--demo", "db-01", "db-copy", "--snapshot", "weekly"]) == 0
    out = capsys.readouterr().out
    assert "Clone db-01 as it was at weekly as db-copy in cluster demo" in out
    assert "rbd deep cp --no-progress vms/db-01-disk1@weekly vms/vm.db-copy.disk1" in out
    assert out.rstrip().endswith("run #1: done")
    assert main(["vm", "clone", "--demo", "db-01", "db-copy2"]) == 2  # (it runs)
    assert "shut it down first" in capsys.readouterr().err
