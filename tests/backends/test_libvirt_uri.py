"""libvirt URIs: how a host's ssh settings become one, and what is refused on the way."""

from __future__ import annotations

import shlex
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import libvirt  # type: ignore[import-untyped]
import pytest

from mvm_tui.backends.libvirt.power import power_commands
from mvm_tui.backends.libvirt.uri import UriError, build_uri, check_uri
from mvm_tui.models import PowerAction

KEY = "/tmp/lab/id_ed25519"
KNOWN = "/tmp/lab/known_hosts"


def test_a_plain_ssh_uri() -> None:
    assert build_uri("root", "10.213.0.11") == (
        "qemu+ssh://root@10.213.0.11/system?no_verify=0&no_tty=1&sshauth=privkey,agent"
    )


def test_every_piece() -> None:
    uri = build_uri("root", "hv1.lab.example", port=2222, keyfile=KEY, known_hosts=KNOWN)
    assert uri == (
        "qemu+ssh://root@hv1.lab.example:2222/system?keyfile=/tmp/lab/id_ed25519"
        "&known_hosts=/tmp/lab/known_hosts&no_verify=0&no_tty=1&sshauth=privkey,agent"
    )
    assert check_uri(uri) == uri


def test_host_keys_are_always_checked() -> None:
    uri = build_uri("root", "10.0.0.1", keyfile=KEY)
    assert "no_verify=0" in uri
    assert "no_verify=1" not in uri
    assert "no_tty=1" in uri  # ssh in batch mode: an unknown host key fails, never prompts


def test_libssh_transport_verifies_against_the_known_hosts_file() -> None:
    uri = build_uri("root", "10.0.0.1", keyfile=KEY, known_hosts=KNOWN, transport="libssh")
    assert uri.startswith("qemu+libssh://root@10.0.0.1/system?")
    assert "known_hosts=/tmp/lab/known_hosts&known_hosts_verify=normal" in uri


def test_ipv6_addresses_go_in_brackets() -> None:
    assert build_uri("root", "2001:db8::11", port=22).startswith(
        "qemu+ssh://root@[2001:db8::11]:22/system?"
    )


def test_paths_are_url_quoted() -> None:
    uri = build_uri("root", "10.0.0.1", keyfile="/keys/ops+lab@site/id")
    assert "keyfile=/keys/ops%2Blab%40site/id&" in uri


def test_test_driver_uris_pass_through() -> None:
    assert build_uri("ignored", "test:///default") == "test:///default"
    assert build_uri("root", "test:///srv/fixtures/node.xml") == "test:///srv/fixtures/node.xml"
    assert check_uri("test:///default") == "test:///default"


@pytest.mark.parametrize(
    "user",
    ["", "root;id", "root@evil", "ro ot", "$(id)", "`id`", "root'", "a/b", "r\nx", "-oProxy"],
)
def test_hostile_users_are_refused(user: str) -> None:
    with pytest.raises(UriError):
        build_uri(user, "10.0.0.1")


@pytest.mark.parametrize(
    "address",
    [
        "",
        "10.0.0.1;reboot",
        "host name",
        "evil.example/system?x=1",
        "evil.example#",
        "user@host",
        "-oProxyCommand=id",
        "$(id)",
        "fe80::1%eth0",
        "999.1.1.1",
        "a" * 300,
        "host\n",
        "[::1]",
    ],
)
def test_hostile_addresses_are_refused(address: str) -> None:
    with pytest.raises(UriError):
        build_uri("root", address)


@pytest.mark.parametrize("port", [0, 65536, -1, True])
def test_bad_ports_are_refused(port: int) -> None:
    with pytest.raises(UriError):
        build_uri("root", "10.0.0.1", port=port)


ODD_PATHS = [
    "/home/ops team/.ssh/id_ed25519",  # a HOME with a space
    "/home/jürgen/.ssh/id_ed25519",  # or a non-ASCII letter
    "/keys/id;rm -rf /",
    "/keys/$(id)",
    "/keys/`id`",
    "/keys/id&no_verify=1",
    "/keys/id?x",
    "/keys/id#x",
    "/keys/%6e",
    "/keys/'id'",
    "/keys/a+b",
]


