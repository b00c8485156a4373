"""The preflight of an external-storage cluster connects, from each host, to its NFS server or
iSCSI portal: through run_preflight against the in-process SSH server (the host is this
machine), to a TCP listener that answers and to a port where nothing listens."""

from __future__ import annotations

import asyncio
import socket

import pytest

from mvm_tui.config import ClusterConfig
from mvm_tui.core.preflight import Item, check_datastore
from mvm_tui.services.preflight import PreflightHost, PreflightSpec, run_preflight, spec_from_config
from tests.backends.ssh_server import SshTestServer


@pytest.fixture
def server(known_server: SshTestServer) -> SshTestServer:
    return known_server


async def datastore_item(srv: SshTestServer, port: int) -> Item:
    host = PreflightHost("h1", "127.0.0.1", srv.port, "root", srv.key_file)
    spec = PreflightSpec((host,), (), ("lo",), srv.tmp / "known_hosts",
                         datastore=("iSCSI portal", "127.0.0.1", port))
    [report] = await run_preflight(spec)
    return next(i for i in report.items if i.check.startswith("iSCSI portal"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_portal_that_answers_passes(server: SshTestServer) -> None:
    connected = asyncio.Event()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.set()
        writer.close()

    portal = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = portal.sockets[0].getsockname()[1]
    try:
        item = await datastore_item(server, port)
    finally:
        portal.close()
    assert item == Item(f"iSCSI portal 127.0.0.1:{port}", "ok", "answers from this host")
    assert connected.is_set()


async def test_nothing_listening_fails_with_the_reason_and_the_fix(server: SshTestServer) -> None:
    port = free_port()
    item = await datastore_item(server, port)
    assert item.status == "fail"
    assert item.detail == "cannot be reached from this host: Connection refused"
    assert f"listens on port {port}" in item.fix


def test_a_portal_that_does_not_answer_in_time() -> None:
    item = check_datastore("NFS server", "nas1", 2049, 124, "")
    assert (item.status, item.detail) == ("fail", "cannot be reached from this host: no answer "
                                                  "within 5 s")


@pytest.mark.parametrize(("datastore", "expected"), [
    ({"nfs_export": "nas1:/export/vms"}, ("NFS server", "nas1", 2049)),
    ({"iscsi_portal": "10.0.0.5:3261", "iscsi_target": "iqn.2003-01.org.example:vms"},
     ("iSCSI portal", "10.0.0.5", 3261)),
    (None, None),
])
def test_the_spec_names_the_server_to_reach(datastore: dict[str, str] | None,
                                            expected: tuple[str, str, int] | None) -> None:
    cluster = ClusterConfig.model_validate({
        "name": "branch", "layout": "external", "datastore": datastore,
        "hosts": [{"name": "hv1", "address": "10.0.0.11"}]})
    assert spec_from_config(cluster, {}).datastore == expected
