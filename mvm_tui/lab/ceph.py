"""The lab's Ceph cluster as seen from inside a host: health, status, waiting until settled."""

from __future__ import annotations

import json
from typing import Any

from mvm_tui.lab import netns as net
from mvm_tui.lab.model import LabError, LabInfo, run, wait_for

__all__ = ["ceph_health", "ceph_settled", "ceph_status", "wait_health_ok"]


def ceph_health(index: int = 1, detail: bool = False) -> str:
    """`ceph health` as seen from host hN ('' if it does not answer within 15 s)."""
    cmd = ["timeout", "15", "ceph", "health", *(["detail"] if detail else []),
           "--connect-timeout", "10"]
    return run(net.hx(index, *cmd), timeout=20, check=False).stdout.strip()


def ceph_status(index: int = 1) -> dict[str, Any]:
    """`ceph -s -f json` from host hN ({} if it does not answer within 15 s)."""
    cmd = ["timeout", "15", "ceph", "-s", "-f", "json", "--connect-timeout", "10"]
    try:
        data = json.loads(run(net.hx(index, *cmd), timeout=20, check=False).stdout)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def ceph_settled(status: dict[str, Any], hosts: int) -> bool:
    """HEALTH_OK, every mon in the quorum, every OSD up and in, every PG active+clean."""
    if not status or status["health"]["status"] != "HEALTH_OK":
        return False
    osds, pgs = status["osdmap"], status["pgmap"]
    clean = sum(s["count"] for s in pgs.get("pgs_by_state", [])
                if s["state_name"] == "active+clean")
    return bool(len(status["quorum_names"]) == status["monmap"]["num_mons"] == hosts
                and osds["num_osds"] == osds["num_up_osds"] == osds["num_in_osds"] == hosts
                and clean == pgs["num_pgs"] > 0)


def wait_health_ok(info: LabInfo, timeout: float = 240) -> None:
    """Wait until ceph_settled() (the health summary alone lags the PG states)."""
    h = next(h for h in info.hosts if net.anchor_alive(h.index))
    n = len(info.hosts)
    try:
        wait_for(lambda: ceph_settled(ceph_status(h.index), n), timeout,
                 "ceph HEALTH_OK with every OSD up and every PG active+clean", 0.5)
    except LabError as e:
        raise LabError(f"{e}; last health:\n{ceph_health(h.index, detail=True)}") from None


# What a Ceph cluster provisioned by mvm-tui on lab hosts needs in its ceph.conf (lab-only: the
# daemons run without systemd under the lab's systemctl, which finds them by their pid files,
# and small memory and quick failure detection suit a 2-core machine)
PROVISION_EXTRA_CONF = (
    "public_network = 10.213.0.0/24",
    "mon_allow_pool_delete = true",
    "mon_data_avail_warn = 2",
    "mon_data_avail_crit = 1",
    "mon_election_timeout = 2",
    "mgr_stats_period = 1",
    "mon_max_pg_per_osd = 500",
    "osd_memory_target = 939524096",
    "bluestore_cache_autotune = false",
    "bluestore_cache_size = 134217728",
    "osd_op_num_shards = 1",
    "osd_op_num_threads_per_shard = 1",
    "ms_async_op_threads = 1",
    "osd_heartbeat_interval = 2",
    "osd_heartbeat_grace = 8",
    "mon_warn_on_slow_ping_time = 60000",
    "log_file = /var/log/ceph/$cluster-$name.log",
    "pid_file = /run/ceph/$cluster-$name.pid",
    "admin_socket = /run/ceph/$cluster-$name.asok",
    "[mon]",
    "mon_warn_on_insecure_global_id_reclaim_allowed = false",
)
