"""Preflight of a host before it becomes a hypervisor: each check from a command's raw output,
with what to fix when it fails. Pure: the commands are run elsewhere (services.preflight).

    cat /etc/os-release                      the OS (anything but Ubuntu 22.04: a warning)
    grep -c -w -E 'vmx|svm' /proc/cpuinfo; test -c /dev/kvm && echo kvm
                                             CPU virtualisation (VT-x / AMD-V, or KVM
                                             already usable: a nested guest may hide the flags)
    cat /proc/meminfo                        4 GB plus 4 GB per Ceph disk
    lsblk -J -b -o NAME,PATH,TYPE,SIZE,MOUNTPOINT,FSTYPE DEVICE   each data device: exists,
                                             unused (no partition, filesystem or mount), not
                                             the OS disk
    ip -j link                               the interfaces exist
    ip -j addr                               the address the host is reached on is static
    timeout 5 bash -c 'exec 3<>/dev/tcp/ADDRESS/PORT'   external storage: the NFS server or
                                             the iSCSI portal answers from this host
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from mvm_tui.units import count

Status = Literal["ok", "warn", "fail"]
GB = 1024**3
MIN_MEMORY_GB = 4
PER_OSD_GB = 4
VIRT_CMD = ["sh", "-c", "grep -c -w -E 'vmx|svm' /proc/cpuinfo; test -c /dev/kvm && echo kvm"]
LSBLK_COLUMNS = "NAME,PATH,TYPE,SIZE,MOUNTPOINT,FSTYPE"


@dataclass(frozen=True)
class Item:
    check: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "fail"


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def check_os(os_release: str) -> Item:
    fields = dict(line.split("=", 1) for line in os_release.splitlines() if "=" in line)
    name = fields.get("PRETTY_NAME", "").strip('"') or "unknown"
    ok = fields.get("ID", "").strip('"') == "ubuntu" and \
        fields.get("VERSION_ID", "").strip('"') == "22.04"
    if ok:
        return Item("operating system", "ok", name)
    return Item("operating system", "warn", f"{name}: mvm-tui is made for Ubuntu 22.04",
                "use Ubuntu 22.04 LTS; on another OS package names and services may differ")


def check_virtualisation(output: str) -> Item:
    """VIRT_CMD's output: the number of CPUs with vmx/svm, then "kvm" when /dev/kvm exists."""
    lines = output.split()
    try:
        n = int(lines[0]) if lines else 0
    except ValueError:
        n = 0
    if n > 0:
        return Item("CPU virtualisation", "ok", f"VT-x / AMD-V on {count(n, 'CPU')}")
    if "kvm" in lines:
        return Item("CPU virtualisation", "ok", "/dev/kvm is there (the CPU flags are hidden, "
                    "as in a nested guest)")
    return Item("CPU virtualisation", "fail", "the CPU shows neither vmx (VT-x) nor svm (AMD-V)",
                "enable virtualisation (VT-x / AMD-V) in the BIOS or UEFI setup")


def check_memory(meminfo: str, osd_disks: int) -> Item:
    kb = next((int(line.split()[1]) for line in meminfo.splitlines()
               if line.startswith("MemTotal:")), 0)
    have = kb * 1024 / GB
    need = MIN_MEMORY_GB + PER_OSD_GB * osd_disks
    detail = f"{have:.1f} GB (needs {need} GB: {MIN_MEMORY_GB} + {PER_OSD_GB} per Ceph disk)"
    if have + 0.25 >= need:  # the kernel keeps a little for itself
        return Item("memory", "ok", detail)
    return Item("memory", "fail", detail, "add memory, or use fewer Ceph disks on this host")


