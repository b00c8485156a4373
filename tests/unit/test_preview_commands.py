"""Previews show the commands that really run: every line of every previewed action (on the
demo's simulated cluster, as the TUI shows them) is a command of a program the backends run,
never a pseudo-command; the simulator's commands have the shape of the real backend's for the
same hosts; and the libvirt URIs carry the transport the real backend is configured with."""

from __future__ import annotations

import re
import shlex
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from mvm_tui.backends.real import RealBackend
from mvm_tui.backends.real_options import RealOptions
from mvm_tui.backends.sim import SimBackend
from mvm_tui.clock import VirtualClock
from mvm_tui.config import demo_config
from mvm_tui.core.balance import BalanceSettings
from mvm_tui.core.placement import Limits
from mvm_tui.ha_cli import build_ha_service
from mvm_tui.models import Placement, PowerAction, PowerState, Vm
from mvm_tui.runs import Step
from mvm_tui.services.balancer import Balancer
from mvm_tui.services.cluster_builder import ClusterBuilder
from mvm_tui.services.decommission_runs import decommissions_for
from mvm_tui.services.ha_failover import FailoverActions
from mvm_tui.services.placement import PlacementChoice
from mvm_tui.session import Session, open_session

# what the backends run (locally, or on a host over its SSH connection)
PROGRAMS = {"ssh", "virsh", "ceph", "rados", "rbd", "ipmitool", "systemctl"}
# what they run on a host over SSH (as root)
REMOTE = {"mkdir", "touch", "rm", "systemctl", "ceph-conf", "sed", "ceph", "bash", "cat",
          "install", "sh", "timeout", "virsh", "ceph-authtool", "monmaptool"}
URI = re.compile(r"'(qemu\+[a-z0-9]+://[^/']+/system)\?[^']*'")


def program_of(line: str) -> str:
    """The program a preview line runs (a line that is only a comment runs none)."""
    words = shlex.split(line, comments=True)
    assert words, f"not a command: {line!r}"
    if words[0] == "ssh":  # ssh HOST sudo WORDS..., or ssh HOST "sudo WORDS..." (one word)
        remote = words[2:]
        remote = shlex.split(remote[0]) + remote[1:] if " " in remote[0] else remote
        assert remote[0] == "sudo", f"ssh runs {remote}: {line!r}"
        assert remote[1] in REMOTE, f"ssh runs {remote}: {line!r}"
    return words[0]


def lines(steps: Sequence[Step]) -> list[str]:
    return [line for step in steps for line in step.preview]


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Session]:
    clock = VirtualClock()
    session = open_session(demo_config(), demo=True, clock=clock, db_path=tmp_path / "runs.db")
    cluster = session.clusters[0]
    cluster.start()
    for _ in range(3):
        await clock.advance(2.0)
    yield session
    await session.close()


async def previews(session: Session, tmp_path: Path) -> dict[str, list[str]]:
    """Every action the TUI previews (dialogs, and the runs of HA and the balancer)."""
    cluster = session.clusters[0]
    web, off = cluster.vm("web-01"), cluster.vm("ci-runner-01")
    found = {f"power {a.value}": lines(cluster.power_preview(off if a is PowerAction.START
                                                             else web, a))
             for a in PowerAction}
    found["placement and migration"] = lines(cluster.placement_preview(
        web, PlacementChoice(Placement.PINNED, "hv2")))
    enter = cluster.maintenance.plan_enter("hv2")
    assert enter.can_enter
    assert enter.moves
    found["enter maintenance"] = lines(cluster.maintenance_preview(enter))
    found["leave maintenance"] = lines(cluster.leave_preview(
        "hv2", cluster.maintenance.plan_leave("hv2")))
    decom = decommissions_for(session, cluster, None)
    assert decom is not None
    found["decommission"] = lines(decom.preview(await decom.plan("hv3", True)))
    ha = build_ha_service(session, cluster, lock_dir=tmp_path / "ha")
    found["failback"] = lines(ha.failback_preview("web-01", "hv2"))
    runs, executor = ha.runs, session.executor
    found["HA fence"] = lines(executor.preview(runs.kind("fence"), {
        "host": "hv1", "expiry": 3600.0, "ipmi": False}))
    found["HA restart"] = lines(executor.preview(runs.kind("restart"), {
        "vm": "web-01", "host": "hv1", "target": "hv2"}))
    found["HA unfence"] = lines(executor.preview(runs.kind("unfence"), {
        "host": "hv1", "stale": ["web-01"]}))
    balancer = Balancer(cluster.backend, session.clock, executor, BalanceSettings(), Limits(),
                        cluster.snapshot)
    found["balance"] = lines(executor.preview(balancer.kind, {
        "vm": "web-01", "source": "hv1", "target": "hv3", "load_pct": 90.0,
        "threshold_pct": 70.0}))
    config = demo_config().clusters[0]  # the wizard's and Add Worker's confirmations
    builder = ClusterBuilder(executor, session.clock)
    found["provision a cluster"] = lines(builder.plan(config, config.hosts))
    found["add a worker"] = lines(builder.plan(config, config.hosts[-1:]))
    return found


