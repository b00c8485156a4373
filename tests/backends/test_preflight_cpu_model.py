"""The preflight's CPU model item, through run_preflight against the in-process SSH server
(the other checks run this machine's own read-only commands; virsh is a fake on its PATH)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mvm_tui.config import ClusterConfig
from mvm_tui.core.cpu_models import DOMCAPS_CMD, NOT_INSTALLED
from mvm_tui.core.preflight import Item
from mvm_tui.services.preflight import (
    PreflightHost,
    PreflightReport,
    PreflightSpec,
    _fix_with_common_models,
    run_preflight,
    spec_from_config,
)
from tests.backends.ssh_server import SshTestServer

FIXTURE = Path(__file__).parent.parent / "fixtures" / "libvirt" / "domcapabilities.nested-amd.xml"


@pytest.fixture
def server(known_server: SshTestServer) -> SshTestServer:
    return known_server


def fake_virsh(srv: SshTestServer, body: str) -> None:
    virsh = srv.tmp / "bin" / "virsh"
    virsh.write_text(f"#!/bin/sh\n{body}\n")
    virsh.chmod(0o755)


async def cpu_item(srv: SshTestServer, model: str) -> Item:
    host = PreflightHost("h1", "127.0.0.1", srv.port, "root", srv.key_file)
    spec = PreflightSpec((host,), (), ("lo",), srv.tmp / "known_hosts", model)
    [report] = await run_preflight(spec)
    assert report.items[0].status == "ok", report.items  # it logged in
    [item] = [i for i in report.items if i.check == "CPU model"]
    return item


async def test_a_model_libvirt_lists_as_usable_passes(server: SshTestServer) -> None:
    args = "-c qemu:///system domcapabilities --arch x86_64 --virttype kvm"
    fake_virsh(server, f'[ "$*" = "{args}" ] || exit 9\ncat {FIXTURE}')
    assert (await cpu_item(server, "pentium3")).status == "ok"
    item = await cpu_item(server, "host-model")
    assert item.status == "ok"
    assert item.detail.startswith("host-model is usable")
    assert any("virsh -c qemu:///system domcapabilities" in c for c in server.commands)


async def test_a_model_not_usable_fails_with_the_usable_ones(server: SshTestServer) -> None:
    fake_virsh(server, f"cat {FIXTURE}")
    item = await cpu_item(server, "EPYC-Rome")
    assert item.status == "fail"
    assert "EPYC-Rome is not usable" in item.detail
    assert "host-model, host-passthrough, 486, pentium" in item.fix


async def test_libvirt_not_running_yet_does_not_block(server: SshTestServer) -> None:
    fake_virsh(server, "echo 'error: failed to connect to the hypervisor' >&2; exit 1")
    item = await cpu_item(server, "EPYC-Rome")
    assert item == Item("CPU model", "ok",
                        "libvirt is not running yet: checked after KVM is installed")


def test_the_command_says_127_when_virsh_is_missing(tmp_path: Path) -> None:
    (tmp_path / "sh").symlink_to("/bin/sh")  # a PATH with a shell and no virsh
    r = subprocess.run(DOMCAPS_CMD, env={"PATH": str(tmp_path)}, capture_output=True,
                       check=False, timeout=30)
    assert r.returncode == NOT_INSTALLED


def test_a_refused_model_names_the_models_usable_on_every_host() -> None:
    refused = Item("CPU model", "fail", "EPYC is not usable on this host", "a fix for one host")
    reports = [PreflightReport("a", (Item("sudo", "ok", "root"), refused)),
               PreflightReport("b", (Item("CPU model", "ok", "EPYC is usable here"),)),
               PreflightReport("c", (Item("CPU model", "ok", "libvirt is not installed yet"),))]
    usable = {"a": ("host-model", "Westmere"), "b": ("host-model", "EPYC", "Westmere")}
    fixed = _fix_with_common_models(reports, usable, "EPYC")
    assert fixed[0].items[0] == reports[0].items[0]
    assert fixed[1:] == reports[1:]
    assert fixed[0].items[1].fix == "choose a model usable on every host: host-model, Westmere"
    assert _fix_with_common_models(reports, {"a": usable["a"]}, "EPYC") == reports


def test_the_spec_carries_the_clusters_cpu_model(tmp_path: Path) -> None:
    cluster = ClusterConfig.model_validate({
        "name": "prod", "layout": "external", "cpu_model": "EPYC-Rome",
        "interfaces": {"management": "eth0", "storage": "eth1", "compute": "eth2"},
        "hosts": [{"name": "hv1", "address": "10.0.0.11"}]})
    assert spec_from_config(cluster, {}).cpu_model == "EPYC-Rome"
    default = cluster.model_copy(update={"cpu_model": "host-model"})
    assert spec_from_config(default, {}).cpu_model == "host-model"
