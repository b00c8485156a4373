"""What quitting says about HA: nothing when this HA is not the active one; with a lease, that
it is released on quitting and who may take over."""

from __future__ import annotations

from mvm_tui.services.ha_quit import quit_notice
from mvm_tui.services.ha_status import HaStatus


def status(active: bool) -> HaStatus:
    return HaStatus("prod", active, None if active else "pid 7 on jb2", {}, (), {})


LOCK = "it holds the lease, RADOS lock vms/mvm-tui-ha.prod (lease 30 s)"


def test_a_standby_says_nothing() -> None:
    assert quit_notice(status(False), LOCK, leased=True, lease_s=30, standby="active") is None


def test_with_a_lease_and_a_standby_on_this_jump_box() -> None:
    text = quit_notice(status(True), LOCK, leased=True, lease_s=30, standby="active")
    assert text == (
        "HA of cluster prod stops here: this process is the active HA service (it holds the "
        "lease, RADOS lock vms/mvm-tui-ha.prod (lease 30 s)). The headless HA service of this "
        "jump box (mvm-tui-ha.service, active) takes over once it has the lease: it is "
        "released on quitting (or lapses within 30 s).")


def test_with_a_lease_and_no_standby_here() -> None:
    text = quit_notice(status(True), LOCK, leased=True, lease_s=30, standby="inactive")
    assert text is not None
    assert "Standby: no headless HA service runs on this jump box; an HA service on another " \
           "jump box, if one runs, takes over once it has the lease" in text
