"""The lab itself, for real: 3 netns hosts with sshd, libvirtd and Ceph, built and torn down.

Needs root (skipped otherwise, except under CI=true where a lab that cannot be built fails).
Any lab already running is torn down first: the lab has fixed namespace names.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import asyncssh
import pytest

from mvm_tui import lab
from mvm_tui.config import load_config
from mvm_tui.core.migration_trust import MIGRATION_KEY
from mvm_tui.lab.model import recorded_pids

pytestmark = pytest.mark.lab

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="module")
def info() -> Iterator[lab.LabInfo]:
    """A lab built from nothing for this module. A lab that was already up (another module's
    fixture) is torn down first and built again afterwards, with the guests it had."""
    if os.geteuid() != 0:
        reason = "the lab needs root (network namespaces, a bridge, sshd, libvirtd, Ceph)"
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    before = lab.current()
    guests = lab.defined_guests() if before is not None else []
    lab.down()
    try:
        built = lab.up(hosts=3, ceph=True, say=print)
    except Exception as e:  # any failure to build fails the lab tests, never skips them
        pytest.fail(f"the lab cannot be built: {type(e).__name__}: {e}")
    yield built
    lab.down()
    if before is not None:
        lab.up(len(before.hosts), before.ceph, objectstore=before.objectstore)
        for guest in guests:
            lab.define_guest(**guest)


async def _ssh(h: lab.LabHost, command: str, timeout: float = 10,
               known_hosts: Path | None = None) -> str:
    async with asyncssh.connect(
        h.address, port=h.port, username=h.user, client_keys=[str(h.key_file)],
        known_hosts=str(known_hosts or h.known_hosts), connect_timeout=timeout,
    ) as conn:
        result = await conn.run(command, check=True, timeout=60)
        return str(result.stdout)


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        await asyncio.sleep(0.2)


async def _reachable(h: lab.LabHost) -> bool:
    try:
        await _ssh(h, "true", timeout=2)
    except (OSError, asyncssh.Error, TimeoutError):
        return False
    return True


async def test_hosts_answer_ssh_with_their_own_identity(info: lab.LabInfo) -> None:
    names = []
    for h in info.hosts:
        out = await _ssh(h, "hostname; virsh -c qemu:///system version")
        names.append(out.split()[0])
        assert h.hostname == out.split()[0]
        assert "Running hypervisor: QEMU" in out
    assert len(set(names)) == 3
    assert [h.name for h in info.hosts] == ["h1", "h2", "h3"]


async def test_host_keys_are_checked(info: lab.LabInfo, tmp_path: Path) -> None:
    h1, h2 = info.hosts[0], info.hosts[1]
    key_of_h2 = next(line for line in h1.known_hosts.read_text().splitlines()
                     if line.startswith(f"{h2.address} "))
    wrong = tmp_path / "known_hosts"
    wrong.write_text(key_of_h2.replace(h2.address, h1.address, 1) + "\n")
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        await _ssh(h1, "true", known_hosts=wrong)


async def test_hosts_reach_each_other_with_host_key_checking(info: lab.LabInfo) -> None:
    """With their own migration keys (lab up sets up the trust provisioning sets up), the
    peer's host key checked; nothing of the jump box's."""
    peer = info.hosts[2].address
    out = await _ssh(info.hosts[0], f"ssh -o BatchMode=yes -i {MIGRATION_KEY} {peer} hostname")
    assert out.strip() == info.hosts[2].hostname
    with pytest.raises(asyncssh.ProcessError) as refused:  # the jump box's key is not there
        await _ssh(info.hosts[0], f"ssh -o BatchMode=yes -i {info.key_file} -o "
                   f"IdentitiesOnly=yes {peer} hostname")
    assert "Permission denied (publickey)" in str(refused.value.stderr)


async def test_ceph_is_healthy(info: lab.LabInfo) -> None:
    status = json.loads(await _ssh(info.hosts[0], "ceph -s -f json"))
    assert status["health"]["status"] == "HEALTH_OK"
    assert status["monmap"]["num_mons"] == 3
    assert len(status["quorum_names"]) == 3
    assert status["osdmap"]["num_osds"] == status["osdmap"]["num_up_osds"] == 3


async def test_rbd_pool_holds_qemu_disks(info: lab.LabInfo) -> None:
    assert info.pool == "vms"
    out = await _ssh(info.hosts[1], "rbd create vms/lab-test --size 16M && "
                     "qemu-img info --output json rbd:vms/lab-test; rbd rm vms/lab-test")
    assert json.loads(out[: out.rindex("}") + 1])["virtual-size"] == 16 << 20


def test_config_loads_with_the_project_loader(info: lab.LabInfo) -> None:
    config = load_config(info.config_path)
    (cluster,) = config.clusters
    assert cluster.layout.value == "hci"
    assert [(h.name, h.address, h.port, h.user) for h in cluster.hosts] == [
        (h.name, h.address, 22, "root") for h in info.hosts]
    assert all(h.key_file == info.key_file for h in cluster.hosts)
    assert cluster.known_hosts == info.known_hosts
    assert cluster.data_devices
    assert all(d.startswith("/dev/") for d in cluster.data_devices)


async def test_cut_and_restore(info: lab.LabInfo) -> None:
    h2 = info.host("h2")
    lab.cut("h2")
    with pytest.raises(TimeoutError):
        await _ssh(h2, "true", timeout=2)
    assert await _reachable(info.host("h1"))
    lab.restore("h2")
    await _eventually(lambda: _reachable(h2), 30, "h2 to answer again")


async def test_power_off_and_restore(info: lab.LabInfo) -> None:
    h3 = info.host("h3")
    lab.power_off("h3")
    assert not await _reachable(h3)
    lab.restore("h3")
    await _eventually(lambda: _reachable(h3), 30, "h3 to answer again")
    out = await _ssh(h3, "systemctl is-active libvirtd ceph-mon@mvmlab-h3 ceph-osd@2")
    assert out.split() == ["active"] * 3
    await asyncio.to_thread(lab.wait_health_ok, info, 180)


def _connect_ms(address: str) -> float:
    times = []
    for _ in range(5):
        t = time.perf_counter()
        with socket.create_connection((address, 22), timeout=5):
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def test_netem_adds_latency(info: lab.LabInfo) -> None:
    address = info.hosts[0].address
    try:
        method = lab.netem(40)
        assert method in ("tc-netem", "nfqueue")
        assert _connect_ms(address) >= 40
    finally:
        lab.netem(0)
    assert _connect_ms(address) < 20


@pytest.mark.parametrize("kind", ["nodisk", "rbd", "linux"])
async def test_tiny_guests_run(info: lab.LabInfo, kind: str) -> None:
    h1, name = info.hosts[0], f"t-{kind}"
    await asyncio.to_thread(lab.define_guest, "h1", name, kind)
    virsh = "virsh -c qemu:///system"
    assert (await _ssh(h1, f"{virsh} domstate {name}")).strip() == "running"
    if kind == "linux":  # a real kernel with acpid: shuts down on ACPI
        console = f"/var/log/libvirt/qemu/{name}-serial.log"  # (its serial console's log)

        async def booted() -> bool:
            return "booted" in await _ssh(h1, f"cat {console} || true")

        await _eventually(booted, 60, "the Linux guest to boot")
        await _ssh(h1, f"{virsh} shutdown {name}")

        async def off() -> bool:
            return (await _ssh(h1, f"{virsh} domstate {name}")).strip() == "shut off"

        await _eventually(off, 30, "the Linux guest to power off")
    else:
        await _ssh(h1, f"{virsh} destroy {name}")
    await _ssh(h1, f"{virsh} undefine {name}")


def test_teardown_leaves_nothing(info: lab.LabInfo) -> None:
    started = recorded_pids()
    assert len(started) >= 3 * 4  # anchor, sshd, libvirtd, ceph daemons per host
    lab.down()
    assert not [n for n in _netns() if n.startswith("mvmlab-")]
    assert not Path("/sys/class/net/mvmlab-br0").exists()
    alive = [e for e in started if _alive(int(str(e["pid"])), int(str(e["start"])))]
    assert not alive, f"still running after down: {alive}"
    assert not _lab_processes(info.directory)
    assert lab.current() is None


def _netns() -> list[str]:
    path = Path("/run/netns")
    return [p.name for p in path.iterdir()] if path.is_dir() else []


def _alive(pid: int, start: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[0] not in ("Z", "X") and int(fields[19]) == start


def _lab_processes(directory: Path) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(directory) in cmd or "mvmlab-" in cmd:
            found.append(f"{proc.name}: {cmd}")
    return found
