"""Preflight against the lab's hosts (Debian 12 in network namespaces, each with its own sshd
and host key): what passes, and failures made on purpose: a missing device, a wrong interface
name, a wrong password, an unknown host key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvm_tui import lab
from mvm_tui.backends.ssh.errors import HostKeyUnknown
from mvm_tui.services.preflight import PreflightHost, PreflightSpec, run_preflight

pytestmark = pytest.mark.lab


def hosts(info: lab.LabInfo, **changes: object) -> tuple[PreflightHost, ...]:
    return tuple(PreflightHost(h.name, h.address, h.port, h.user, **{  # type: ignore[arg-type]
        "key_file": h.key_file, **changes}) for h in info.hosts)


def statuses(report: object) -> dict[str, str]:
    return {i.check: i.status for i in report.items}  # type: ignore[attr-defined]


async def test_the_lab_hosts_pass_with_an_os_warning(lab_info: lab.LabInfo) -> None:
    spec = PreflightSpec(hosts(lab_info), ("/dev/mvmlab-osd",), ("eth0",), lab_info.known_hosts)
    reports = await run_preflight(spec)
    assert [r.host for r in reports] == ["h1", "h2", "h3"]
    for r in reports:
        s = statuses(r)
        assert r.ok, r.items
        assert s["operating system"] == "warn"  # Debian 12, not Ubuntu 22.04
        for check in ("host key", "sudo", "CPU virtualisation", "memory",
                      "data device /dev/mvmlab-osd", "interface eth0", "static address"):
            assert s[check] == "ok", (r.host, check, r.items)


async def test_failures_made_on_purpose(lab_info: lab.LabInfo, tmp_path: Path) -> None:
    spec = PreflightSpec(hosts(lab_info)[:1], ("/dev/mvmlab-osd", "/dev/nope"),
                         ("eth0", "eth9"), lab_info.known_hosts)
    [r] = await run_preflight(spec)
    s = statuses(r)
    assert not r.ok
    assert s["data device /dev/nope"] == "fail"
    assert s["interface eth9"] == "fail"
    fixes = {i.check: i.fix for i in r.items}
    assert "eth0" in fixes["interface eth9"]  # says which interfaces the host has

    h1 = lab_info.hosts[0]
    wrong = PreflightSpec((PreflightHost(h1.name, h1.address, h1.port, h1.user,
                                         password="not-the-password"),), (), ("eth0",),
                          lab_info.known_hosts)
    [r] = await run_preflight(wrong)
    first = r.items[0]
    assert first.status == "fail"
    assert "password" in first.fix
    assert statuses(r)["other checks"] == "fail"

    seen: list[HostKeyUnknown] = []

    async def refuse(unknown: HostKeyUnknown) -> bool:
        seen.append(unknown)
        return False

    empty = tmp_path / "known_hosts"
    empty.write_text("")
    unknown = PreflightSpec(hosts(lab_info)[:1], (), ("eth0",), empty)
    [r] = await run_preflight(unknown, unknown_key=refuse)
    assert r.items[0].status == "fail"
    assert "not accepted" in r.items[0].detail
    assert seen
    assert seen[0].fingerprint in r.items[0].fix
    assert empty.read_text() == ""  # a refused key is not saved
