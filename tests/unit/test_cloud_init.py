"""A new VM's cloud-init seed (core/cloud_init.py, services/seed_iso.py): what cloud-init will
read, checked by reading it back as cloud-init does (YAML, JSON, an ISO labelled cidata found
by blkid), and hostile values refused with the field named."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import asyncssh
import pycdlib
import pytest
import yaml

from mvm_tui.core.cloud_init import CloudInit, StaticAddress, problems, seed_files
from mvm_tui.services.seed_iso import seed_iso

KEY = asyncssh.generate_private_key("ssh-ed25519", comment="ops@jump: #1").export_public_key(
    "openssh").decode().strip()
RSA = asyncssh.generate_private_key("ssh-rsa", key_size=2048).export_public_key(
    "openssh").decode().strip()


def test_dhcp_seed() -> None:
    ci = CloudInit(hostname="web-1", user="ops", ssh_keys=(KEY, RSA))
    assert problems(ci) == {}
    files = seed_files(ci, "i-0001")
    assert json.loads(files["meta-data"]) == {"instance-id": "i-0001", "local-hostname": "web-1"}
    assert files["user-data"].startswith("#cloud-config\n")
    config = yaml.safe_load(files["user-data"])
    assert config["hostname"] == "web-1"
    [user] = config["users"]
    assert (user["name"], user["ssh_authorized_keys"]) == ("ops", [KEY, RSA])  # literally
    assert config["ssh_pwauth"] is False
    net = yaml.safe_load(files["network-config"])
    assert net["ethernets"] == {"nic0": {"match": {"name": "e*"}, "dhcp4": True}}
    # with the NICs' MACs known, each is named by its MAC (ifupdown ignores name globs)
    macs = yaml.safe_load(seed_files(ci, "i-1", ["52:54:00:00:00:01", "52:54:00:00:00:02"])[
        "network-config"])["ethernets"]
    assert [n["match"] for n in macs.values()] == [{"macaddress": "52:54:00:00:00:01"},
                                                   {"macaddress": "52:54:00:00:00:02"}]


def test_a_static_address_on_the_first_nic() -> None:
    ci = CloudInit(hostname="db-1", static=StaticAddress("10.0.22.15/24", "10.0.22.1",
                                                         ("10.0.0.53",)))
    assert problems(ci) == {}
    net = yaml.safe_load(seed_files(ci, "i-2", ["52:54:00:aa:bb:cc", "52:54:00:aa:bb:cd"])[
        "network-config"])
    assert net == {"version": 2, "ethernets": {"nic0": {
        "match": {"macaddress": "52:54:00:aa:bb:cc"}, "addresses": ["10.0.22.15/24"],
        "routes": [{"to": "default", "via": "10.0.22.1"}],
        "nameservers": {"addresses": ["10.0.0.53"]}},
        "nic1": {"match": {"macaddress": "52:54:00:aa:bb:cd"}, "dhcp4": True}}}


def test_the_operators_user_data_is_kept_with_the_forms_keys_added() -> None:
    mine = "#cloud-config\npackages: [nginx]\nruncmd:\n  - [touch, /tmp/done]\n"
    ci = CloudInit(hostname="web-2", ssh_keys=(KEY,), user_data=mine)
    config = yaml.safe_load(seed_files(ci, "i-3")["user-data"])
    assert config["packages"] == ["nginx"]
    assert config["runcmd"] == [["touch", "/tmp/done"]]
    assert config["users"][0]["ssh_authorized_keys"] == [KEY]


@pytest.mark.parametrize(("ci", "fields"), [
    (CloudInit(hostname="web_1\n", user="Root"), {"hostname", "user"}),
    (CloudInit(hostname="-a", ssh_keys=("ssh-ed25519 AAAA", "ssh-dss AAAAB3", KEY + "\nx")),
     {"hostname", "ssh_keys[0]", "ssh_keys[1]", "ssh_keys[2]"}),
    (CloudInit(hostname="a", ssh_keys=(RSA.replace("ssh-rsa", "ssh-ed25519", 1),)),
     {"ssh_keys[0]"}),  # the blob says rsa
    (CloudInit(hostname="a", static=StaticAddress("10.0.22.15", "10.1.0.1", ("dns",))),
     {"static.address", "static.gateway", "static.dns[0]"}),
    (CloudInit(hostname="a", static=StaticAddress("10.0.22.300/24")), {"static.address"}),
    (CloudInit(hostname="a", user_data="packages: [x]"), {"user_data"}),  # no header
    (CloudInit(hostname="a", user_data="#cloud-config\nkey: [unclosed"), {"user_data"}),
    (CloudInit(hostname="a", user_data="#cloud-config\n- a list"), {"user_data"}),
    (CloudInit(hostname="a", user_data="#cloud-config\nusers: []\nhostname: x"), {"user_data"}),
])
def test_bad_values_are_refused_with_the_field_named(ci: CloudInit, fields: set[str]) -> None:
    assert set(problems(ci)) == fields


def test_a_user_data_setting_the_forms_keys_says_which() -> None:
    why = problems(CloudInit(hostname="a", user_data="#cloud-config\nusers: []\nhostname: x"))
    assert why["user_data"].startswith("user-data sets hostname, users:")


def test_the_seed_iso_is_labelled_cidata_and_holds_the_files(tmp_path: Path) -> None:
    files = seed_files(CloudInit(hostname="web-1", ssh_keys=(KEY,)), "i-0001")
    image = seed_iso(files)
    iso = pycdlib.PyCdlib()
    path = tmp_path / "seed.iso"
    path.write_bytes(image)
    iso.open(str(path))
    try:
        for name, text in files.items():
            out = tmp_path / name
            iso.get_file_from_iso(str(out), rr_path=f"/{name}")
            assert out.read_text() == text
    finally:
        iso.close()
    blkid = shutil.which("blkid") or "/usr/sbin/blkid"
    found = subprocess.run([blkid, "-p", "-o", "export", str(path)], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    assert "LABEL=cidata" in found
    assert "TYPE=iso9660" in found
