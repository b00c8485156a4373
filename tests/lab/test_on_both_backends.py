"""One scenario, two backends: inventory, power actions, live migration and maintenance run
against a simulated cluster shaped like the lab (3 hosts h1-h3, the lab's guests where the lab
puts them) and against the real lab, with the same assertions. The simulator's variant runs
with the fast tests; the lab's is a lab test (marker `lab`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mvm_tui.backends.sim import SimBackend
from mvm_tui.backends.sim.spec import SimClusterSpec, SimHostSpec, SimVmSpec
from mvm_tui.clock import SystemClock
from mvm_tui.config import demo_config
from mvm_tui.core.maintenance import Blocked, LiveMigrate, Stay
from mvm_tui.models import (
    HostState,
    Layout,
    MigrationProgress,
    Placement,
    PowerAction,
    PowerState,
)
from mvm_tui.runs import RunState
from mvm_tui.session import Session, open_session, poll_once
from tests.lab.placing import put_running_on

GUESTS = {"tiny-a": "h1", "tiny-f": "h1", "tiny-p": "h1", "tiny-b": "h2", "tiny-linux": "h3"}


def lab_like() -> SimClusterSpec:
    hosts = [SimHostSpec(f"h{i}", f"10.213.0.1{i}", vcpus=4, memory_mb=4096, storage_gb=20.0)
             for i in (1, 2, 3)]
    vms = [SimVmSpec(name, host, vcpus=1, memory_mb=64, disk_gb=1.0)
           for name, host in GUESTS.items()]
    return SimClusterSpec("mvmlab", Layout.HCI, hosts, vms, boot_s=1.0, shutdown_s=0.5)


@pytest.fixture
async def sim_session() -> AsyncIterator[Session]:
    clock = SystemClock()
    session = open_session(demo_config(), demo=True, clock=clock,
                           backend=SimBackend(lab_like(), clock))
    yield session
    await session.close()


@pytest.fixture(params=["sim", pytest.param("lab", marks=pytest.mark.lab)])
def any_session(request: pytest.FixtureRequest) -> Session:
    """The simulator's session, or the lab's (built only for the lab's variant)."""
    return request.getfixturevalue(f"{request.param}_session")  # type: ignore[no-any-return]


@pytest.fixture
async def session(any_session: Session) -> Session:
    """With the guests the scenarios use running where the lab puts them (earlier lab tests
    move, stop and fail over the same guests)."""
    backend = any_session.clusters[0].backend
    for vm, host in GUESTS.items():  # (one CI run found tiny-linux on h1 after the soak)
        await put_running_on(backend, vm, host)
    return any_session


async def test_inventory_of_the_three_hosts(session: Session) -> None:
    cluster = session.clusters[0]
    await poll_once(cluster)
    snap = cluster.snapshot()
    assert [(h.name, h.state) for h in snap.hosts] == [
        ("h1", HostState.ONLINE), ("h2", HostState.ONLINE), ("h3", HostState.ONLINE)]
    for host in snap.hosts:
        assert host.facts is not None
        assert host.facts.vcpus > 0
        assert host.facts.memory_mb > 0
        assert host.facts.os
        assert host.facts.libvirt_version.startswith("9.")
    vms = {v.name: v for v in snap.vms}
    assert (vms["tiny-a"].host, vms["tiny-a"].power) == ("h1", PowerState.RUNNING)
    assert (vms["tiny-b"].host, vms["tiny-b"].power) == ("h2", PowerState.RUNNING)
    assert vms["tiny-a"].disks[0].source == "rbd:vms/tiny-a"


async def test_power_actions_run_and_are_recorded(session: Session) -> None:
    cluster = session.clusters[0]
    await poll_once(cluster)
    for action, state in ((PowerAction.POWEROFF, PowerState.SHUTOFF),
                          (PowerAction.START, PowerState.RUNNING),
                          (PowerAction.REBOOT, PowerState.RUNNING)):
        vm = await cluster.backend.vm_info("tiny-b")
        record = cluster.create_power_run(vm, action)
        preview = session.store.steps(record.id)[0].preview
        assert preview[0].startswith("virsh -c 'qemu+libssh2://root@10.213.0.12/system")
        done = await cluster.execute(record.id)
        assert done.state is RunState.DONE, done.error
        assert (await cluster.backend.vm_info("tiny-b")).power is state
    kinds = [r.params.get("action") for r in session.store.list_runs()]
    assert kinds == ["reboot", "start", "poweroff"]


async def test_live_migration_with_progress(session: Session) -> None:
    backend = session.clusters[0].backend
    reports: list[MigrationProgress] = []
    await backend.migrate("tiny-a", "h2", reports.append)
    done = reports[-1]
    assert done.downtime_ms is not None
    assert done.memory_total_bytes > 0
    vm = await backend.vm_info("tiny-a")
    assert (vm.host, vm.power) == ("h2", PowerState.RUNNING)
    polled = {v.name for v in (await backend.poll_host("h1")).vms}
    assert "tiny-a" not in polled  # on exactly one host
    await backend.migrate("tiny-a", "h1")
    assert (await backend.vm_info("tiny-a")).host == "h1"


async def test_maintenance_of_a_host(session: Session) -> None:
    """Blocked by its pinned VM, allowed once that one is off; the others live-migrate;
    leaving brings them back."""
    cluster = session.clusters[0]
    backend = cluster.backend
    await backend.set_placement("tiny-a", Placement.AUTO, None)
    await backend.set_placement("tiny-f", Placement.FAILOVER, "h1")
    await backend.set_placement("tiny-p", Placement.PINNED, "h1")
    await poll_once(cluster)

    plan = cluster.maintenance.plan_enter("h1")
    fates = {a.vm.name: type(a) for a in plan.actions}
    assert fates == {"tiny-a": LiveMigrate, "tiny-f": LiveMigrate, "tiny-p": Blocked}
    assert not plan.can_enter

    off = cluster.create_power_run(await backend.vm_info("tiny-p"), PowerAction.POWEROFF)
    assert (await cluster.execute(off.id)).state is RunState.DONE
    await poll_once(cluster)
    plan = cluster.maintenance.plan_enter("h1")
    assert plan.can_enter
    assert {type(a) for a in plan.actions} == {LiveMigrate, Stay}
    run = cluster.maintenance.create_enter_run(plan)
    done = await cluster.execute(run.id)
    assert done.state is RunState.DONE, done.error
    await poll_once(cluster)
    snap = cluster.snapshot()
    assert next(h.state for h in snap.hosts if h.name == "h1") is HostState.MAINTENANCE
    where = {v.name: (v.host, v.power) for v in snap.vms}
    assert where["tiny-p"] == ("h1", PowerState.SHUTOFF)
    for name in ("tiny-a", "tiny-f"):
        host, power = where[name]
        assert host in ("h2", "h3")
        assert power is PowerState.RUNNING
    log = [line.text for line in session.store.log(run.id)]
    assert any("downtime" in line for line in log)

    leave = cluster.maintenance.create_leave_run("h1", cluster.maintenance.plan_leave("h1"))
    assert (await cluster.execute(leave.id)).state is RunState.DONE
    await poll_once(cluster)
    snap = cluster.snapshot()
    assert next(h.state for h in snap.hosts if h.name == "h1") is HostState.ONLINE
    assert {v.name for v in snap.vms if v.host == "h1"} >= {"tiny-a", "tiny-f"}
    start = cluster.create_power_run(await backend.vm_info("tiny-p"), PowerAction.START)
    assert (await cluster.execute(start.id)).state is RunState.DONE