async def test_every_preview_line_is_a_command_the_backends_run(demo: Session,
                                                                 tmp_path: Path) -> None:
    found = await previews(demo, tmp_path)
    for action, commands in found.items():
        assert commands, f"{action}: no command shown"
        for line in commands:
            assert program_of(line) in PROGRAMS, f"{action}: {line!r}"
            assert not line.lstrip().startswith(("#", "$", "mark ")), f"{action}: {line!r}"
    assert found["enter maintenance"][:2] == ["ssh hv2 sudo mkdir -p /var/lib/mvm-tui",
                                              "ssh hv2 sudo touch /var/lib/mvm-tui/maintenance"]
    assert found["leave maintenance"] == ["ssh hv2 sudo rm -f /var/lib/mvm-tui/maintenance"]
    assert "ssh hv3 sudo systemctl stop ceph-osd@2" in found["decommission"]
    assert any(" metadata web-01 " in line and "--set" in line
               for line in found["placement and migration"])
    # a command with quoted words goes to ssh in quotes of its own: the host reads those words
    assert ('ssh hv1 "sudo ceph-authtool --create-keyring /etc/ceph/ceph.client.admin.keyring '
            "--gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mds "
            "'allow *' --cap mgr 'allow *'\"") in found["provision a cluster"]


def real_backend(transport: str) -> RealBackend:
    """The real backend of the demo's hosts (previews connect to nothing)."""
    return RealBackend(demo_config().clusters[0],
                       RealOptions(libvirt_transport=transport))  # type: ignore[arg-type]


def vm(name: str, host: str, power: PowerState = PowerState.RUNNING) -> Vm:
    return Vm(name=name, uuid="", host=host, power=power, vcpus=1, memory_mb=1024)


def backend_commands(backend: RealBackend | SimBackend) -> list[str]:
    web = vm("web-01", "hv1")
    failover = backend.failover()
    assert failover is not None
    ha = FailoverActions(failover, 5.0)
    return [*backend.power_commands(web, PowerAction.SHUTDOWN),
            *backend.migrate_commands(web, "hv2"),
            *backend.relocate_commands(vm("ci-runner-01", "hv3", PowerState.SHUTOFF), "hv1"),
            *backend.placement_commands(web, Placement.FAILOVER, "hv1"),
            *backend.maintenance_commands("hv1", True),
            *ha.fence_commands("hv1", 600.0), *ha.unfence_commands("hv1"),
            *ha.remove_commands("web-01", "hv1")]


@pytest.mark.parametrize("transport", ["libssh", "ssh"])
def test_the_previews_use_the_configured_libvirt_transport(transport: str) -> None:
    commands = backend_commands(real_backend(transport))
    uris = [m for line in commands for m in URI.finditer(line)]
    own = [m.group(1) for m in uris if "/var/lib/mvm-tui/migration" not in m.group(0)]
    assert own
    assert all(u.startswith(f"qemu+{transport}://root@192.0.2.1") for u in own), own
    # a migration's destination is opened by the source host's libvirtd, always over ssh
    (migrate,) = [line for line in commands if " migrate --live " in line]
    assert migrate.endswith("'qemu+ssh://root@192.0.2.12/system?keyfile=/var/lib/mvm-tui/"
                            "migration/id_ed25519&no_verify=0&no_tty=1&sshauth=privkey,agent'")


async def test_the_simulator_previews_what_the_real_backend_runs(demo: Session) -> None:
    sim = demo.clusters[0].backend
    assert isinstance(sim, SimBackend)

    def shape(commands: list[str]) -> list[str]:  # the URIs' queries hold local paths
        return [URI.sub(r"\1?…", line) for line in commands]

    sim_commands = backend_commands(sim)
    assert shape(sim_commands) == shape(backend_commands(real_backend("libssh2")))
    assert "qemu+libssh2://root@192.0.2.11/system" in sim_commands[0]
