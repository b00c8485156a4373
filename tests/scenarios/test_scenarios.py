"""The failover scenario suite (in the spirit of Proxmox's HA regression tests): each
directory here is a cluster, a timed list of events and the expected decision log, run on the
simulator with the virtual clock. See runner.py for the format."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scenarios.runner import run_scenario

HERE = Path(__file__).parent
SCENARIOS = sorted(p for p in HERE.iterdir() if (p / "cluster.toml").is_file())


def test_there_are_enough_scenarios() -> None:
    assert len(SCENARIOS) >= 42


@pytest.mark.parametrize("directory", SCENARIOS, ids=lambda p: p.name)
async def test_scenario(directory: Path, tmp_path: Path) -> None:
    outcome = await run_scenario(directory, tmp_path / "runs.sqlite3")
    # checked at every step of the clock: no VM on two hosts, no host overcommitted, no
    # pinned VM moved, no VM started while a copy may run on an unfenced lost host
    assert outcome.violations == [], "\n".join(outcome.violations + outcome.notes)
    expected = (directory / "expected.log").read_text().splitlines()
    assert outcome.log == [line for line in expected if line.strip()], "\n".join(outcome.notes)
    final = directory / "final.txt"
    if final.is_file():
        assert outcome.final == [line for line in final.read_text().splitlines() if line.strip()]
    copies = directory / "copies.txt"
    if copies.is_file():
        assert outcome.copies == [line for line in copies.read_text().splitlines()
                                  if line.strip()]
    journal = directory / "journal.txt"
    if journal.is_file():
        assert outcome.journal == [line for line in journal.read_text().splitlines()
                                   if line.strip()]
    # every VM is defined on exactly one host (the simulator holds one copy of each); in
    # History, every restart of a lost host's VM comes after that host's fence was done
    fenced: set[str] = set()
    for kind, params, state in outcome.runs:
        if kind == "ha.fence" and state == "done":
            fenced.add(params["host"])
        elif kind == "ha.unfence":
            fenced.discard(params["host"])
        elif kind == "ha.restart" and params["host"] != params["target"]:
            assert params["host"] in fenced, f"{params['vm']} restarted before the fence"
