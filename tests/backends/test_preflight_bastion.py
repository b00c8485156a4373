"""Preflight of a host with its own known_hosts file and a proxy_jump bastion, against the
in-process SSH server (which is both the bastion and, through it, the host): it goes through
the bastion, an accepted key lands in the host's own file (not the cluster's), and the report
says that libvirt cannot go through a bastion yet."""

from __future__ import annotations

from pathlib import Path

from mvm_tui.backends.ssh.errors import HostKeyUnknown
from mvm_tui.config import ClusterConfig, HostConfig
from mvm_tui.services.preflight import run_preflight, spec_from_config
from tests.backends.ssh_server import SshTestServer


def bastion_cluster(srv: SshTestServer, own: Path, shared: Path) -> ClusterConfig:
    host = HostConfig(name="h1", address="127.0.0.1", port=srv.port, key_file=srv.key_file,
                      known_hosts=own, proxy_jump=f"root@127.0.0.1:{srv.port}")
    return ClusterConfig(name="c1", layout="external", hosts=[host], known_hosts=shared,
                         interfaces={"management": "lo", "storage": "lo", "compute": "lo"})


async def test_preflight_goes_through_the_bastion_and_saves_the_key_to_the_hosts_file(
        tmp_path: Path) -> None:
    srv = SshTestServer(tmp_path)
    await srv.start()
    own, shared = tmp_path / "h1_known_hosts", tmp_path / "cluster_known_hosts"
    own.write_text("")
    shared.write_text("")
    asked: list[str] = []

    async def accept(unknown: HostKeyUnknown) -> bool:
        asked.append(unknown.known_hosts)
        return True

    try:
        [report] = await run_preflight(spec_from_config(bastion_cluster(srv, own, shared), {}),
                                       accept)
    finally:
        await srv.stop()
    items = {i.check: i for i in report.items}
    reach = f"SSH to root@127.0.0.1:{srv.port} through root@127.0.0.1:{srv.port}"
    assert items[reach].status == "ok"
    assert items["host key"].detail == f"known and accepted ({own})"
    assert "libvirt through the bastion" not in items  # (it goes through: no warning)
    assert srv.forwards == [("127.0.0.1", srv.port)]  # the host reached through the bastion
    assert asked == [str(own)]  # the bastion's key (the same server): asked once, then known
    assert own.read_text() == srv.known_hosts_line()
    assert shared.read_text() == ""
