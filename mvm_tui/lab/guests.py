"""Tiny test guests for the lab hosts, from the recipe's domain XML.

Kinds (GUEST_KINDS):
  nodisk      64 MiB BIOS-only guest, KVM, no disk (0.5 s to start, ~41 MB RSS); ignores ACPI
              shutdown, so use it for start/destroy/migrate, not for graceful stop.
  nodisk-tcg  the same under TCG.
  qcow2       BIOS guest, KVM, a 64 MiB qcow2 on the shared directory $MVM_LAB_DIR/shared (every
              host sees it; libvirt cannot tell it is shared: migrations need --unsafe).
  rbd         BIOS guest, KVM, a 64 MiB raw disk in the Ceph pool "vms" (libvirt network disk,
              cephx secret defined on every host): shared storage for real.
  linux       128 MiB real Linux (Debian cloud kernel + busybox initramfs with acpid and the
              virtio balloon driver: libvirt reports its own memory use) under TCG
              (Linux hangs in early boot under this machine's nested KVM); boots in ~3 s and
              powers off on `virsh shutdown`. Built once by make_linux_guest() (~5-10 s).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mvm_tui.lab import netns as net
from mvm_tui.lab.model import SCRIPTS, LabError, LabInfo, current, lab_dir, require_root, run

GUEST_KINDS = ("nodisk", "nodisk-tcg", "qcow2", "rbd", "linux")
SECRET_UUID = "6d7e1d3a-3c2f-4a34-9d0e-6d766c61622e"  # libvirt secret for client.admin
LIBVIRT_SECRET_UUID = "0b5a1c1e-44d3-4c1e-9a7a-5f6c1b7e2d10"  # for client.libvirt
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


def cache_dir() -> Path:
    """$MVM_LAB_DIR/cache: kept by `down` (the guest kernel)."""
    return lab_dir() / "cache"


def shared_dir() -> Path:
    """$MVM_LAB_DIR/shared: storage every lab host sees at the same path."""
    return lab_dir() / "shared"


def make_linux_guest() -> Path:
    """Build (once) the Linux guest's kernel and initramfs into cache_dir(); returns it."""
    require_root()
    out = cache_dir()
    out.mkdir(parents=True, exist_ok=True)
    run(["bash", SCRIPTS / "make-guest.sh"], env={"OUT": str(out)}, timeout=600,
        log=lab_dir() / "lab.log")
    return out


CLOUD_IMAGE = "debian-12-cloud.qcow2"


def make_cloud_image() -> Path:
    """Build (once) a Debian 12 cloud image (cloud-init, qemu guest agent, sshd) from Debian
    packages into cache_dir(); returns its path."""
    require_root()
    out = cache_dir()
    out.mkdir(parents=True, exist_ok=True)
    run(["bash", SCRIPTS / "make-cloud-image.sh"], env={"OUT": str(out)}, timeout=1200,
        log=lab_dir() / "lab.log")
    return out / CLOUD_IMAGE


def _disk_xml(kind: str, name: str, info: LabInfo) -> str:
    if kind == "qcow2":
        return (f"<disk type='file' device='disk'><driver name='qemu' type='qcow2' "
                f"cache='none'/><source file='{shared_dir() / name}.qcow2'/>"
                "<target dev='vda' bus='virtio'/></disk>")
    hosts = "".join(f"<host name='{h.address}' port='6789'/>" for h in info.hosts)
    return (f"<disk type='network' device='disk'><driver name='qemu' type='raw' cache='none'/>"
            f"<source protocol='rbd' name='{info.pool}/{name}'>{hosts}</source>"
            f"<auth username='admin'><secret type='ceph' uuid='{SECRET_UUID}'/></auth>"
            "<target dev='vda' bus='virtio'/></disk>")


def guest_xml(name: str, kind: str = "nodisk", info: LabInfo | None = None) -> str:
    """The libvirt domain XML of a tiny guest called `name`."""
    if not _NAME.fullmatch(name):
        raise LabError(f"bad guest name {name!r}: letters, digits, '.', '_', '-'")
    if kind not in GUEST_KINDS:
        raise LabError(f"unknown guest kind {kind!r}: one of {', '.join(GUEST_KINDS)}")
    if kind.startswith("nodisk"):
        text = (SCRIPTS / "tiny-vm-nodisk.xml").read_text()
        text = text.replace("VIRTTYPE", "qemu" if kind == "nodisk-tcg" else "kvm")
    elif kind == "linux":
        text = (SCRIPTS / "tiny-linux-vm.xml").read_text().replace("GUESTDIR", str(cache_dir()))
    else:
        info = info or current()
        if info is None or (kind == "rbd" and not info.ceph):
            need = " with Ceph" if kind == "rbd" else ""
            raise LabError(f"a {kind} guest needs a lab that is up{need}")
        text = (SCRIPTS / "tiny-vm.xml").read_text().replace("DISK", _disk_xml(kind, name, info))
    return text.replace("VMNAME", name)


