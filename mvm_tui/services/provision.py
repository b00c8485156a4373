"""Provisioning a host as a Run: each step an idempotent script (mvm_tui/provision/*.sh) sent
over SSH to `bash -s` as root, its output streamed into the run's log; the step's check runs
the same script with --check, which changes nothing and fails if anything is missing. A run
that failed is retried from the top: steps whose effect is in place are not done again.

The steps: KVM and libvirt (and the CPU model usable); Open vSwitch with the compute bridge,
its trunk and a libvirt network with a port group per VLAN; for external storage, the
datastore's libvirt storage pool. Ceph is a Run of its own, across the hosts
(services.provision_ceph).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.host_commands import on_host
from mvm_tui.backends.ssh import SshPool
from mvm_tui.config import DatastoreConfig
from mvm_tui.core.form_validation import NfsExport
from mvm_tui.runs import RunExecutor, RunRecord, Step, StepContext, Targets

SCRIPTS = Path(__file__).resolve().parent.parent / "provision"
STEP_TIMEOUT = 1800.0  # apt-get install may take a while


def script_text(name: str) -> str:
    """What is sent to `bash -s` for the provisioning script `name`: common.sh, then it."""
    return (SCRIPTS / "common.sh").read_text() + (SCRIPTS / name).read_text()


def script_command(host: str, script: str, args: Sequence[str]) -> str:
    """What running mvm_tui/provision/`script` on `host` with `args` amounts to, as a command
    an operator could run (the preview of a step that runs it)."""
    return f"{on_host(host, script_argv(args))} < mvm_tui/provision/{script}"


def script_argv(args: Sequence[str], install: bool = True, check: bool = False) -> list[str]:
    """The command that runs a script sent on stdin (script_text) with `args`; `install` false:
    a missing package fails the step instead of being installed."""
    env = [] if install else ["env", "MVM_NO_INSTALL=1"]
    return [*env, "bash", "-s", "--", *(["--check"] if check else []), *args]


@dataclass(frozen=True)
class Compute:
    bridge: str = "br-compute"
    interface: str = "eth2"
    vlans: tuple[int, ...] = ()
    datapath: str = "system"  # "netdev": userspace, where the kernel module is missing


def datastore_args(datastore: DatastoreConfig | None) -> list[str]:
    """datastore.sh's arguments for the datastore ([] for none)."""
    if datastore is None:
        return []
    target = datastore.target()
    if isinstance(target, NfsExport):
        return ["nfs", datastore.name, target.server, target.path]
    return ["iscsi", datastore.name, target.portal, str(target.port), target.iqn]


def step_scripts(compute: Compute, cpu_model: str = "host-model",
                 datastore: Sequence[str] = ()) -> list[tuple[str, str, list[str]]]:
    """(title, script, arguments) of every step, in order; `datastore`: datastore.sh's
    arguments (datastore_args()), none for a cluster without an external datastore."""
    steps = [
        (f"KVM and libvirt, CPU model {cpu_model}", "kvm.sh", [cpu_model]),
        (f"Open vSwitch: {compute.bridge} on {compute.interface}, VLANs "
         f"{', '.join(map(str, compute.vlans))}", "ovs.sh",
         [compute.bridge, compute.interface, compute.datapath, *map(str, compute.vlans)]),
    ]
    if datastore:
        kind, name, *where = datastore
        steps.append((f"Datastore {name}: {kind} {' '.join(where)}", "datastore.sh",
                      list(datastore)))
    return steps


def apt_progress(line: str) -> tuple[float, str] | None:
    """A status line of `apt-get -o APT::Status-Fd=1` ("dlstatus:1:24.49:Retrieving file 1 of
    3", "pmstatus:hello:60.0:Configuring hello") as (fraction of the step, what it does):
    downloading fills the first half of the step's bar, installing the second. None for any
    other line."""
    kind, _, rest = line.strip().partition(":")
    _, _, rest = rest.partition(":")
    percent, _, text = rest.partition(":")
    if kind not in ("dlstatus", "pmstatus"):
        return None
    try:
        value = min(max(float(percent), 0.0), 100.0) / 200
    except ValueError:
        return None
    return value + (0.5 if kind == "pmstatus" else 0.0), text


def step_output(ctx: StepContext, host: str,
                prefix: str = "") -> Callable[[str, str], None]:
    """Where a script's output lines go: apt-get's status lines move the step's progress bar,
    the others go to the run's log (with `prefix`)."""
    def sink(stream: str, line: str) -> None:
        apt = apt_progress(line)
        if apt is not None:
            ctx.progress(apt[0], f"{host}: {apt[1]}")
        elif line.strip():
            ctx.log(prefix + line, "err" if stream == "stderr" else "out")
    return sink


class Provisioning:
    def __init__(self, executor: RunExecutor, pool: SshPool, cluster: str,
                 install: bool = True, *, register: bool = True) -> None:
        """`register`: False only to read the steps (build()) for a preview."""
        self.executor, self.pool, self.cluster, self.install = executor, pool, cluster, install
        self.kind = f"{cluster}:provision.host"
        if register:
            executor.register(self.kind, self.build)  # replaces an earlier one: this pool now

    @staticmethod
    def params(host: str, compute: Compute, cpu_model: str = "host-model",
               datastore: Sequence[str] = ()) -> dict[str, Any]:
        return {"host": host, "bridge": compute.bridge, "interface": compute.interface,
                "vlans": list(compute.vlans), "datapath": compute.datapath,
                "cpu_model": cpu_model, "datastore": list(datastore)}

    def create(self, params: Mapping[str, Any]) -> RunRecord:
        """The Run provisioning params["host"] (params: Provisioning.params())."""
        host = str(params["host"])
        return self.executor.create(self.kind, f"Provision {host}", dict(params),
                                    Targets(cluster=self.cluster, host=host))

    def build(self, params: Mapping[str, Any]) -> Sequence[Step]:
        host = str(params["host"])
        compute = Compute(str(params["bridge"]), str(params["interface"]),
                          tuple(int(v) for v in params["vlans"]), str(params["datapath"]))
        steps = step_scripts(compute, str(params.get("cpu_model", "host-model")),
                             [str(a) for a in params.get("datastore", ())])
        return [self._step(host, title, script, args) for title, script, args in steps]

    def _step(self, host: str, title: str, script: str, args: list[str]) -> Step:
        text = script_text(script)

        async def act(ctx: StepContext) -> None:
            ctx.progress(0.0, f"{script} on {host}")
            r = await self.pool.run(host, script_argv(args, self.install), sudo=True,
                                    stdin=text, on_line=step_output(ctx, host),
                                    timeout=STEP_TIMEOUT,
                                    check=False)
            if r.exit_status != 0:
                raise BackendError(f"{script} failed on {host} (exit status {r.exit_status})")
            ctx.progress(1.0, f"{script} on {host}: done")

        async def check(ctx: StepContext) -> bool:
            r = await self.pool.run(host, script_argv(args, self.install, check=True),
                                    sudo=True, stdin=text, timeout=STEP_TIMEOUT, check=False)
            return r.exit_status == 0

        return Step(title, (script_command(host, script, args),), act, check)
