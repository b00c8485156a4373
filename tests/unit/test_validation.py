"""Input validators: normal values, hostile values, and hypothesis properties."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mvm_tui.core.validation import (
    SHELL_METACHARACTERS,
    check_safe,
    format_vlans,
    parse_devices,
    parse_vlans,
    validate_address,
    validate_cpu_model,
    validate_device,
    validate_hostname_label,
    validate_ifname,
    validate_jump_host,
    validate_port,
    validate_user,
)

HOSTILE = [
    "/dev/sdb; reboot",
    "$(id)",
    "a\nb",
    "x'y",
    "`id`",
    "a|b",
    "a&&b",
    "a>b",
    'a"b',
    "a\\b",
    "a\x00b",
    "a\x1bb",
    "a\u202eb",
]

STRING_VALIDATORS: dict[str, Callable[[str], object]] = {
    "check_safe": check_safe,
    "parse_vlans": parse_vlans,
    "validate_device": validate_device,
    "parse_devices": parse_devices,
    "validate_ifname": validate_ifname,
    "validate_address": validate_address,
    "validate_port": validate_port,
    "validate_hostname_label": validate_hostname_label,
    "validate_user": validate_user,
    "validate_cpu_model": validate_cpu_model,
}


# --------------------------------------------------------------------------- VLANs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("22", (22,)),
        (22, (22,)),
        ("22-25", (22, 23, 24, 25)),
        ("22-25,30,40-41", (22, 23, 24, 25, 30, 40, 41)),
        (" 30 , 22 - 23 ", (22, 23, 30)),
        ("25,22-25,22", (22, 23, 24, 25)),
        ([30, "22-23", 22], (22, 23, 30)),
        ("1,4094", (1, 4094)),
        ("", ()),
        ([], ()),
    ],
)
def test_parse_vlans_valid(text: str | int | list[int | str], expected: tuple[int, ...]) -> None:
    assert parse_vlans(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5000", "VLAN 5000 is out of range 1-4094"),
        ("0", "VLAN 0 is out of range 1-4094"),
        (4095, "VLAN 4095 is out of range 1-4094"),
        ("22-5000", "VLAN 5000 is out of range 1-4094"),
        ("25-22", "'25-22': the start of a range must not be above its end"),
        ("22-x", "'22-x' is not a VLAN or a range such as 22-25"),
        ("22,,30", "empty item"),
        ("-5", "'-5' is not a VLAN or a range"),
        ("22;reboot", "contains ';' which is not allowed"),
        ([True], "expected a VLAN number"),
    ],
)
def test_parse_vlans_invalid(text: str | int | list[object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_vlans(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("vlans", "text"),
    [((22, 23, 24, 25, 30), "22-25,30"), ((40, 41), "40-41"), ((7,), "7"), ((), ""),
     ((30, 22, 22, 23), "22-23,30")],
)
def test_format_vlans(vlans: tuple[int, ...], text: str) -> None:
    assert format_vlans(vlans) == text


def test_format_vlans_rejects_out_of_range() -> None:
    with pytest.raises(ValueError, match="VLAN 4095 is out of range"):
        format_vlans([4095])


@given(st.sets(st.integers(min_value=1, max_value=4094), max_size=60))
def test_vlans_round_trip(vlans: set[int]) -> None:
    text = format_vlans(vlans)
    assert parse_vlans(text) == tuple(sorted(vlans))
    assert format_vlans(parse_vlans(text)) == text


@given(st.integers().filter(lambda n: not 1 <= n <= 4094))
def test_vlan_out_of_range_rejected(n: int) -> None:
    with pytest.raises(ValueError, match="out of range 1-4094"):
        parse_vlans(n)


# --------------------------------------------------------------------------- devices


@pytest.mark.parametrize(
    "path",
    [
        "/dev/sdb",
        "/dev/nvme0n1",
        "/dev/vdb",
        "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4",
        "/dev/disk/by-path/pci-0000:00:1f.2-ata-1",
        "/dev/mapper/vg-lv",
    ],
)
def test_validate_device_valid(path: str) -> None:
    assert validate_device(path) == path


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/dev/sdb; reboot", "contains ';'"),
        ("/dev/sd b", "contains a space"),
        ("/dev/../etc/shadow", "contains '..'"),
        ("/etc/passwd", "is not a device path under /dev/"),
        ("sdb", "is not a device path under /dev/"),
        ("/dev/", "is not a device path under /dev/"),
        ("/dev//sdb", "empty or '.' path component"),
        ("/dev/sdb#1", "contains '#'"),
        ("", "is required"),
        ("/dev/$(id)", "contains '$'"),
    ],
)
def test_validate_device_invalid(path: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_device(path)


def test_parse_devices() -> None:
    assert parse_devices("/dev/sdb,/dev/sdc") == ("/dev/sdb", "/dev/sdc")
    assert parse_devices(" /dev/sdb , /dev/sdc ") == ("/dev/sdb", "/dev/sdc")
    assert parse_devices(["/dev/sdb"]) == ("/dev/sdb",)
    assert parse_devices("") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("/dev/sdb,/dev/sdb", "'/dev/sdb' is listed twice"),
        ("/dev/sdb,,/dev/sdc", "item 2 of the device list is empty"),
        ("/dev/sdb,", "item 2 of the device list is empty"),
        ("/dev/sdb,/etc/passwd", "'/etc/passwd': '/etc/passwd' is not a device path"),
        ("/dev/sdb;reboot", "contains ';'"),
    ],
)
def test_parse_devices_invalid(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_devices(text)


# --------------------------------------------------------------------------- network


@pytest.mark.parametrize("name", ["eth0", "enp3s0f1", "bond0.22", "br-mgmt", "a", "x" * 15])
def test_validate_ifname_valid(name: str) -> None:
    assert validate_ifname(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("eth0:1", "contains ':'"),
        ("a/b", "contains '/'"),
        ("a b", "contains a space"),
        ("x" * 16, "longer than 15 characters"),
        ("", "is required"),
        ("..", "is not an interface name"),
        ("-eth0", "must not start with '-'"),
        ("eth0;id", "contains ';'"),
    ],
)
def test_validate_ifname_invalid(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_ifname(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.1", "10.0.0.1"),
        ("192.0.2.11", "192.0.2.11"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("hv1", "hv1"),
        ("hv1.example.net", "hv1.example.net"),
        ("a-b.c0", "a-b.c0"),
        ("1.example.com", "1.example.com"),
    ],
)
def test_validate_address_valid(text: str, expected: str) -> None:
    assert validate_address(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10.0.0.300", "'10.0.0.300' is not an IP address or a host name"),
        ("010.0.0.1", "is not an IP address or a host name"),
        ("1.2.3", "is not an IP address or a host name"),
        ("-host", "is not an IP address or a host name"),
        ("host-", "is not an IP address or a host name"),
        ("a..b", "is not an IP address or a host name"),
        ("a" * 64 + ".com", "is not an IP address or a host name"),
        (".".join(["a" * 60] * 5), "longer than 253 characters"),
        ("host_name", "is not an IP address or a host name"),
        ("2001:db8::g", "is not an IP address or a host name"),
        ("fe80::1%eth0", "scoped IPv6"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("[::1]", "contains '['"),
        ("", "is required"),
    ],
)
def test_validate_address_invalid(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_address(text)


@pytest.mark.parametrize(("value", "expected"), [(22, 22), (1, 1), (65535, 65535), ("2222", 2222)])
def test_validate_port_valid(value: int | str, expected: int) -> None:
    assert validate_port(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [(0, "port 0 is out of range 1-65535"), (65536, "out of range"), (True, "expected a port"),
     ("ssh", "'ssh' is not a port number")],
)
def test_validate_port_invalid(value: int | str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_port(value)


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize("name", ["hv1", "prod", "Rack-2_hv.3", "1st", "x" * 63])
def test_validate_hostname_label_valid(name: str) -> None:
    assert validate_hostname_label(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("-hv1", "must start with a letter or a digit"),
        ("_x", "must start with a letter or a digit"),
        ("x" * 64, "longer than 63"),
        ("hv 1", "contains a space"),
        ("hv1;reboot", "contains ';'"),
        ("", "a name is required"),
        ("hv/1", "contains '/'"),
    ],
)
def test_validate_hostname_label_invalid(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_hostname_label(name)


@pytest.mark.parametrize("name", ["root", "admin", "_svc", "ops-user_2", "a" * 32])
def test_validate_user_valid(name: str) -> None:
    assert validate_user(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Root", "is not a user name"),
        ("1root", "is not a user name"),
        ("a" * 33, "longer than 32"),
        ("machine$", "contains '$'"),
        ("ro ot", "contains a space"),
        ("", "is required"),
    ],
)
def test_validate_user_invalid(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_user(name)


@pytest.mark.parametrize("name", ["host-model", "host-passthrough", "EPYC-Rome", "x86_64",
                                  "Skylake-Server-IBRS", "qemu64"])
def test_validate_cpu_model_valid(name: str) -> None:
    assert validate_cpu_model(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [("host model", "contains a space"), ("-x", "must not start with '-'"), ("$(id)", "'$'"),
     ("", "is required"), ("x" * 65, "longer than 64")],
)
def test_validate_cpu_model_invalid(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_cpu_model(name)


# --------------------------------------------------------------------------- hostile input


@pytest.mark.parametrize("validator", STRING_VALIDATORS.values(), ids=STRING_VALIDATORS.keys())
@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_inputs_rejected(validator: Callable[[str], object], value: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):  # a message that says why
        validator(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/dev/sdb; reboot", "contains ';' which is not allowed"),
        ("$(id)", "contains '$' which is not allowed"),
        ("a\nb", "contains a newline which is not allowed"),
        ("x'y", "contains a single quote (') which is not allowed"),
        ("a\x07b", "contains control character U+0007 which is not allowed"),
    ],
)
def test_check_safe_names_the_character(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        check_safe(value)


def test_check_safe_accepts_plain_text() -> None:
    assert check_safe("hv1.example.net, 22-25 /dev/sdb") == "hv1.example.net, 22-25 /dev/sdb"


@st.composite
def with_metacharacter(draw: st.DrawFn) -> str:
    before = draw(st.text(max_size=20))
    after = draw(st.text(max_size=20))
    return before + draw(st.sampled_from(sorted(SHELL_METACHARACTERS))) + after


@given(with_metacharacter(), st.sampled_from(sorted(STRING_VALIDATORS)))
def test_any_metacharacter_rejected_by_every_validator(value: str, name: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):  # a message that says why
        STRING_VALIDATORS[name](value)


# --------------------------------------------------------------------------- generated valid

labels = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?", fullmatch=True)
host_names = st.lists(labels, min_size=1, max_size=4).map(".".join).filter(
    lambda h: not h.split(".")[-1].isdigit()
)
ip_addresses = st.ip_addresses().filter(lambda ip: not (ip.is_unspecified or ip.is_multicast))


@given(host_names)
def test_generated_host_names_accepted_unchanged(name: str) -> None:
    assert validate_address(name) == name


@given(ip_addresses)
def test_generated_ip_addresses_accepted(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    assert validate_address(str(ip)) == str(ip)


@given(st.from_regex(r"/dev/[a-z][a-z0-9]{0,8}(/[A-Za-z0-9_:+@=-][A-Za-z0-9._:+@=-]{0,30}){0,3}",
                     fullmatch=True))
def test_generated_devices_accepted_unchanged(path: str) -> None:
    assert validate_device(path) == path


@given(st.lists(st.from_regex(r"/dev/sd[a-z]{1,3}", fullmatch=True), unique=True, min_size=1,
                max_size=6))
def test_generated_device_lists_round_trip(paths: list[str]) -> None:
    assert parse_devices(",".join(paths)) == tuple(paths)


@given(st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,14}", fullmatch=True).filter(
    lambda n: n not in (".", "..")))
def test_generated_ifnames_accepted_unchanged(name: str) -> None:
    assert validate_ifname(name) == name


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", fullmatch=True))
def test_generated_names_accepted_unchanged(name: str) -> None:
    assert validate_hostname_label(name) == name


@given(st.from_regex(r"[a-z_][a-z0-9_-]{0,31}", fullmatch=True))
def test_generated_users_accepted_unchanged(name: str) -> None:
    assert validate_user(name) == name


@given(st.from_regex(r"[A-Za-z0-9_.][A-Za-z0-9._-]{0,63}", fullmatch=True))
def test_generated_cpu_models_accepted_unchanged(name: str) -> None:
    assert validate_cpu_model(name) == name


@given(st.integers(min_value=1, max_value=65535))
def test_generated_ports_accepted_unchanged(port: int) -> None:
    assert validate_port(port) == port
    assert validate_port(str(port)) == port


def test_bytes_are_not_a_list_of_vlans_or_devices() -> None:
    with pytest.raises(ValueError, match="expected VLANs"):
        parse_vlans(b"22")
    with pytest.raises(ValueError, match="expected device paths"):
        parse_devices(b"/dev/sdb")  # type: ignore[arg-type]


def test_user_message_names_a_bad_character() -> None:
    with pytest.raises(ValueError, match=r"contains '\.' which is not allowed in a user name"):
        validate_user("ro.ot")


@pytest.mark.parametrize("good", ["bastion", "ops@bastion.example.net", "10.0.0.1:2222",
                                  "ops@jump-1:22"])
def test_jump_hosts(good: str) -> None:
    assert validate_jump_host(good) == good


@pytest.mark.parametrize(("bad", "message"), [
    ("", "an IP address or host name is required"),
    ("ops@", "an IP address or host name is required"),
    ("bastion:0", "port 0 is out of range 1-65535"),
    ("bastion:99999", "port 99999 is out of range 1-65535"),
    ("b;reboot", "contains ';' which is not allowed"),
    ("$(id)@bastion", "contains '$' which is not allowed"),
    ("[2001:db8::1]:22", "contains '[' which is not allowed"),
    ("a b", "'a b' is not an IP address or a host name"),
    ("host:port", "'port' is not a port number"),
])
def test_bad_jump_hosts_are_refused(bad: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        validate_jump_host(bad)
