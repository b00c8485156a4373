"""Provisioning a host as a Run: each step an idempotent script (mvm_tui/provision/*.sh) sent
over SSH to `bash -s` as root, its output streamed into the run's log; the step's check runs
the same script with --check, which changes nothing and fails if anything is missing. A run
that failed is retried from the top: steps whose effect is in place are not done again.

Built so far: KVM and libvirt; Open vSwitch with the compute bridge, its trunk and a libvirt
network with a port group per VLAN. Not yet: the Ceph bootstrap, the external datastore, the
storage pool, the self-fencing agent (issue 6).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.ssh import SshPool
from mvm_tui.runs import RunExecutor, RunRecord, Step, StepContext, Targets

SCRIPTS = Path(__file__).resolve().parent.parent / "provision"
STEP_TIMEOUT = 1800.0  # apt-get install may take a while


@dataclass(frozen=True)
class Compute:
    bridge: str = "br-compute"
    interface: str = "eth2"
    vlans: tuple[int, ...] = ()
    datapath: str = "system"  # "netdev": userspace, where the kernel module is missing


def step_scripts(compute: Compute) -> list[tuple[str, str, list[str]]]:
    """(title, script, arguments) of every step, in order."""
    return [
        ("KVM and libvirt", "kvm.sh", []),
        (f"Open vSwitch: {compute.bridge} on {compute.interface}, VLANs "
         f"{', '.join(map(str, compute.vlans))}", "ovs.sh",
         [compute.bridge, compute.interface, compute.datapath, *map(str, compute.vlans)]),
    ]


class Provisioning:
    def __init__(self, executor: RunExecutor, pool: SshPool, cluster: str,
                 install: bool = True) -> None:
        self.executor, self.pool, self.cluster = executor, pool, cluster
        self.env = [] if install else ["env", "MVM_NO_INSTALL=1"]
        self.kind = f"{cluster}:provision.host"
        executor.register(self.kind, self.build)  # replaces an earlier one: this pool now

    def create(self, host: str, compute: Compute) -> RunRecord:
        params = {"host": host, "bridge": compute.bridge, "interface": compute.interface,
                  "vlans": list(compute.vlans), "datapath": compute.datapath}
        return self.executor.create(self.kind, f"Provision {host}", params,
                                    Targets(cluster=self.cluster, host=host))

    def build(self, params: Mapping[str, Any]) -> Sequence[Step]:
        host = str(params["host"])
        compute = Compute(str(params["bridge"]), str(params["interface"]),
                          tuple(int(v) for v in params["vlans"]), str(params["datapath"]))
        return [self._step(host, title, script, args)
                for title, script, args in step_scripts(compute)]

    def _step(self, host: str, title: str, script: str, args: list[str]) -> Step:
        text = (SCRIPTS / script).read_text()

        async def act(ctx: StepContext) -> None:
            ctx.progress(0.0, f"{script} on {host}")
            r = await self.pool.run(host, [*self.env, "bash", "-s", "--", *args], sudo=True,
                                    stdin=text,
                                    on_line=lambda stream, line: ctx.log(
                                        line, "err" if stream == "stderr" else "out"),
                                    timeout=STEP_TIMEOUT, check=False)
            if r.exit_status != 0:
                raise BackendError(f"{script} failed on {host} (exit status {r.exit_status})")
            ctx.progress(1.0, f"{script} on {host}: done")

        async def check(ctx: StepContext) -> bool:
            r = await self.pool.run(host, [*self.env, "bash", "-s", "--", "--check", *args],
                                    sudo=True, stdin=text, timeout=STEP_TIMEOUT, check=False)
            return r.exit_status == 0

        words = "".join(f" {shlex.quote(a)}" for a in args)
        preview = f"ssh {host} sudo bash -s --{words} < mvm_tui/provision/{script}"
        return Step(title, (preview,), act, check)
