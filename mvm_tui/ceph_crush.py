"""Raw shapes of `ceph osd tree -f json` and `ceph osd df tree -f json`: the CRUSH hierarchy."""

from __future__ import annotations

from mvm_tui.ceph_models import Raw


class CrushNode(Raw):
    id: int  # >= 0 for OSDs, < 0 for buckets (root, host, ...)
    name: str
    type: str  # "root", "host", "osd", ...
    type_id: int = 0
    children: tuple[int, ...] = ()
    crush_weight: float | None = None  # OSDs only
    reweight: float | None = None  # 0 when the OSD is out; -1 on buckets
    status: str | None = None  # OSDs only: "up", "down", "destroyed"
    device_class: str | None = None


class OsdTreeNode(CrushNode):
    exists: int = 1
    primary_affinity: float | None = None


class OsdDfNode(CrushNode):
    kb: int = 0
    kb_used: int = 0
    kb_avail: int = 0
    utilization: float = 0.0
    var: float = 0.0
    pgs: int = 0


class _CrushTree(Raw):
    nodes: tuple[CrushNode, ...]
    stray: tuple[CrushNode, ...] = ()  # OSDs that exist but are not in the CRUSH map

    def node(self, node_id: int) -> CrushNode | None:
        return next((n for n in (*self.nodes, *self.stray) if n.id == node_id), None)

    def of_type(self, kind: str) -> tuple[CrushNode, ...]:
        return tuple(n for n in self.nodes if n.type == kind)

    @property
    def osd_ids(self) -> tuple[int, ...]:
        return tuple(n.id for n in self.nodes if n.type == "osd")

    @property
    def host_names(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.nodes if n.type == "host")

    def host_of(self, osd_id: int) -> str | None:
        """The host bucket holding the OSD (None when it is not in the CRUSH map)."""
        return next((n.name for n in self.nodes if n.type == "host" and osd_id in n.children), None)

    def osds_on(self, host: str) -> tuple[int, ...]:
        for n in self.nodes:
            if n.type == "host" and n.name == host:
                return n.children
        return ()

    def down_osds(self) -> tuple[int, ...]:
        return tuple(
            n.id for n in (*self.nodes, *self.stray) if n.type == "osd" and n.status == "down"
        )

    def out_osds(self) -> tuple[int, ...]:
        return tuple(n.id for n in self.nodes if n.type == "osd" and n.reweight == 0)


class OsdTree(_CrushTree):
    """`ceph osd tree -f json`."""

    nodes: tuple[OsdTreeNode, ...]
    stray: tuple[OsdTreeNode, ...] = ()


class DfSummary(Raw):
    total_kb: int
    total_kb_used: int
    total_kb_avail: int
    average_utilization: float = 0.0
    min_var: float = 0.0
    max_var: float = 0.0
    dev: float = 0.0


class OsdDfTree(_CrushTree):
    """`ceph osd df tree -f json`."""

    nodes: tuple[OsdDfNode, ...]
    stray: tuple[OsdDfNode, ...] = ()
    summary: DfSummary

    def df(self, node_id: int) -> OsdDfNode | None:
        return next((n for n in (*self.nodes, *self.stray) if n.id == node_id), None)
