"""`mvm-tui plans`: where a VM of each plan (or of a given size) fits in each cluster now: the
hosts with room, and whether the failover reserve still holds with it there. A host that
cannot take VMs now (unreachable, in maintenance, its key refused) is said, not counted."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from mvm_tui.config import Config, PlanConfig
from mvm_tui.core.placement import rooms
from mvm_tui.core.plans import HostFit, Size, reserve_short, where_it_fits
from mvm_tui.core.vm_spec import MAX_MEMORY_MB, MAX_VCPUS
from mvm_tui.services.cluster import Cluster
from mvm_tui.session import Prompts, measure, open_session
from mvm_tui.units import count


def parse_size(text: str) -> Size:
    """"VCPUS:MEMORY_MB", e.g. "4:8192"; ValueError saying what is expected."""
    vcpus, sep, memory = text.partition(":")
    try:
        size = Size(int(vcpus), int(memory)) if sep else None
    except ValueError:
        size = None
    if size is None or not 1 <= size.vcpus <= MAX_VCPUS or \
            not 64 <= size.memory_mb <= MAX_MEMORY_MB:
        raise ValueError(f"{text!r} is not a size: VCPUS:MEMORY_MB, such as 4:8192 (vCPUs "
                         f"from 1 to {MAX_VCPUS}, memory from 64 MiB to 4 TiB)")
    return size


async def run_plans(config: Config, demo: bool, prompts: Prompts, cluster: str | None,
                    size: Size | None, as_json: bool) -> int:
    session = open_session(config, demo, prompts=prompts)
    try:
        clusters = [c for c in session.clusters if cluster in (None, c.name)]
        if not clusters:
            print(f"mvm-tui: no cluster named {cluster!r} in the config", file=sys.stderr)
            return 2
        for c in clusters:
            await measure(c, 0)
        document = plans_document(clusters, session.config.plans, size)
    finally:
        await session.close()
    if as_json:
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(plans_text(document))
    return prompts.report()


def plans_document(clusters: Sequence[Cluster], plans: Mapping[str, PlanConfig],
                   size: Size | None) -> dict[str, Any]:
    sizes = ({"custom": (size, None)} if size is not None else
             {name: (Size(p.vcpus, p.memory_mb), p.disk_gb) for name, p in plans.items()})
    out = []
    for cluster in clusters:
        snap = cluster.snapshot()
        usable = rooms(snap, cluster.ha_settings.limits)
        not_counted = {h.name: h.error or h.state.value for h in snap.hosts
                       if h.name not in usable}
        each = [{"name": name, "vcpus": s.vcpus, "memory_mb": s.memory_mb, "disk_gb": disk,
                 "hosts": [_fit(f) for f in where_it_fits(s, snap, cluster.ha_settings)]}
                for name, (s, disk) in sizes.items()]
        out.append({"name": cluster.name, "not_counted": not_counted,
                    "reserve_short": reserve_short(snap, cluster.ha_settings),
                    "plans": each})
    return {"clusters": out}


def _fit(fit: HostFit) -> dict[str, Any]:
    return {"host": fit.host, "fits": not fit.room, "room": fit.room or None,
            "breaks_reserve": list(fit.breaks_reserve)}


def plans_text(document: dict[str, Any]) -> str:
    lines = []
    for c in document["clusters"]:
        lines.append(f"cluster {c['name']}:")
        for host, why in c["not_counted"].items():
            lines.append(f"  {host} is not counted (it cannot take VMs now): {why}")
        for lost, vms in c["reserve_short"].items():
            lines.append(f"  already short: if {lost} is lost, {', '.join(vms)} find no room")
        for p in c["plans"]:
            disk = f", {p['disk_gb']} GB" if p["disk_gb"] else ""
            ok = [h["host"] for h in p["hosts"] if h["fits"] and not h["breaks_reserve"]]
            what = f"{count(p['vcpus'], 'vCPU')}, {p['memory_mb']} MB{disk}"
            lines.append(f"  {p['name']} ({what}): fits on {', '.join(ok) or 'no host'} with "
                         "the reserve kept")
            for h in p["hosts"]:
                if h["fits"] and h["breaks_reserve"]:
                    lines.append(f"    on {h['host']} it breaks the reserve: losing "
                                 f"{', '.join(h['breaks_reserve'])} would leave VMs down")
                elif not h["fits"]:
                    lines.append(f"    not on {h['host']}: {h['room']}")
    return "\n".join(lines) + "\n"