@pytest.mark.parametrize("path", ODD_PATHS)
def test_any_absolute_path_is_percent_encoded_and_reads_back_the_same(path: str) -> None:
    for transport in ("ssh", "libssh"):
        uri = build_uri("root", "10.0.0.1", keyfile=path, known_hosts=path,
                        transport=transport)
        assert check_uri(uri) == uri  # nothing but plain URI characters
        params = parse_qsl(urlsplit(uri).query, strict_parsing=True)
        assert dict(params)["keyfile"] == path
        assert dict(params)["known_hosts"] == path
        assert [k for k, _ in params].count("no_verify") == 1
        assert ("no_verify", "0") in params


def test_libvirt_reads_an_odd_key_path_back_exactly(tmp_path: Path) -> None:
    """libvirt's own URI parser: its ssh transport runs `command` (a stand-in for ssh here,
    which records its arguments) with `-i` and the key path, decoded."""
    fake_ssh, argv = tmp_path / "fake ssh", tmp_path / "argv"
    fake_ssh.write_text(f"#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > '{argv}'\n"
                        "exit 1\n")
    fake_ssh.chmod(0o755)
    key = "/home/ops team/jürgen/key'$(id)&no_verify=1;#x%6e"
    uri = build_uri("root", "10.0.0.1", keyfile=key) + "&command=" + quote(str(fake_ssh))
    libvirt.registerErrorHandler(lambda *_: None, None)
    with pytest.raises(libvirt.libvirtError):
        libvirt.open(uri)
    args = argv.read_bytes().split(b"\0")
    assert args[args.index(b"-i") + 1] == key.encode()
    assert b"BatchMode=yes" in args  # (no_tty=1: it never prompts)


@pytest.mark.parametrize(
    "path", ["relative/key", "/keys/../../etc/shadow", "/keys/id\n", "/keys/id\x00", "",
             "/keys/\udcff"])
def test_hostile_paths_are_refused(path: str) -> None:
    with pytest.raises(UriError):
        build_uri("root", "10.0.0.1", keyfile=path)
    with pytest.raises(UriError):
        build_uri("root", "10.0.0.1", known_hosts=path)


@pytest.mark.parametrize(
    "uri",
    [
        "test:///default;id",
        "test:///tmp/x.xml'",
        "test:///../etc/passwd",
        "test:///tmp/a b.xml",
        "qemu:///system",
        "qemu+tcp://10.0.0.1/system",
        "qemu+ssh://root@10.0.0.1/system?keyfile=/k;id",
        "qemu+ssh://root;id@10.0.0.1/system",
        "qemu+ssh://root@10.0.0.1:99999/system",
        "qemu+ssh://root@10.0.0.1/system?x=1 y",
    ],
)
def test_hostile_whole_uris_are_refused(uri: str) -> None:
    with pytest.raises(UriError):
        check_uri(uri)


def test_unknown_transport_is_refused() -> None:
    with pytest.raises(UriError):
        build_uri("root", "10.0.0.1", transport="tcp")  # type: ignore[arg-type]


def test_power_preview_quotes_every_argument() -> None:
    uri = build_uri("root", "10.213.0.11", keyfile=KEY)
    (cmd,) = power_commands(uri, "web-01", PowerAction.SHUTDOWN)
    assert cmd == f"virsh -c '{uri}' shutdown web-01"
    assert shlex.split(cmd) == ["virsh", "-c", uri, "shutdown", "web-01"]
    (cmd,) = power_commands("test:///default", "odd name;id", PowerAction.POWEROFF)
    assert shlex.split(cmd) == ["virsh", "-c", "test:///default", "destroy", "odd name;id"]
    assert cmd == "virsh -c 'test:///default' destroy 'odd name;id'"
