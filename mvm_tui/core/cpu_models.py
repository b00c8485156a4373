"""The CPU models libvirt can give VMs on a host, read from `virsh domcapabilities`, and the
check that the cluster's model is one of them. Pure: the command runs elsewhere (services.
preflight; provision/kvm.sh checks the same once KVM is installed).

    <domainCapabilities>
      <cpu>
        <mode name='host-passthrough' supported='yes'/>
        <mode name='host-model' supported='yes'>...</mode>
        <mode name='custom' supported='yes'>
          <model usable='yes' vendor='AMD'>EPYC-Rome</model>
          <model usable='no' vendor='Intel'>Skylake-Server</model>
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence

from mvm_tui.core.preflight import Item
from mvm_tui.units import count, is_are

CHECK = "CPU model"
HOST_MODEL = "host-model"
HOST_PASSTHROUGH = "host-passthrough"
MODES = (HOST_MODEL, HOST_PASSTHROUGH)
SHOWN = 8  # models named in a failure's fix
# `sudo virsh` says "command not found" with status 1, like any other failure: 127 tells apart
NOT_INSTALLED = 127
DOMCAPS_CMD = ["sh", "-c", f"command -v virsh >/dev/null 2>&1 || exit {NOT_INSTALLED}; "
               "exec virsh -c qemu:///system domcapabilities --arch x86_64 --virttype kvm"]
LATER = "provisioning checks it again once KVM and libvirt are installed"


def ordered(models: Iterable[str]) -> tuple[str, ...]:
    """host-model, host-passthrough, then the named models sorted (case aside), once each."""
    names = set(models)
    named = sorted(names - set(MODES), key=lambda n: (n.lower(), n))
    return (*(m for m in MODES if m in names), *named)


def usable_models(domcaps_xml: str) -> tuple[str, ...]:
    """The models usable on the host: each supported mode of MODES, and each named model that
    is usable. Raises ValueError when the text is not libvirt's domain capabilities."""
    try:
        root = ET.fromstring(domcaps_xml)
    except ET.ParseError as exc:
        raise ValueError(f"not XML ({exc})") from None
    if root.tag != "domainCapabilities":
        raise ValueError(f"<{root.tag}> is not libvirt's <domainCapabilities>")
    found: list[str] = []
    for mode in root.findall("./cpu/mode"):
        if mode.get("supported") != "yes":
            continue
        name = mode.get("name", "")
        if name in MODES:
            found.append(name)
        elif name == "custom":
            found += [(m.text or "").strip() for m in mode.findall("model")
                      if m.get("usable") == "yes"]
    return ordered(f for f in found if f)


def usable_on_all(hosts: Iterable[Iterable[str]]) -> tuple[str, ...]:
    """The models usable on every host (none for no host)."""
    sets = [set(h) for h in hosts]
    return ordered(set.intersection(*sets)) if sets else ()


def _some(models: Sequence[str]) -> str:
    more = f" and {len(models) - SHOWN} more" if len(models) > SHOWN else ""
    return ", ".join(models[:SHOWN]) + more


def check_cpu_model(model: str, usable: Sequence[str],
                    everywhere: Sequence[str] | None = None) -> Item:
    """`model` against the models usable on one host. The fix names models usable here, or,
    given `everywhere` (the models usable on all the hosts checked), those."""
    if model in usable:
        n = len(usable)
        return Item(CHECK, "ok", f"{model} is usable here ({count(n, 'model')} {is_are(n)})")
    choices, where = (usable, "on this host") if everywhere is None else (
        everywhere, "on every host")
    fix = (f"choose a model usable {where}: {_some(choices)}" if choices else
           f"libvirt reports no CPU model usable {where}: check that KVM works there")
    return Item(CHECK, "fail", f"{model} is not usable on this host (virsh domcapabilities)", fix)


def read_domcapabilities(exit_status: int, stdout: str, stderr: str) -> tuple[str, ...] | Item:
    """DOMCAPS_CMD's result: the models usable on the host, or the item to show when libvirt
    cannot tell. Not installed or not running yet is the rule before provisioning: not a
    failure."""
    if exit_status == NOT_INSTALLED:
        return Item(CHECK, "ok", "libvirt is not installed yet: checked after KVM is installed")
    if exit_status != 0 and "failed to connect" in stderr.lower():
        return Item(CHECK, "ok", "libvirt is not running yet: checked after KVM is installed")
    if exit_status != 0:
        last = (stderr.strip().splitlines() or [f"exit status {exit_status}"])[-1]
        return Item(CHECK, "warn", f"virsh domcapabilities failed: {last}", LATER)
    try:
        return usable_models(stdout)
    except ValueError as exc:
        return Item(CHECK, "warn", f"virsh domcapabilities: {exc}", LATER)
