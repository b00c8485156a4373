"""HCI: one Ceph cluster across the new cluster's hosts, as a Run: the packages, ceph.conf and
the keys (made on the first host, carried to the others through this process's memory, never
written on the jump box), a monitor on every host (named after its short hostname, which is
also its CRUSH bucket), a manager on the first host, a bluestore OSD on every data device, the
RBD pool, HEALTH_OK. Every step is idempotent and checks first (mvm_tui/provision/ceph.sh).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mvm_tui.backends.ssh import SshPool
from mvm_tui.clock import Clock
from mvm_tui.runs import RunExecutor, RunRecord, Step, Targets
from mvm_tui.services.ceph_bootstrap_commands import CephHost
from mvm_tui.services.ceph_bootstrap_steps import CephSteps
from mvm_tui.services.ceph_shell import CephShell
from mvm_tui.services.provision import script_text


class CephBootstrap:
    def __init__(self, executor: RunExecutor, pool: SshPool, clock: Clock, cluster: str,
                 *, extra_conf: Sequence[str] = (), rbd_pool: str = "vms",
                 wait_limit: float = 300.0, install: bool = True, register: bool = True) -> None:
        """`register`: False only to read the steps (build()) for a preview. `install`: missing
        packages are installed (the lab has no way out)."""
        self.executor, self.cluster = executor, cluster
        self.extra_conf, self.rbd_pool = tuple(extra_conf), rbd_pool
        self.shell = CephShell(pool, clock, script_text("ceph.sh"), install=install,
                               wait_limit=wait_limit)
        self.kind = f"{cluster}:provision.ceph"
        if register:
            executor.register(self.kind, self.build)  # replaces an earlier one: this pool now

    @staticmethod
    def params(hosts: Sequence[CephHost], devices: Sequence[str],
               join: Sequence[str] = ()) -> dict[str, Any]:
        return {"hosts": [[h.name, h.address] for h in hosts], "devices": list(devices),
                "join": list(join)}

    def create(self, hosts: Sequence[CephHost], devices: Sequence[str],
               join: Sequence[str] = ()) -> RunRecord:
        """The Run that builds Ceph on `hosts`; with `join`, the run that makes those (the last
        of `hosts`) join the cluster the others already run."""
        params = self.params(hosts, devices, join)
        title = (f"{', '.join(join)} joins Ceph" if join
                 else f"Ceph on {', '.join(h.name for h in hosts)}")
        return self.executor.create(self.kind, title, params, Targets(cluster=self.cluster))

    def build(self, params: Mapping[str, Any]) -> Sequence[Step]:
        return CephSteps(self.shell, params, rbd_pool=self.rbd_pool,
                         extra_conf=self.extra_conf).steps()
