"""HA's kept state on an HCI cluster: extended attributes of the RADOS object that holds the HA
lock (services.ha_lease), so the standby that takes the lease, or this service restarted,
finds it where it finds the lock.

One attribute per VM (`vm.NAME`: how the checks last saw it, the host HA moved it off, its
kept libvirt definition) and one for the rest (`ha`: fenced hosts, VMs waiting for room), each
JSON; only the attributes that changed are written:

    rados -p POOL setxattr mvm-tui-ha.CLUSTER vm.NAME VALUE
    rados -p POOL listxattr mvm-tui-ha.CLUSTER / getxattr ... / rmxattr ...

A value travels as one argument of the command (the limit of one argument is 128 KiB on
Linux, far above a domain's XML).
"""

from __future__ import annotations

import json
from typing import Any

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.ceph.commands import check_name
from mvm_tui.backends.workload_commands import ha_object
from mvm_tui.services.ha_lease import CLI_TIMEOUT, Cli

REST = "ha"
VM_PREFIX = "vm."


class RadosHaState:
    def __init__(self, cli: Cli, cluster: str, pool: str) -> None:
        self.cli = cli
        self.pool = check_name(pool, "pool")
        self.obj = ha_object(check_name(cluster, "cluster"))
        self._written: dict[str, str] = {}  # attribute -> value, as last written or read

    def _rados(self, *args: str) -> list[str]:
        return ["timeout", str(CLI_TIMEOUT), "rados", "-p", self.pool, *args]

    async def _run(self, *args: str, missing_ok: bool = False) -> str:
        out = await self.cli(self._rados(*args))
        if out.exit_status != 0:
            if missing_ok and "No such file" in out.stderr:
                return ""
            raise BackendError(f"rados {args[0]} {self.obj}: {out.stderr.strip() or 'failed'}")
        return out.stdout

    async def load(self) -> dict[str, Any] | None:
        names = [n.strip() for n in
                 (await self._run("listxattr", self.obj, missing_ok=True)).splitlines()]
        names = [n for n in names if n == REST or n.startswith(VM_PREFIX)]
        if REST not in names:
            return None
        values = {n: await self._run("getxattr", self.obj, n) for n in names}
        self._written = dict(values)
        state: dict[str, Any] = json.loads(values[REST])
        state["vms"], state["definitions"] = {}, {}
        for name, value in values.items():
            if name.startswith(VM_PREFIX):
                entry = json.loads(value)
                vm = name[len(VM_PREFIX):]
                state["vms"][vm] = {"vm": entry["vm"], "home": entry.get("home")}
                if entry.get("definition") is not None:
                    state["definitions"][vm] = entry["definition"]
        return state

    async def save(self, state: dict[str, Any]) -> None:
        defs = state.get("definitions", {})
        want = {f"{VM_PREFIX}{vm}": json.dumps({**entry, "definition": defs.get(vm)},
                                               sort_keys=True)
                for vm, entry in state.get("vms", {}).items()}
        want[REST] = json.dumps({k: v for k, v in state.items()
                                 if k not in ("vms", "definitions")}, sort_keys=True)
        for name, value in want.items():
            if self._written.get(name) != value:
                await self._run("setxattr", self.obj, name, value)
                self._written[name] = value
        for name in [n for n in self._written if n not in want]:
            await self._run("rmxattr", self.obj, name, missing_ok=True)
            del self._written[name]
