"""Live migration between lab hosts as between real ones: a lab host sees nothing of the jump
box (its own /tmp; the lab directory hidden but for the shared storage), so the URI built for the
jump box, with its key path, fails on the source host as it does on a real hypervisor; the hosts'
own trust (each host's key, set up by `lab up` with provisioning's script) migrates; the
preflight of an existing cluster reports a missing trust with what to fix, and `cluster trust`
sets it up again; a migration meanwhile fails saying what to do."""

from __future__ import annotations

import io
import subprocess
import uuid
from pathlib import Path

import pytest

from mvm_tui import lab
from mvm_tui.backends.base import BackendError
from mvm_tui.backends.reach import libvirt_uri
from mvm_tui.backends.real import RealBackend
from mvm_tui.cluster_cli import trust_cluster
from mvm_tui.config import load_config
from mvm_tui.lab.netns import hx
from mvm_tui.lab.trust import set_up_trust
from mvm_tui.models import MigrationProgress, PowerState
from mvm_tui.services.preflight import trust_preflight
from mvm_tui.session import Session

pytestmark = pytest.mark.lab
VIRSH = ("virsh", "-q", "-c", "qemu:///system")


def on(host: lab.LabHost, *cmd: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(hx(host.index, *cmd), capture_output=True, text=True, timeout=120,
                          input=input)


def test_a_lab_host_sees_none_of_the_jump_box_files(lab_info: lab.LabInfo) -> None:
    h1 = lab_info.host("h1")
    mark = Path("/tmp") / f"mvm-trust-{uuid.uuid4().hex}"
    mark.write_text("jump box only\n")
    try:
        assert lab_info.key_file.exists()
        for path in (lab_info.key_file, lab_info.known_hosts, lab_info.config_path, mark):
            assert on(h1, "test", "-e", str(path)).returncode == 1, path
        assert on(h1, "test", "-d", str(lab_info.directory / "shared")).returncode == 0
        # root's ssh client on the host has no jump box key to fall back on either
        assert "IdentityFile" not in on(h1, "cat", "/etc/ssh/ssh_config").stdout
    finally:
        mark.unlink()


async def test_the_jump_box_uri_fails_and_the_hosts_own_trust_migrates(
    lab_session: Session, lab_info: lab.LabInfo
) -> None:
    h1, h2 = lab_info.host("h1"), lab_info.host("h2")
    lab.define_guest("h1", "trust-vm", "nodisk")
    try:
        cluster = load_config(lab_info.config_path).clusters[0]
        old = libvirt_uri(cluster, "h2", "libssh")  # what migrations used before: the jump box's
        assert f"keyfile={lab_info.key_file}" in old
        failed = on(h1, *VIRSH, "migrate", "--live", "--p2p", "--persistent", "--undefinesource",
                    "trust-vm", old)
        assert failed.returncode == 1
        assert "error while reading private key" in failed.stderr  # as on real hosts
        assert on(h1, *VIRSH, "domstate", "trust-vm").stdout.strip() == "running"

        backend = lab_session.clusters[0].backend
        assert isinstance(backend, RealBackend)
        reports: list[MigrationProgress] = []
        await backend.migrate("trust-vm", "h2", reports.append)
        assert reports[-1].dest == "h2"
        assert reports[-1].memory_remaining_bytes == 0
        moved = await backend.vm_info("trust-vm")
        assert (moved.host, moved.power) == ("h2", PowerState.RUNNING)
        assert "trust-vm" not in on(h1, *VIRSH, "list", "--all", "--name").stdout.split()
        command = backend.migrate_commands(moved, "h1")[0]  # what the preview shows
        assert "/var/lib/mvm-tui/migration/id_ed25519" in command
        assert str(lab_info.directory) not in command.split(" migrate ", 1)[1]
    finally:
        for h in (h1, h2):
            on(h, *VIRSH, "destroy", "trust-vm")
            on(h, *VIRSH, "undefine", "trust-vm")


async def test_the_preflight_reports_a_missing_trust_and_cluster_trust_mends_it(
    lab_session: Session, lab_info: lab.LabInfo, tmp_path: Path
) -> None:
    h1, h2, h3 = (lab_info.host(n) for n in ("h1", "h2", "h3"))
    cluster = load_config(lab_info.config_path).clusters[0]
    lab.define_guest("h1", "trust-vm2", "nodisk")
    try:
        # h2 no longer authorizes h1's key; h1 no longer knows h3's host key
        on(h2, "sed", "-i", "/mvm-tui-migration@mvmlab-h1$/d", "/root/.ssh/authorized_keys")
        on(h1, "sed", "-i", f"/^{h3.address} /d", "/etc/ssh/ssh_known_hosts")
        reports = {r.host: r for r in await trust_preflight(cluster)}
        items = {(host, i.check): i for host, r in reports.items() for i in r.items}
        assert not reports["h1"].ok
        assert reports["h2"].ok
        assert reports["h3"].ok
        to_h2, to_h3 = items[("h1", "migration to h2")], items[("h1", "migration to h3")]
        assert to_h2.status == to_h3.status == "fail"
        assert "h1 cannot log in to root@10.213.0.12 for migration" in to_h2.detail
        assert "Permission denied (publickey)" in to_h2.detail
        assert "Host key verification failed" in to_h3.detail
        assert "mvm-tui cluster trust" in to_h2.fix
        assert items[("h3", "migration to h1")].status == "ok"

        # a migration then fails with what to do, and the VM runs where it was
        with pytest.raises(BackendError) as failed:
            await lab_session.clusters[0].backend.migrate("trust-vm2", "h2")
        assert "Permission denied (publickey)" in str(failed.value)
        assert "h1 cannot log in to h2 for a migration: set up the hosts' migration trust" in \
            str(failed.value)
        assert on(h1, *VIRSH, "domstate", "trust-vm2").stdout.strip() == "running"

        out = io.StringIO()  # --check changes nothing
        code = await trust_cluster(lab_info.config_path, None, check_only=True, out=out)
        assert code == 1
        assert "h1: NOT ready for migration" in out.getvalue()
        out = io.StringIO()
        code = await trust_cluster(lab_info.config_path, None, out=out,
                                   db_path=tmp_path / "runs.sqlite3")
        text = out.getvalue()
        assert code == 0, text
        assert "Migration trust between h1, h2, h3: done" in text, text
        assert "writing the peers' entries to /root/.ssh/authorized_keys" in text  # on h2
        assert all(f"{h}: ready for migration" in text for h in ("h1", "h2", "h3"))
        assert all(r.ok for r in await trust_preflight(cluster))
    finally:
        set_up_trust(lab_info)
        on(h1, *VIRSH, "destroy", "trust-vm2")
        on(h1, *VIRSH, "undefine", "trust-vm2")
