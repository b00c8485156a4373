"""`mvm-tui plans` on the demo: each plan's hosts as where_it_fits decides them, a custom size,
and bad input refused with a message and exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

from mvm_tui.clock import VirtualClock
from mvm_tui.config import demo_config
from mvm_tui.core.plans import Size
from mvm_tui.plans_cli import plans_document, plans_text
from mvm_tui.session import measure, open_session
from tests.unit.test_cli import run_cli


def test_every_plan_on_the_demo_as_json() -> None:
    result = run_cli("plans", "--demo", "--json")
    assert result.returncode == 0, result.stderr
    (cluster,) = json.loads(result.stdout)["clusters"]
    assert cluster["name"] == "demo"
    assert [p["name"] for p in cluster["plans"]] == ["small", "medium", "large", "xlarge"]
    small, *_, xlarge = cluster["plans"]
    assert (small["vcpus"], small["memory_mb"], small["disk_gb"]) == (1, 2048, 20)
    assert [h["host"] for h in small["hosts"]] == ["hv1", "hv2", "hv3"]
    assert all(h["fits"] and h["breaks_reserve"] == [] for h in small["hosts"])
    # 16 GB fits on no demo host: each says how much it has
    assert not any(h["fits"] for h in xlarge["hosts"])
    assert all("MB and" in h["room"] for h in xlarge["hosts"])


def test_a_custom_size_in_text() -> None:
    result = run_cli("plans", "--demo", "--size", "1:1024")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "cluster demo:",
        "  custom (1 vCPU, 1024 MB): fits on hv1, hv2, hv3 with the reserve kept"]


def test_bad_input_is_refused_with_a_message() -> None:
    bad_size = run_cli("plans", "--demo", "--size", "4:lots")
    assert bad_size.returncode == 2
    assert "'4:lots' is not a size: VCPUS:MEMORY_MB" in bad_size.stderr
    assert "Traceback" not in bad_size.stderr
    no_cluster = run_cli("plans", "--demo", "--cluster", "nope")
    assert no_cluster.returncode == 2
    assert "no cluster named 'nope'" in no_cluster.stderr


async def test_a_host_that_cannot_take_vms_is_said_not_counted(tmp_path: Path) -> None:
    session = open_session(demo_config(), demo=True, clock=VirtualClock(),
                           db_path=tmp_path / "runs.db")
    cluster = session.clusters[0]
    await cluster.backend.set_maintenance("hv2", True)
    try:
        await measure(cluster, 0)
        document = plans_document([cluster], session.config.plans, Size(1, 1024))
    finally:
        await session.close()
    (c,) = document["clusters"]
    assert list(c["not_counted"]) == ["hv2"]
    assert [h["host"] for h in c["plans"][0]["hosts"]] == ["hv1", "hv3"]
    assert "  hv2 is not counted (it cannot take VMs now): maintenance" in plans_text(document)
