"""A device detached from a running VM, confirmed by libvirt's device-removed event: a detach
request only asks the guest (ACPI unplug), which may let the device go later or never; the
event says qemu has released it (so its RBD image can go to the trash)."""

from __future__ import annotations

import threading
from typing import Any

import libvirt  # type: ignore[import-untyped]


def detach_confirmed(conn: Any, vm: str, xml: str, alias: str, timeout: float) -> bool:
    """Detach `xml` from the running VM and its definition; whether the device-removed event
    for `alias` came within `timeout` s. On the connection's worker (LibvirtCalls.run)."""
    dom = conn.lookupByName(vm)
    removed = threading.Event()

    def on_removed(_conn: Any, _dom: Any, dev_alias: str, _opaque: object) -> None:
        if dev_alias == alias:  # (libvirt's event thread: nothing is called on a libvirt object)
            removed.set()

    callback = conn.domainEventRegisterAny(
        dom, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, on_removed, None)
    try:
        flags = libvirt.VIR_DOMAIN_AFFECT_LIVE
        if dom.isPersistent() == 1:
            flags |= libvirt.VIR_DOMAIN_AFFECT_CONFIG
        dom.detachDeviceFlags(xml, flags)
        return removed.wait(timeout)
    finally:
        conn.domainEventDeregisterAny(callback)
