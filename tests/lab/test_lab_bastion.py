"""Preflight of a lab host reached through another lab host as its proxy_jump bastion, with
its own known_hosts file (the cluster's is empty): the targets come from backends.reach, so
the preflight logs in through the bastion and checks both keys in the host's own file."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvm_tui import lab
from mvm_tui.backends.reach import ssh_target
from mvm_tui.backends.ssh import SshPool
from mvm_tui.config import load_config
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
    assert status["sudo"] == "ok" and status["interface eth0"] == "ok"
    assert status["libvirt through the bastion"] == "warn"
    assert empty.read_text() == ""

    pool = SshPool([ssh_target(only, "h2")])
    try:
        seen = await pool.run("h2", ["sh", "-c", "echo $SSH_CONNECTION"])
    finally:
        await pool.close()
    assert seen.stdout.split()[0] == h1.address  # h2's sshd was reached from h1