def _ceph_secret(info: LabInfo, log: Path) -> None:
    """The cephx key of client.admin as libvirt secret SECRET_UUID on every host."""
    key = run(net.hx(info.hosts[0].index, "ceph", "auth", "get-key", "client.admin"),
              log=log).stdout.strip()
    xml = (f"<secret ephemeral='no' private='no'><uuid>{SECRET_UUID}</uuid>"
           "<usage type='ceph'><name>client.admin secret</name></usage></secret>")
    virsh = ["virsh", "-q", "-c", "qemu:///system"]
    for h in info.hosts:  # the XML on stdin: a host does not see the lab directory
        if not net.anchor_alive(h.index):
            continue
        run(net.hx(h.index, *virsh, "secret-define", "/dev/stdin"), log=log, input=xml)
        run(net.hx(h.index, *virsh, "secret-set-value", SECRET_UUID, "--base64", key), log=log)


def libvirt_ceph_user(info: LabInfo, log: Path) -> None:
    """What mvm-tui's Ceph provisioning gives every host (services/ceph_libvirt.py), so VMs
    mvm-tui creates reach RBD as in production: the cephx user client.libvirt (RBD on the
    pool only) and its key as a libvirt secret named "client.libvirt secret"."""
    key = run(net.hx(info.hosts[0].index, "ceph", "auth", "get-or-create-key", "client.libvirt",
                     "mon", "profile rbd", "osd", f"profile rbd pool={info.pool}"),
              log=log).stdout.strip()
    xml = (f"<secret ephemeral='no' private='yes'><uuid>{LIBVIRT_SECRET_UUID}</uuid><usage "
           "type='ceph'><name>client.libvirt secret</name></usage></secret>")
    virsh = ["virsh", "-q", "-c", "qemu:///system"]
    for h in info.hosts:
        if not net.anchor_alive(h.index):
            continue
        run(net.hx(h.index, *virsh, "secret-define", "/dev/stdin"), log=log, input=xml)
        run(net.hx(h.index, *virsh, "secret-set-value", LIBVIRT_SECRET_UUID, "--file",
                   "/dev/stdin"), log=log, input=key)


def define_guest(host: str, name: str, kind: str = "nodisk", start: bool = True) -> str:
    """Create the guest's disk if it has one, define it on lab host `host` (h1, ...) and start
    it; returns the domain XML. Runs in the host's namespaces (no SSH needed)."""
    require_root()
    info = current()
    if info is None:
        raise LabError("no lab is up: run `python -m mvm_tui.lab up` first")
    h, log = info.host(host), lab_dir() / "lab.log"
    if kind == "linux":
        make_linux_guest()
    xml = guest_xml(name, kind, info)
    if kind == "qcow2":
        shared_dir().mkdir(exist_ok=True)
        run(["qemu-img", "create", "-q", "-f", "qcow2", shared_dir() / f"{name}.qcow2", "64M"],
            log=log)
    elif kind == "rbd":
        _ceph_secret(info, log)
        run(net.hx(h.index, "rbd", "create", f"{info.pool}/{name}", "--size", "64M"), log=log)
    shared_dir().mkdir(exist_ok=True)
    path = shared_dir() / f"{name}.xml"
    path.write_text(xml)
    virsh = ["virsh", "-q", "-c", "qemu:///system"]
    run(net.hx(h.index, *virsh, "define", path), log=log)
    if start:
        run(net.hx(h.index, *virsh, "start", name), timeout=120, log=log)
    guests = [g for g in defined_guests() if g["name"] != name]
    guests.append({"host": h.name, "name": name, "kind": kind, "start": start})
    (lab_dir() / "guests.json").write_text(json.dumps(guests, indent=1))
    return xml


def defined_guests() -> list[dict[str, Any]]:
    """The guests define_guest() made that are still defined, on the host that has them now:
    [{host, name, kind, start}], start = running now. define_guest(**g) makes one again."""
    try:
        made = json.loads((lab_dir() / "guests.json").read_text())
    except (OSError, ValueError):
        return []
    info = current()
    if info is None or not isinstance(made, list):
        return []
    where: dict[str, tuple[str, bool]] = {}
    for h in info.hosts:
        if not net.anchor_alive(h.index):
            continue
        for running, flag in ((False, "--all"), (True, "--state-running")):
            out = run(net.hx(h.index, "virsh", "-q", "-c", "qemu:///system", "list", "--name",
                             flag), check=False).stdout
            for name in out.split():
                where[name] = (h.name, running)
    return [{**g, "host": where[g["name"]][0], "start": where[g["name"]][1]}
            for g in made if g.get("name") in where]
