"""The CPU models libvirt knows, from its own CPU map on this machine: the Add Cluster wizard
offers them before the hosts have libvirt (whether a host can run one is checked by the
preflight and by provisioning). libvirt's test driver reads the map: no daemon is needed."""

from __future__ import annotations

import libvirt  # type: ignore[import-untyped]

from mvm_tui.backends.libvirt.events import quiet_errors


def cpu_model_names(arch: str = "x86_64") -> list[str]:
    """The named models for `arch`, sorted (case aside); none when libvirt cannot say."""
    quiet_errors()
    try:
        conn = libvirt.open("test:///default")
    except libvirt.libvirtError:
        return []
    try:
        names = conn.getCPUModelNames(arch)
    except libvirt.libvirtError:
        return []
    finally:
        conn.close()
    return sorted({str(n) for n in names or ()}, key=lambda n: (n.lower(), n))
