"""A lab host reached through another lab host as its proxy_jump bastion, with its own
known_hosts file (the cluster's is empty): the targets come from backends.reach, so the
preflight logs in through the bastion and checks both keys in the host's own file; and its
libvirt is reached through the bastion too (a socket forwarded over its SSH connection)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvm_tui import lab
from mvm_tui.backends.reach import ssh_target
from mvm_tui.backends.real import RealBackend
from mvm_tui.backends.ssh import SshPool
from mvm_tui.config import load_config
from mvm_tui.lab import truth
from mvm_tui.services.preflight import run_preflight, spec_from_config

pytestmark = pytest.mark.lab


async def test_preflight_through_a_bastion(lab_info: lab.LabInfo, tmp_path: Path) -> None:
    cluster = load_config(lab_info.config_path).clusters[0]
    h1, h2 = cluster.host("h1"), cluster.host("h2")
    own, empty = tmp_path / "h2_known_hosts", tmp_path / "cluster_known_hosts"
    own.write_text(lab_info.known_hosts.read_text())
    empty.write_text("")
    jump = f"{h1.user}@{h1.address}:{h1.port}"
    behind = h2.model_copy(update={"known_hosts": own, "proxy_jump": jump})
    only = cluster.model_copy(update={"hosts": [behind], "known_hosts": empty})

    [report] = await run_preflight(spec_from_config(only, {}))
    status = {i.check: i.status for i in report.items}
    assert report.ok, report.items
    assert status[f"SSH to {h2.user}@{h2.address}:{h2.port} through {jump}"] == "ok"
    assert status["sudo"] == "ok"
    assert status["interface eth0"] == "ok"
    assert "libvirt through the bastion" not in status  # (it works: no warning)
    assert empty.read_text() == ""

    pool = SshPool([ssh_target(only, "h2")])
    try:
        seen = await pool.run("h2", ["sh", "-c", "echo $SSH_CONNECTION"])
    finally:
        await pool.close()
    assert seen.stdout.split()[0] == h1.address  # h2's sshd was reached from h1


async def test_libvirt_through_a_bastion(lab_info: lab.LabInfo, tmp_path: Path) -> None:
    cluster = load_config(lab_info.config_path).clusters[0]
    h1, h2 = cluster.host("h1"), cluster.host("h2")
    jump = f"{h1.user}@{h1.address}:{h1.port}"
    behind = h2.model_copy(update={"proxy_jump": jump})
    only = cluster.model_copy(update={"hosts": [behind]})
    backend = RealBackend(only)
    try:
        assert backend.nodes["h2"].host.uri.startswith("qemu+unix:///system?socket=")
        poll = await backend.poll_host("h2")
        assert sorted(v.name for v in poll.vms) == sorted(await truth.defined_on(lab_info, "h2"))
        assert poll.facts.memory_mb > 0
        # the libvirt connection is a channel of the SSH connection that came through h1
        seen = await backend.ssh.run("h2", ["sh", "-c", "echo $SSH_CONNECTION"])
        assert seen.stdout.split()[0] == h1.address
        check = await backend.check_host("h2", 30.0)  # HA's own connection, the same way
        assert check is not None
        assert {v.name for v in check.vms} == {v.name for v in poll.vms}
    finally:
        await backend.close()
