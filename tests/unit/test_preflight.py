"""Preflight checks from raw command outputs (captured on a real machine, see
tests/fixtures/preflight/README.md): each failure says what to fix."""

from __future__ import annotations

from pathlib import Path

from mvm_tui.core.preflight import (
    check_device,
    check_interfaces,
    check_memory,
    check_os,
    check_static_address,
    check_virtualisation,
)

F = Path(__file__).parent.parent / "fixtures" / "preflight"


def read(name: str) -> str:
    return (F / name).read_text()


def test_os_other_than_ubuntu_2204_is_a_warning() -> None:
    item = check_os(read("os-release.debian12"))
    assert item.status == "warn"
    assert "Debian GNU/Linux 12" in item.detail
    assert item.ok
    ubuntu = 'NAME="Ubuntu"\nID=ubuntu\nVERSION_ID="22.04"\nPRETTY_NAME="Ubuntu 22.04.4 LTS"\n'
    assert check_os(ubuntu).status == "ok"


def test_virtualisation() -> None:
    assert check_virtualisation("8\n").status == "ok"
    assert check_virtualisation("0\nkvm\n").status == "ok"  # nested: flags hidden, KVM there
    no = check_virtualisation("0\n")
    assert no.status == "fail"
    assert "BIOS" in no.fix


def test_memory_four_gb_plus_four_per_ceph_disk() -> None:
    meminfo = "MemTotal:       16303424 kB\nMemFree:  1 kB\n"  # 15.5 GB
    assert check_memory(meminfo, 2).status == "ok"  # needs 12
    short = check_memory(meminfo, 3)  # needs 16
    assert short.status == "fail"
    assert "needs 16 GB" in short.detail


def test_devices_exist_unused_and_not_the_os_disk() -> None:
    assert check_device("/dev/loop2", read("lsblk.unused-loop.json")).status == "ok"
    os_disk = check_device("/dev/vda", read("lsblk.os-disk.json"))
    assert os_disk.status == "fail"
    assert "OS disk" in os_disk.detail
    used = check_device("/dev/sdb", read("lsblk.partitioned.json"))
    assert used.status == "fail"
    assert "mounted: /dev/sdb1 on /srv/data" in used.detail
    assert "wipefs" in used.fix
    osd = ('{"blockdevices": [{"name": "loop0", "path": "/dev/loop0", "type": "loop", '
           '"size": 4294967296, "mountpoint": null, "fstype": "ceph_bluestore"}]}')
    assert check_device("/dev/mvmlab-osd", osd).status == "ok"  # a re-run keeps its OSD
    missing = check_device("/dev/sdz", '{"blockdevices": []}', exit_status=32)
    assert missing.status == "fail"
    assert "does not exist" in missing.detail


def test_interfaces_exist() -> None:
    items = check_interfaces(read("ip-link.json"), ["eth0", "bond7", "eth0"])
    assert [(i.check, i.status) for i in items] == [
        ("interface eth0", "ok"), ("interface bond7", "fail")]
    assert "eth0" in items[1].fix  # says which interfaces there are


def test_the_address_must_be_static() -> None:
    assert check_static_address(read("ip-addr.static.json"), "192.0.2.2").status == "ok"
    dhcp = check_static_address(read("ip-addr.dhcp.json"), "10.0.0.21")
    assert dhcp.status == "fail"
    assert "DHCP" in dhcp.detail
    assert "netplan" in dhcp.fix
    assert check_static_address(read("ip-addr.static.json"), "203.0.113.9").status == "warn"
