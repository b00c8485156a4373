"""Maintenance of a real lab host with auto, failover and pinned VMs: blocked by the pinned
one, allowed once it is off; the others live-migrate; leaving brings them back."""

from __future__ import annotations

import pytest

from mvm_tui.core.maintenance import Blocked, LiveMigrate, Stay
from mvm_tui.models import HostState, Placement, PowerAction, PowerState
from mvm_tui.runs import RunState
from mvm_tui.session import Session, poll_once

pytestmark = pytest.mark.lab


async def test_maintenance_of_a_lab_host(lab_session: Session) -> None:
    cluster = lab_session.clusters[0]
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
    log = [line.text for line in lab_session.store.log(run.id)]
    assert any("downtime" in line for line in log)

    leave = cluster.maintenance.create_leave_run("h1", cluster.maintenance.plan_leave("h1"))
    assert (await cluster.execute(leave.id)).state is RunState.DONE
    await poll_once(cluster)
    snap = cluster.snapshot()
    assert next(h.state for h in snap.hosts if h.name == "h1") is HostState.ONLINE
    assert {v.name for v in snap.vms if v.host == "h1"} >= {"tiny-a", "tiny-f"}
    start = cluster.create_power_run(await backend.vm_info("tiny-p"), PowerAction.START)
    assert (await cluster.execute(start.id)).state is RunState.DONE
