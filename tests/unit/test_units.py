"""Counts read in good English ("1 VM", "2 VMs") and rates in binary units ("35.0 MiB/s"),
written by units.count and units.rate everywhere."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from mvm_tui.core.cpu_models import check_cpu_model
from mvm_tui.core.preflight import check_virtualisation
from mvm_tui.models import MigrationProgress
from mvm_tui.services.maintenance import progress_line
from mvm_tui.services.placement import progress_text
from mvm_tui.units import count, is_are, rate, size_bytes

PACKAGE = Path(__file__).resolve().parents[2] / "mvm_tui"
# the simulator's Ceph answers as Ceph writes them ("1 osds down"); the lab is not mvm-tui's UI
AS_CEPH_WRITES = ("backends/sim/ceph.py", "backends/sim/ceph_cli.py", "backends/sim/ceph_json.py")
NOUNS = re.compile(r"^ (VMs|hosts|PGs|OSDs|vCPUs|CPUs|monitors|models|steps|replicas|clusters)\b")


def test_count_is_singular_for_one_only() -> None:
    assert [count(n, "VM") for n in (0, 1, 2)] == ["0 VMs", "1 VM", "2 VMs"]
    assert count(1.0, "vCPU") == "1 vCPU"
    assert count(2.5, "vCPU") == "2.5 vCPUs"
    assert count(2, "mouse", "mice") == "2 mice"
    assert [is_are(n) for n in (0, 1, 2)] == ["are", "is", "are"]


def test_checks_count_in_good_english() -> None:
    assert check_virtualisation("1\nkvm").detail == "VT-x / AMD-V on 1 CPU"
    assert check_cpu_model("qemu64", ["qemu64"]).detail == "qemu64 is usable here (1 model is)"


def counts_by_hand(path: Path, root: Path = PACKAGE) -> list[str]:
    """f-strings that put a number right before a plural noun ("{n} VMs"), which reads
    "1 VMs" for one; "of {n} VMs" and "{a}/{b} steps" are left alone."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.JoinedStr):
            continue
        parts = node.values
        for i in range(1, len(parts)):
            before, value, after = (parts[i - 2] if i > 1 else None), parts[i - 1], parts[i]
            if not (isinstance(value, ast.FormattedValue) and isinstance(after, ast.Constant)
                    and NOUNS.match(str(after.value))):
                continue
            lead = str(before.value) if isinstance(before, ast.Constant) else ""
            if not lead.endswith(("of ", "/")):
                found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    return found


def sources() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py"))
            if p.relative_to(PACKAGE).parts[0] != "lab"
            and str(p.relative_to(PACKAGE)) not in AS_CEPH_WRITES]


def test_no_count_is_written_by_hand() -> None:
    found = [line for path in sources() for line in counts_by_hand(path)]
    assert not found, "use units.count():\n" + "\n".join(found)


@pytest.mark.parametrize(("source", "flagged"), [
    ('f"Move {len(moves)} VMs off {host}"', True),
    ('f"{n} hosts with an OSD"', True),
    ('f"{a} of {b} monitors are in quorum"', False),
    ('f"{done}/{len(steps)} steps done"', False),
    ('f"Move {count(n, \'VM\')} off"', False),
])
def test_the_check_sees_a_count_by_hand(tmp_path: Path, source: str, flagged: bool) -> None:
    path = tmp_path / "sample.py"
    path.write_text(f"x = {source}\n")
    assert bool(counts_by_hand(path, tmp_path)) is flagged


RATE_UNIT = re.compile(r"\b([kKMGT]i?)?B/s\b")


def test_sizes_and_rates_are_binary() -> None:
    assert [size_bytes(n) for n in (512, 1536, 35 * 2**20, 3 * 2**30)] == [
        "512 B", "1.5 KiB", "35.0 MiB", "3.0 GiB"]
    assert rate(35 * 2**20) == "35.0 MiB/s"


def test_both_migration_logs_write_the_dirty_rate_alike() -> None:
    """Maintenance's and placement's logs of a live migration: one unit, one format."""
    p = MigrationProgress(vm="web-01", source="hv1", dest="hv2", elapsed_s=3.0,
                          memory_total_bytes=4 * 2**30, memory_processed_bytes=2**30,
                          memory_remaining_bytes=3 * 2**30, dirty_rate_bps=35 * 2**20)
    assert progress_line(p).endswith(", dirty 35.0 MiB/s")
    assert progress_text(p).endswith(", dirty 35.0 MiB/s")


def rates_by_hand(path: Path, root: Path = PACKAGE) -> list[str]:
    """f-strings that write a byte rate's unit themselves ("{x / 1e6:.0f} MB/s")."""
    return [f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}"
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
            if isinstance(node, ast.JoinedStr) and any(
                isinstance(v, ast.Constant) and RATE_UNIT.search(str(v.value))
                for v in node.values)]


def test_no_rate_is_written_by_hand() -> None:
    found = [line for path in sources() if path.name != "units.py"
             for line in rates_by_hand(path)]
    assert not found, "use units.rate():\n" + "\n".join(found)


def test_the_check_sees_a_rate_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "sample.py"
    path.write_text('a = f"dirty {p.dirty_rate_bps / 1e6:.0f} MB/s"\n'
                    'b = f"dirtying {x / 2**20:.1f} MiB/s)"\nc = f"dirty {rate(x)}"\n'
                    'd = "Network MiB/s"\n')
    assert [line.split(":")[1] for line in rates_by_hand(path, tmp_path)] == ["1", "2"]
