"""libvirt URIs: how a host's ssh settings become one, and what is refused on the way."""

from __future__ import annotations

import shlex

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


@pytest.mark.parametrize(
    "path",
    [
        "relative/key",
        "/keys/id rsa",
        "/keys/id;rm -rf /",
        "/keys/$(id)",
        "/keys/`id`",
        "/keys/id&no_verify=1",
        "/keys/id?x",
        "/keys/id#x",
        "/keys/%6e",
        "/keys/'id'",
        "/keys/../../etc/shadow",
        "/keys/id\n",
        "",
    ],
)
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
