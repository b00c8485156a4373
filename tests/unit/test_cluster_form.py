"""The Add Cluster form: each field's reason, the checks across fields, the config it makes,
and hypothesis properties (shell and control characters in any field, VLAN ranges)."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from mvm_tui.config import Config, DatastoreConfig, cluster_from_form, load_config, save_config
from mvm_tui.core.cluster_form import (
    Auth,
    ClusterForm,
    FormInvalid,
    HostRow,
    IscsiTarget,
    NfsExport,
    StorageKind,
    describe_key,
    host_key,
)
from mvm_tui.core.form_validation import validate_password
from mvm_tui.core.validation import SHELL_METACHARACTERS, describe_char
from mvm_tui.models import Layout

PASSWORD = "pa$$w0rd;not-in-any-file"


def valid_form(hosts: int = 3, layout: Layout = Layout.HCI) -> ClusterForm:
    form = ClusterForm(
        name="prod", layout=layout, data_devices="/dev/sdb,/dev/sdc",
        management_if="eth0", storage_if="eth1", compute_if="eth2", compute_vlans="22-25",
        hosts=[HostRow(name=f"hv{i}", address=f"10.0.0.{10 + i}") for i in range(1, hosts + 1)],
    )
    if layout is Layout.EXTERNAL:
        form.storage_target = "nas1:/export/vms"
    return form


def reason(form: ClusterForm, key: str, value: str) -> str | None:
    form.set(key, value)
    return form.errors().get(key)


def test_the_defaults() -> None:
    form = ClusterForm()
    assert len(form.hosts) == 3
    assert (form.layout, form.cpu_type, form.cpu_model) == (Layout.HCI, "x86_64", "host-model")
    assert all((h.port, h.user, h.auth) == ("22", "root", Auth.KEY) for h in form.hosts)
    errors = form.errors()
    assert errors["name"] == "a name is required"
    assert errors[host_key(0, "address")] == "an IP address or host name is required"
    assert not form.is_valid


def test_a_valid_form_has_no_errors() -> None:
    assert valid_form().errors() == {}
    assert valid_form().is_valid


# --------------------------------------------------------------------------- VLANs


@pytest.mark.parametrize("text", ["22", "1", "4094", "22-25", "22-22", "22-25,30,40-41"])
def test_vlans_accepted(text: str) -> None:
    assert reason(valid_form(), "compute_vlans", text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "VLAN 0 is out of range 1-4094"),
        ("4095", "VLAN 4095 is out of range 1-4094"),
        ("22-4095", "VLAN 4095 is out of range 1-4094"),
        ("25-22", "'25-22': the start of a range must not be above its end"),
        ("22-x", "'22-x' is not a VLAN or a range such as 22-25"),
        ("", "at least one VLAN is required, e.g. 22 or 22-25"),
        ("22;reboot", "contains ';' which is not allowed"),
    ],
)
def test_vlans_rejected(text: str, message: str) -> None:
    assert reason(valid_form(), "compute_vlans", text) == message


@given(st.integers(1, 4094), st.integers(1, 4094))
def test_any_vlan_range_in_order_is_accepted(a: int, b: int) -> None:
    lo, hi = min(a, b), max(a, b)
    form = valid_form()
    assert reason(form, "compute_vlans", f"{lo}-{hi}") is None
    assert cluster_from_form(form).compute_vlans == tuple(range(lo, hi + 1))


@given(st.integers(1, 4094), st.integers(1, 4094))
def test_a_range_backwards_is_rejected(a: int, b: int) -> None:
    if a == b:
        return
    text = f"{max(a, b)}-{min(a, b)}"
    assert reason(valid_form(), "compute_vlans", text) == (
        f"'{text}': the start of a range must not be above its end")


@given(st.integers(0, 10**6).filter(lambda n: not 1 <= n <= 4094))
def test_a_vlan_out_of_range_is_rejected(n: int) -> None:
    assert reason(valid_form(), "compute_vlans", str(n)) == f"VLAN {n} is out of range 1-4094"


# --------------------------------------------------------------------------- devices


def test_devices() -> None:
    form = valid_form()
    assert reason(form, "data_devices", "/dev/sdb,/dev/sdc") is None
    assert cluster_from_form(form).data_devices == ("/dev/sdb", "/dev/sdc")
    assert reason(form, "data_devices", "sdb") == (
        "'sdb': 'sdb' is not a device path under /dev/ such as /dev/sdb")
    assert reason(form, "data_devices", "/dev/sdb,/dev/sdc,/dev/sdb") == (
        "'/dev/sdb' is listed twice")
    assert reason(form, "data_devices", "/dev/sdb;rm -rf /") == (
        "contains ';' which is not allowed")


def test_hci_needs_data_devices_external_does_not() -> None:
    assert reason(valid_form(), "data_devices", "") == (
        "an HCI cluster needs data devices for Ceph, e.g. /dev/sdb,/dev/sdc")
    assert reason(valid_form(layout=Layout.EXTERNAL), "data_devices", "") is None


# --------------------------------------------------------------------------- hosts


@pytest.mark.parametrize("address", ["10.0.0.5", "fd00::5", "hv1.example.org", "hv1"])
def test_addresses_accepted(address: str) -> None:
    assert reason(valid_form(), host_key(0, "address"), address) is None


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("10.0.0.300", "'10.0.0.300' is not an IP address or a host name"),
        ("a b", "'a b' is not an IP address or a host name"),
        ("", "an IP address or host name is required"),
        ("10.0.0.5;id", "contains ';' which is not allowed"),
    ],
)
def test_addresses_rejected(address: str, message: str) -> None:
    assert reason(valid_form(), host_key(0, "address"), address) == message


@given(st.ip_addresses().filter(lambda ip: not (ip.is_multicast or ip.is_unspecified)))
def test_any_unicast_ip_address_is_accepted(ip: ipaddress.IPv4Address) -> None:
    form = valid_form()
    assert reason(form, host_key(0, "address"), str(ip)) is None


@given(st.integers(1, 65535))
def test_ports_in_range_accepted(port: int) -> None:
    form = valid_form()
    assert reason(form, host_key(1, "port"), str(port)) is None
    assert cluster_from_form(form).hosts[1].port == port


@pytest.mark.parametrize(
    ("port", "message"),
    [("0", "port 0 is out of range 1-65535"), ("65536", "port 65536 is out of range 1-65535"),
     ("ssh", "'ssh' is not a port number"), ("", "an SSH port is required (22 by default)")],
)
def test_ports_rejected(port: str, message: str) -> None:
    assert reason(valid_form(), host_key(1, "port"), port) == message


def test_a_host_name_used_twice() -> None:
    form = valid_form()
    assert reason(form, host_key(2, "name"), "hv1") == "host name 'hv1' is already used by host 1"
    assert host_key(0, "name") not in form.errors()


def test_an_address_used_twice_in_any_spelling() -> None:
    form = valid_form()
    assert reason(form, host_key(1, "address"), "10.0.0.11") == (
        "address '10.0.0.11' is already used by host 1")
    form.set(host_key(0, "address"), "FD00::5")
    assert reason(form, host_key(2, "address"), "fd00:0::5") == (
        "address 'fd00:0::5' is already used by host 1")


def test_hci_needs_three_hosts() -> None:
    form = valid_form()
    form.remove_host(2)
    assert form.errors() == {"hosts": "an HCI cluster needs at least 3 hosts (Ceph keeps 3 "
                             "copies on different hosts), this one has 2: add hosts or "
                             "choose external storage"}
    with pytest.raises(FormInvalid, match="hosts: an HCI cluster needs at least 3 hosts"):
        cluster_from_form(form)
    form.add_host(HostRow(name="hv4", address="10.0.0.14"))
    assert form.is_valid


def test_external_storage_with_one_host() -> None:
    form = valid_form(hosts=1, layout=Layout.EXTERNAL)
    assert form.errors() == {}
    assert form.external_storage() == NfsExport("nas1", "/export/vms")
    form.remove_host(0)
    assert form.errors() == {"hosts": "a cluster needs at least 1 host: add one"}


@pytest.mark.parametrize(
    ("target", "message"),
    [("nas1:/export/vms", None), ("fd00::5:/vms", None),
     ("nas1", "'nas1' is not an NFS export such as nas1:/export/vms"),
     ("nas1:/a b", "contains a space which is not allowed in an export path"),
     ("nas1:/a/../etc", "contains '..' which is not allowed in an export path"),
     ("10.0.0.300:/vms", "'10.0.0.300' is not an IP address or a host name")],
)
def test_nfs_targets(target: str, message: str | None) -> None:
    assert reason(valid_form(layout=Layout.EXTERNAL), "storage_target", target) == message


def test_iscsi_target() -> None:
    form = valid_form(hosts=2, layout=Layout.EXTERNAL)
    form.storage_kind = StorageKind.ISCSI
    form.storage_target = "10.0.0.5"
    assert form.errors() == {"iscsi_iqn": "an iSCSI target name such as "
                             "iqn.2003-01.org.example:vms is required"}
    assert reason(form, "iscsi_iqn", "iqn.2003-13.org.x") == (
        "'iqn.2003-13.org.x' is not an iSCSI name such as iqn.2003-01.org.example:vms")
    assert reason(form, "iscsi_iqn", "iqn.2003-01.org.example:vms") is None
    assert form.external_storage() == IscsiTarget("10.0.0.5", 3260,
                                                  "iqn.2003-01.org.example:vms")
    assert reason(form, "storage_target", "san1:3261") is None
    assert reason(form, "storage_target", "san1:70000") == "port 70000 is out of range 1-65535"
    assert reason(form, "storage_target", "san1:") == "'san1:': a port number is expected after ':'"


def test_fields_of_the_other_layout_are_not_checked() -> None:
    form = valid_form()
    form.storage_target = "not a target"
    row = form.hosts[0]
    row.key_file = "relative/key"
    row.auth = Auth.PASSWORD
    row.password = SecretStr("x")
    assert form.errors() == {}


def test_key_files_and_passwords() -> None:
    form = valid_form()
    assert reason(form, host_key(0, "key_file"), "~/.ssh/id_ed25519") is None
    assert reason(form, host_key(0, "key_file"), "/root/.ssh/id_rsa") is None
    assert reason(form, host_key(0, "key_file"), ".ssh/id_rsa") == (
        "'.ssh/id_rsa' is not an absolute path such as ~/.ssh/id_ed25519")
    assert reason(form, host_key(0, "key_file"), "~/$(id)") == "contains '$' which is not allowed"
    form.set(host_key(0, "key_file"), "")
    form.hosts[1].auth = Auth.PASSWORD
    assert form.errors() == {host_key(1, "password"): "a password is required (or log in with a "
                             "key)"}
    form.set(host_key(1, "password"), PASSWORD)
    assert form.is_valid
    assert form.passwords() == {"hv2": SecretStr(PASSWORD)}


def test_cpu_type_and_model() -> None:
    form = valid_form()
    for model in ("host-model", "host-passthrough", "EPYC-Rome", "Skylake-Server-IBRS"):
        assert reason(form, "cpu_model", model) is None
    assert reason(form, "cpu_model", "EPYC Rome") == (
        "contains a space which is not allowed in a CPU model (use letters, digits, '-', '_' "
        "and '.')")
    assert reason(form, "cpu_type", "aarch64") == "'aarch64' is not supported; CPU type: x86_64"


def test_describe_key() -> None:
    assert describe_key("compute_vlans") == "compute VLANs"
    assert describe_key(host_key(1, "address")) == "host 2 address"


# --------------------------------------------------------------------------- hostile text

METACHARACTERS = ";|&$`<>(){}\\'\"*?!\n\t"
HOSTILE = st.one_of(st.sampled_from(sorted(SHELL_METACHARACTERS | set(METACHARACTERS))),
                    st.characters(categories=("Cc", "Cf")), st.sampled_from("\u2028\u2029"))
SAFE = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"), min_size=1, max_size=8)

# every text field, with the switches that make it count
TEXT_FIELDS = [
    *[(key, Layout.HCI, StorageKind.NFS) for key in ClusterForm.TEXT_FIELDS
      if key not in ("storage_target", "iscsi_iqn")],
    ("storage_target", Layout.EXTERNAL, StorageKind.NFS),
    ("storage_target", Layout.EXTERNAL, StorageKind.ISCSI),
    ("iscsi_iqn", Layout.EXTERNAL, StorageKind.ISCSI),
    *[(host_key(1, name), Layout.HCI, StorageKind.NFS) for name in HostRow.TEXT_FIELDS],
]


@pytest.mark.parametrize(("key", "layout", "kind"), TEXT_FIELDS,
                         ids=[f"{k}-{s}" for k, _, s in TEXT_FIELDS])
@given(prefix=SAFE, bad=HOSTILE, rest=st.text(max_size=8))
def test_a_shell_or_control_character_is_rejected_and_named(
    key: str, layout: Layout, kind: StorageKind, prefix: str, bad: str, rest: str
) -> None:
    form = valid_form(layout=layout)
    form.storage_kind = kind
    form.iscsi_iqn = "iqn.2003-01.org.example:vms"
    value = prefix + bad + rest
    message = reason(form, key, value)
    assert message is not None
    assert f"contains {describe_char(bad)} which is not allowed" in message
    with pytest.raises(FormInvalid):
        cluster_from_form(form)


@given(st.text(st.sampled_from(METACHARACTERS.strip() + " []~ab1"), min_size=1))
def test_shell_characters_are_fine_in_a_password(password: str) -> None:
    assert validate_password(SecretStr(password)).get_secret_value() == password


@given(SAFE, st.characters(categories=["Cc"]))
def test_a_control_character_in_a_password_is_named_not_the_password(
    secret: str, bad: str
) -> None:
    message = f"contains {describe_char(bad)} which is not allowed in a password"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        validate_password(SecretStr(secret + bad))


# --------------------------------------------------------------------------- the config


def test_to_cluster_config_round_trips_without_the_password(tmp_path: Path) -> None:
    form = valid_form()
    form.hosts[0].key_file = "~/.ssh/id_ed25519"
    form.hosts[1].port = "2222"
    form.hosts[2].auth = Auth.PASSWORD
    form.set(host_key(2, "password"), PASSWORD)
    cluster = cluster_from_form(form)
    assert cluster.hosts[0].key_file == Path.home() / ".ssh/id_ed25519"
    assert (cluster.hosts[1].port, cluster.hosts[2].password_auth) == (2222, True)
    assert cluster.interfaces.compute == "eth2"
    path = tmp_path / "config.toml"
    save_config(Config(clusters=[cluster]), path)
    assert load_config(path).clusters == [cluster]
    for text in (path.read_text(), repr(form), str(form), repr(form.hosts[2]),
                 repr(cluster), str(FormInvalid(form.errors()))):
        assert PASSWORD not in text
    assert form.passwords()["hv3"].get_secret_value() == PASSWORD


def test_the_external_datastore_is_saved_in_the_config(tmp_path: Path) -> None:
    nfs = cluster_from_form(valid_form(hosts=1, layout=Layout.EXTERNAL))
    assert nfs.datastore == DatastoreConfig(nfs_export="nas1:/export/vms")
    form = valid_form(hosts=2, layout=Layout.EXTERNAL)
    form.storage_kind, form.storage_target = StorageKind.ISCSI, "san1"
    form.iscsi_iqn = "iqn.2003-01.org.example:vms"
    iscsi = cluster_from_form(form)
    assert iscsi.datastore is not None
    assert (iscsi.datastore.iscsi_portal, iscsi.datastore.iscsi_target) == (
        "san1:3260", "iqn.2003-01.org.example:vms")
    assert iscsi.datastore.target() == IscsiTarget("san1", 3260, "iqn.2003-01.org.example:vms")
    path = tmp_path / "config.toml"
    save_config(Config(clusters=[nfs.model_copy(update={"name": "b"}), iscsi]), path)
    assert [c.datastore for c in load_config(path).clusters] == [nfs.datastore, iscsi.datastore]
    assert cluster_from_form(valid_form()).datastore is None


def test_an_invalid_form_makes_no_config() -> None:
    form = valid_form()
    form.set("compute_vlans", "4095")
    with pytest.raises(FormInvalid) as e:
        cluster_from_form(form)
    assert e.value.errors == {"compute_vlans": "VLAN 4095 is out of range 1-4094"}
    assert str(e.value) == "compute VLANs: VLAN 4095 is out of range 1-4094"


def test_set_and_get_by_key() -> None:
    form = ClusterForm()
    form.set(host_key(2, "address"), "10.0.0.13")
    assert form.get(host_key(2, "address")) == "10.0.0.13"
    for bad in ("hosts[3].address", "hosts[0].auth", "layout", "nope"):
        with pytest.raises(KeyError):
            form.set(bad, "x")
    with pytest.raises(KeyError):
        form.get(host_key(0, "password"))
