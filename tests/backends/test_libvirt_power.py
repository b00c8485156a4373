"""Power actions on libvirt's test driver: the state changes, and the errors for the others."""

from __future__ import annotations

import shlex
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mvm_tui.backends.base import InvalidState, NotFound
from mvm_tui.backends.libvirt import LibvirtHost, LibvirtNode
from mvm_tui.backends.libvirt.power import check_power, stop_reason
from mvm_tui.models import PowerAction, PowerState, StopReason

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "libvirt" / "node.xml"
URI = f"test://{FIXTURE}"


@pytest.fixture
async def node() -> AsyncIterator[LibvirtNode]:
    n = LibvirtNode(LibvirtHost("hv1", URI))
    yield n
    await n.close()


async def power_of(node: LibvirtNode, vm: str) -> PowerState:
    return (await node.vm_info(vm)).power


async def test_start_a_stopped_vm(node: LibvirtNode) -> None:
    assert await power_of(node, "db-01") is PowerState.SHUTOFF
    await node.power("db-01", PowerAction.START)
    assert await power_of(node, "db-01") is PowerState.RUNNING


async def test_shutdown_and_poweroff(node: LibvirtNode) -> None:
    await node.power("web-01", PowerAction.SHUTDOWN)  # the test driver's guests obey at once
    assert await power_of(node, "web-01") is PowerState.SHUTOFF
    await node.power("web-02", PowerAction.POWEROFF)
    assert await power_of(node, "web-02") is PowerState.SHUTOFF


async def test_why_a_vm_stopped_is_libvirts_state_reason(node: LibvirtNode) -> None:
    """virDomainState's reason: VIR_DOMAIN_SHUTOFF_SHUTDOWN after a shutdown the guest did,
    VIR_DOMAIN_SHUTOFF_DESTROYED after a power-off; none while it runs."""
    assert await node.stop_reason("web-01") is None
    await node.power("web-01", PowerAction.SHUTDOWN)
    assert await node.stop_reason("web-01") is StopReason.SHUTDOWN
    await node.power("web-02", PowerAction.POWEROFF)
    assert await node.stop_reason("web-02") is StopReason.DESTROYED
    with pytest.raises(NotFound):
        await node.stop_reason("no-such-vm")


@pytest.mark.parametrize(("state", "reason", "expected"), [
    (1, 1, None),  # running (booted)
    (4, 1, None),  # being shut down
    (5, 0, StopReason.UNKNOWN), (5, 1, StopReason.SHUTDOWN), (5, 2, StopReason.DESTROYED),
    (5, 3, StopReason.CRASHED), (5, 8, StopReason.DAEMON), (5, 99, StopReason.UNKNOWN),
    (6, 1, StopReason.CRASHED),  # crashed (panicked)
])
def test_stop_reasons(state: int, reason: int, expected: StopReason | None) -> None:
    assert stop_reason(state, reason) is expected


async def test_reboot_keeps_it_running(node: LibvirtNode) -> None:
    await node.power("web-01", PowerAction.REBOOT)
    assert await power_of(node, "web-01") is PowerState.RUNNING


async def test_start_a_running_vm(node: LibvirtNode) -> None:
    with pytest.raises(InvalidState, match=r"^web-01 is already running$"):
        await node.power("web-01", PowerAction.START)


@pytest.mark.parametrize("action", [PowerAction.SHUTDOWN, PowerAction.POWEROFF, PowerAction.REBOOT])
async def test_stopping_a_stopped_vm(node: LibvirtNode, action: PowerAction) -> None:
    with pytest.raises(InvalidState, match="db-01 is not running"):
        await node.power("db-01", action)
    assert await power_of(node, "db-01") is PowerState.SHUTOFF


@pytest.mark.parametrize("action", list(PowerAction))
async def test_unknown_vm(node: LibvirtNode, action: PowerAction) -> None:
    with pytest.raises(NotFound, match="nope"):
        await node.power("nope", action)


async def test_libvirts_own_operation_invalid_is_invalid_state(node: LibvirtNode) -> None:
    # without the state check first: the test driver refuses a reboot of a stopped domain
    # with VIR_ERR_OPERATION_INVALID
    def reboot(conn: object) -> None:
        conn.lookupByName("db-01").reboot(0)  # type: ignore[attr-defined]

    with pytest.raises(InvalidState, match=r"hv1: raw reboot: .*not running"):
        await node.host.run(reboot, "raw reboot")


async def test_paused_vm(node: LibvirtNode) -> None:
    def suspend(conn: object) -> None:
        conn.lookupByName("web-02").suspend()  # type: ignore[attr-defined]

    await node.host.run(suspend)
    assert await power_of(node, "web-02") is PowerState.PAUSED
    with pytest.raises(InvalidState, match="web-02 is paused"):
        await node.power("web-02", PowerAction.START)
    with pytest.raises(InvalidState, match="web-02 is paused"):
        await node.power("web-02", PowerAction.REBOOT)
    await node.power("web-02", PowerAction.POWEROFF)
    assert await power_of(node, "web-02") is PowerState.SHUTOFF


def test_the_rules_match_the_simulator() -> None:
    with pytest.raises(InvalidState, match="already shutting down"):
        check_power("x", PowerState.SHUTTING_DOWN, True, PowerAction.SHUTDOWN)
    check_power("x", PowerState.SHUTTING_DOWN, True, PowerAction.POWEROFF)
    check_power("x", PowerState.CRASHED, False, PowerAction.START)
    with pytest.raises(InvalidState, match="x is crashed"):
        check_power("x", PowerState.CRASHED, True, PowerAction.START)  # kept by on_crash


def test_power_commands(node: LibvirtNode) -> None:
    verbs = {a: shlex.split(node.power_commands("web-01", a)[0]) for a in PowerAction}
    for action, verb in [
        (PowerAction.START, "start"),
        (PowerAction.SHUTDOWN, "shutdown"),
        (PowerAction.POWEROFF, "destroy"),
        (PowerAction.REBOOT, "reboot"),
    ]:
        assert verbs[action] == ["virsh", "-c", URI, verb, "web-01"]
