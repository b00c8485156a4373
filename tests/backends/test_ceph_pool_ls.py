"""`ceph osd pool ls detail -f json`: its command line and its parser (a JSON list of pools)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.ceph import commands as c
from mvm_tui.backends.ceph.parse import CephParseError, parse_pool_ls_detail


def pool(pool_id: int, name: str, size: int, min_size: int, **more: Any) -> dict[str, Any]:
    """One pool as Ceph 16 prints it (pg_pool_t::dump plus pool_id and pool_name); abridged
    to the fields before the cache-tiering ones, with the application metadata."""
    return {"pool_id": pool_id, "pool_name": name, "create_time": "2026-11-23T20:32:55.210412+0000",
            "flags": 1, "flags_names": "hashpspool", "type": 1, "size": size,
            "min_size": min_size, "crush_rule": 0, "peering_crush_bucket_count": 0,
            "peering_crush_bucket_target": 0, "peering_crush_bucket_barrier": 0,
            "peering_crush_bucket_mandatory_member": 2147483647, "object_hash": 2,
            "pg_autoscale_mode": "on", "pg_num": 32, "pg_placement_num": 32,
            "pg_placement_num_target": 32, "pg_num_target": 32, "pg_num_pending": 32,
            "last_change": "21", "auid": 0, "snap_mode": "selfmanaged", "snap_seq": 0,
            "quota_max_bytes": 0, "quota_max_objects": 0, "tiers": [], "tier_of": -1,
            "erasure_code_profile": "", "fast_read": False, "options": {},
            "application_metadata": {"rbd": {}}} | more


def test_command() -> None:
    assert c.osd_pool_ls_detail() == [
        "ceph", "--connect-timeout", "10", "osd", "pool", "ls", "detail", "-f", "json"]
    assert c.osd_pool_ls_detail(connect_timeout=3)[2] == "3"
    with pytest.raises(ValueError, match="invalid connect timeout 0: must be a positive"):
        c.osd_pool_ls_detail(connect_timeout=0)


def test_parses_every_pool() -> None:
    text = json.dumps([pool(1, "device_health_metrics", 3, 2, pg_num=1,
                            application_metadata={"mgr_devicehealth": {}}),
                       pool(2, "vms", 2, 1, future_field={"x": 1})])
    health, vms = parse_pool_ls_detail(text)
    assert (health.name, health.size, health.min_size, health.pg_num) == (
        "device_health_metrics", 3, 2, 1)
    assert (vms.pool_id, vms.name, vms.size, vms.min_size, vms.crush_rule) == (2, "vms", 2, 1, 0)
    assert vms.application_metadata == {"rbd": {}}
    assert parse_pool_ls_detail("[]\n") == ()


@pytest.mark.parametrize(("text", "why"), [
    ("", "empty output"),
    ("{}", "expected a JSON list, got dict"),
    ("pool 1 'vms' replicated size 2 min_size 1", "output is not JSON"),
    (json.dumps([{"pool_name": "vms", "size": 2}]), r"\[0\]\.min_size: Field required"),
    (json.dumps([pool(1, "a", 2, 1), pool(2, "b", "two", 1)]), r"\[1\]\.size"),  # type: ignore[arg-type]
])
def test_rejects_what_is_not_its_output(text: str, why: str) -> None:
    with pytest.raises(CephParseError, match=why) as e:
        parse_pool_ls_detail(text)
    assert isinstance(e.value, BackendError)
    assert "`ceph osd pool ls detail`" in str(e.value)
