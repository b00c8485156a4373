"""Ceph for the real backend: the exact commands (`commands`), their JSON output parsed into
typed models (`parse`, `models`, `crush`), and the decisions taken from them (`checks`)."""

from mvm_tui.backends.ceph import commands
from mvm_tui.backends.ceph.checks import (
    mon_removed,
    pg_state_settled,
    rebalance_settled,
    safe_to_remove,
)
from mvm_tui.backends.ceph.crush import CrushNode, OsdDfNode, OsdDfTree, OsdTree, OsdTreeNode
from mvm_tui.backends.ceph.models import (
    HealthReport,
    MonMap,
    OkToStop,
    PgStat,
    PoolDetail,
    QuorumStatus,
    SafeToDestroy,
    StatusReport,
)
from mvm_tui.backends.ceph.parse import (
    CephParseError,
    parse_health_detail,
    parse_mon_dump,
    parse_ok_to_stop,
    parse_osd_df_tree,
    parse_osd_tree,
    parse_pg_stat,
    parse_pool_ls_detail,
    parse_quorum_status,
    parse_safe_to_destroy,
    parse_status,
    parse_status_report,
    to_ceph_status,
)

__all__ = [
    "CephParseError",
    "CrushNode",
    "HealthReport",
    "MonMap",
    "OkToStop",
    "OsdDfNode",
    "OsdDfTree",
    "OsdTree",
    "OsdTreeNode",
    "PgStat",
    "PoolDetail",
    "QuorumStatus",
    "SafeToDestroy",
    "StatusReport",
    "commands",
    "mon_removed",
    "parse_health_detail",
    "parse_mon_dump",
    "parse_ok_to_stop",
    "parse_osd_df_tree",
    "parse_osd_tree",
    "parse_pg_stat",
    "parse_pool_ls_detail",
    "parse_quorum_status",
    "parse_safe_to_destroy",
    "parse_status",
    "parse_status_report",
    "pg_state_settled",
    "rebalance_settled",
    "safe_to_remove",
    "to_ceph_status",
]
