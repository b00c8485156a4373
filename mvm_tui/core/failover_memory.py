"""What the failover engine must not forget when its process dies: the VMs as the checks last
saw them (with the host HA moved each off), the hosts it fenced (with the VMs they left down),
and the VMs waiting for room. Exported as plain JSON-able data for the HA service to keep
where the next active service finds it (next to the RADOS lock on HCI clusters), and seeded
into a new engine. Pure: no I/O.

Only what checks saw is kept, never what a decision expected: a restart that was decided but
never carried out is decided again by the next service.
"""

from __future__ import annotations

from typing import Any

from mvm_tui.core.failover import FailoverEngine
from mvm_tui.core.failover_vms import _Host, _Vm
from mvm_tui.models import Vm

VERSION = 1
# a VM's load figures: of no use to the next service, and they would make every check a
# change to save (a RADOS write per VM)
LOAD = {"cpu_pct", "mem_used_mb", "mem_source", "disk_rd_bps", "disk_wr_bps", "net_rx_bps",
        "net_tx_bps"}
# and its displays' ports: assigned anew at every start, of no use to a restart elsewhere
NOT_KEPT = LOAD | {"graphics"}


def export(engine: FailoverEngine) -> dict[str, Any]:
    vms = {name: {"vm": rec.seen.model_dump(mode="json", exclude=NOT_KEPT), "home": rec.home}
           for name, rec in sorted(engine._vms.items()) if rec.seen is not None}
    hosts = {h.name: {"fenced": True, "left_down": list(h.left_down)}
             for h in engine._hosts.values() if h.fenced}
    return {"version": VERSION, "vms": vms, "fenced": hosts, "waiting": engine.waiting()}


def seed(engine: FailoverEngine, state: dict[str, Any]) -> None:
    """Into a new engine (before any check): what the last active service knew. Anything a
    check of this engine sees later wins."""
    if state.get("version") != VERSION:
        return
    for name, entry in state.get("vms", {}).items():
        vm = Vm.model_validate(entry["vm"])
        if vm.host is not None and vm.host not in engine._hosts:
            continue
        engine._vms[name] = _Vm(vm, float("-inf"), home=entry.get("home"), seen=vm)
    for host, entry in state.get("fenced", {}).items():
        h: _Host | None = engine._hosts.get(host)
        if h is not None:
            h.fenced = True
            h.left_down = [v for v in entry.get("left_down", []) if v in engine._vms]
    for vm, host in state.get("waiting", {}).items():
        if vm in engine._vms and host in engine._hosts:
            engine._waiting[vm] = host