def _tree(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("children") or ():
        yield from _tree(child)


def check_device(device: str, lsblk_json: str, exit_status: int = 0) -> Item:
    """`lsblk -J -b -o LSBLK_COLUMNS DEVICE` (exit 32: not a block device)."""
    what = f"data device {device}"
    doc = _json(lsblk_json)
    nodes = doc.get("blockdevices") if isinstance(doc, dict) else None
    if exit_status != 0 or not nodes:
        return Item(what, "fail", "does not exist (not a block device)",
                    "check the device name with lsblk on the host")
    top = nodes[0]
    everything = list(_tree(top))
    if any(n.get("mountpoint") == "/" for n in everything):
        return Item(what, "fail", "is the OS disk (/ is mounted from it)",
                    "choose an empty disk: Ceph wipes it")
    if top.get("fstype") == "ceph_bluestore" and len(everything) == 1:
        return Item(what, "ok", "already a Ceph OSD (bluestore): provisioning keeps it")
    mounted = [f"{n.get('path')} on {n.get('mountpoint')}" for n in everything
               if n.get("mountpoint")]
    used = [f"{n.get('path')} ({n.get('fstype')})" for n in everything if n.get("fstype")]
    parts = [str(n.get("path")) for n in everything[1:] if n.get("type") == "part"]
    if mounted or used or parts:
        why = "; ".join(filter(None, [
            "mounted: " + ", ".join(mounted) if mounted else "",
            "has a filesystem or signature: " + ", ".join(used) if used else "",
            "has partitions: " + ", ".join(parts) if parts else ""]))
        return Item(what, "fail", f"is in use: {why}",
                    "choose an unused disk, or wipe it by hand (wipefs -a) if it holds nothing")
    size = int(top.get("size") or 0) / GB
    return Item(what, "ok", f"{top.get('path')}, {top.get('type')}, {size:.1f} GB, unused")


def check_interfaces(ip_link_json: str, names: Sequence[str]) -> list[Item]:
    links = _json(ip_link_json)
    have = {str(link.get("ifname")): link for link in links or () if isinstance(link, dict)}
    out = []
    for name in dict.fromkeys(names):
        link = have.get(name)
        if link is None:
            out.append(Item(f"interface {name}", "fail", "does not exist",
                            f"the host has: {', '.join(sorted(have)) or 'no interface'}"))
        else:
            out.append(Item(f"interface {name}", "ok", f"{link.get('operstate', '?')}, "
                            f"mtu {link.get('mtu', '?')}"))
    return out


def check_static_address(ip_addr_json: str, address: str) -> Item:
    """The address mvm-tui reaches the host on must be configured statically (a DHCP lease
    shows "dynamic": a renumbered host would drop out of the cluster)."""
    what = "static address"
    for link in _json(ip_addr_json) or ():
        for a in link.get("addr_info") or ():
            if a.get("local") != address:
                continue
            if a.get("dynamic"):
                return Item(what, "fail", f"{address} on {link.get('ifname')} is from DHCP",
                            "configure it statically (netplan) so it never changes")
            return Item(what, "ok", f"{address} on {link.get('ifname')}")
    return Item(what, "warn", f"{address} is not on the host itself (NAT or a DNS name?)",
                "make sure the host keeps this address")


DATASTORE_TIMEOUT = 5


def datastore_cmd(address: str, port: int) -> list[str]:
    """Open a TCP connection to the datastore's server from the host (bash's /dev/tcp; nothing
    is sent). The address and port are arguments, never part of the script."""
    return ["timeout", str(DATASTORE_TIMEOUT), "bash", "-c", 'exec 3<>"/dev/tcp/$0/$1"',
            address, str(port)]


def check_datastore(what: str, address: str, port: int, exit_status: int,
                    stderr: str) -> Item:
    """datastore_cmd's result: `what` is "NFS server" or "iSCSI portal"."""
    check = f"{what} {address}:{port}"
    if exit_status == 0:
        return Item(check, "ok", "answers from this host")
    if exit_status == 124:
        why = f"no answer within {DATASTORE_TIMEOUT} s"
    else:
        # bash: "ADDRESS: line 1: /dev/tcp/ADDRESS/PORT: Connection refused"
        why = (stderr.strip().splitlines() or ["cannot connect"])[-1].rsplit(": ", 1)[-1]
    return Item(check, "fail", f"cannot be reached from this host: {why}",
                f"check the address, that the {what} runs and listens on port {port}, and that "
                "the storage network routes to it (and no firewall drops it)")
