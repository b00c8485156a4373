"""For the provisioning lab tests: run a tiny VM whose disk is an RBD image of a Ceph cluster
mvm-tui provisioned, through the libvirt secret of client.libvirt that provisioning defined, or
any other disk; and `cluster create` with its output."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Sequence
from pathlib import Path

from mvm_tui import lab
from mvm_tui.cluster_cli import create_cluster
from mvm_tui.lab.guests import guest_xml
from mvm_tui.lab.netns import hx

VIRSH = ("virsh", "-q", "-c", "qemu:///system")


async def cluster_create(source: Path, config: Path) -> tuple[int, str]:
    """`mvm-tui cluster create --from SOURCE --config CONFIG`: its exit status and output (the
    runs database beside CONFIG)."""
    out = io.StringIO()
    code = await create_cluster(source, config, out=out, db_path=config.parent / "r.sqlite3")
    return code, out.getvalue()


def sh(index: int, *cmd: str, input: str | None = None) -> str:
    return subprocess.run(hx(index, *cmd), capture_output=True, text=True, timeout=120,
                          check=True, input=input).stdout


def run_vm_on_rbd(name: str, on: lab.LabHost, mons: Sequence[lab.LabHost], tmp: Path) -> str:
    """Create the image vms/NAME, define and start the VM on `on`; its state afterwards."""
    secret = sh(on.index, *VIRSH, "secret-list").split()[0]
    sh(mons[0].index, "rbd", "create", f"vms/{name}", "--size", "64M")
    hosts = "".join(f"<host name='{h.address}' port='6789'/>" for h in mons)
    disk = ("<disk type='network' device='disk'><driver name='qemu' type='raw' cache='none'/>"
            f"<source protocol='rbd' name='vms/{name}'>{hosts}</source>"
            f"<auth username='libvirt'><secret type='ceph' uuid='{secret}'/></auth>"
            "<target dev='vda' bus='virtio'/></disk>")
    return run_vm_with_disk(name, on, disk, tmp)


def run_vm_with_disk(name: str, on: lab.LabHost, disk: str, tmp: Path) -> str:
    """Define and start the tiny VM NAME on `on` with the <disk> element `disk`; its state."""
    xml = guest_xml(name, "nodisk").replace("<devices>", "<devices>" + disk, 1)
    del tmp  # the host does not see the jump box's files: the XML goes on stdin
    sh(on.index, *VIRSH, "define", "/dev/stdin", input=xml)
    sh(on.index, *VIRSH, "start", name)
    return sh(on.index, *VIRSH, "domstate", name).strip()
