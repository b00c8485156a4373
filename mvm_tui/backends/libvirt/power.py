"""Power actions on a domain, and the virsh commands that do the same (for the previews).

start -> dom.create(), shutdown -> dom.shutdown() (ACPI, the guest decides),
poweroff -> dom.destroy() (hard stop), reboot -> dom.reboot().

The state is checked first, with the same rules (and messages) as the simulator, so an
action that does not apply raises InvalidState on every driver: libvirt's own answer differs
between drivers (the test driver says "internal error" where QEMU says "operation invalid").
"""

from __future__ import annotations

import shlex
from typing import Any

from mvm_tui.backends.base import InvalidState
from mvm_tui.backends.libvirt.inventory import power_state
from mvm_tui.backends.libvirt.uri import quote_uri
from mvm_tui.models import PowerAction, PowerState, StopReason

# virDomainState's reason for VIR_DOMAIN_SHUTOFF (5): VIR_DOMAIN_SHUTOFF_UNKNOWN (0), SHUTDOWN
# (1), DESTROYED (2), CRASHED (3), MIGRATED (4), SAVED (5), FAILED (6), FROM_SNAPSHOT (7),
# DAEMON (8); a domain in state VIR_DOMAIN_CRASHED (6) crashed.
VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_CRASHED = 5, 6
SHUTOFF_REASONS = (
    StopReason.UNKNOWN, StopReason.SHUTDOWN, StopReason.DESTROYED, StopReason.CRASHED,
    StopReason.MIGRATED, StopReason.SAVED, StopReason.FAILED, StopReason.FROM_SNAPSHOT,
    StopReason.DAEMON,
)

VIRSH_VERB = {
    PowerAction.START: "start",
    PowerAction.SHUTDOWN: "shutdown",
    PowerAction.POWEROFF: "destroy",
    PowerAction.REBOOT: "reboot",
}


def power_commands(uri: str, vm: str, action: PowerAction) -> list[str]:
    """What the action amounts to, as a command an operator could run:
    virsh -c 'qemu+ssh://root@10.0.0.11/system?...' shutdown web-01"""
    verb = VIRSH_VERB[PowerAction(action)]
    return [f"virsh -c {quote_uri(uri)} {shlex.quote(verb)} {shlex.quote(vm)}"]


def check_power(name: str, power: PowerState, active: bool, action: PowerAction) -> None:
    """Raise InvalidState when `action` does not apply to a domain in this state."""
    if action is PowerAction.START:
        if power is PowerState.RUNNING:
            raise InvalidState(f"{name} is already running")
        if active:
            raise InvalidState(f"{name} is {power.value}")
        return
    if not active:
        raise InvalidState(f"{name} is not running")
    if action is PowerAction.SHUTDOWN and power is PowerState.SHUTTING_DOWN:
        raise InvalidState(f"{name} is already shutting down")
    if action is PowerAction.REBOOT and power is not PowerState.RUNNING:
        raise InvalidState(f"{name} is {power.value}")


def apply_power(conn: Any, name: str, action: PowerAction) -> None:
    """Look the domain up, check the action applies, ask for it. Blocking: returns once
    libvirtd accepted it (a shutdown is then under way, not done)."""
    dom = conn.lookupByName(name)
    state = int(dom.state()[0])
    check_power(name, power_state(state), dom.isActive() == 1, action)
    if action is PowerAction.START:
        dom.create()
    elif action is PowerAction.SHUTDOWN:
        dom.shutdown()
    elif action is PowerAction.POWEROFF:
        dom.destroy()
    else:
        dom.reboot(0)


def stop_reason(state: int, reason: int) -> StopReason | None:
    """Why a domain in this virDomainState (with its reason) is not running; None while it
    runs (or is paused, or shutting down)."""
    if state == VIR_DOMAIN_CRASHED:
        return StopReason.CRASHED
    if state != VIR_DOMAIN_SHUTOFF:
        return None
    return SHUTOFF_REASONS[reason] if 0 <= reason < len(SHUTOFF_REASONS) else StopReason.UNKNOWN


def read_stop_reason(conn: Any, name: str) -> StopReason | None:
    """The domain's stop reason, read from its state now. Blocking."""
    state, reason = (int(x) for x in conn.lookupByName(name).state()[:2])
    return stop_reason(state, reason)
