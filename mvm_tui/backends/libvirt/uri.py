"""libvirt connection URIs for the hosts of a cluster: qemu+ssh://user@host:port/system?...

Every piece is checked against a strict allow-list before it goes into the URI (paths, which
may hold spaces or non-ASCII letters, are percent-encoded): the URI ends up on command lines
(the virsh previews) and, for peer-to-peer migration, in the source host's libvirtd, so
nothing that could be read as shell or URI syntax gets through.

Host keys are always checked: `no_verify=0`, and `no_tty=1` makes libvirt run ssh with
BatchMode=yes, so an unknown or changed host key fails the connection instead of prompting.

Which parameters each libvirt transport honours (libvirt 9.0, src/remote/remote_driver.c):
* `ssh` (qemu+ssh, runs the ssh binary): keyfile (-i), no_verify, no_tty. It ignores
  known_hosts and sshauth: ssh checks host keys against its own files (~/.ssh/known_hosts,
  /etc/ssh/ssh_known_hosts, or UserKnownHostsFile in ~/.ssh/config).
* `libssh` / `libssh2` (qemu+libssh2://, built-in ssh clients): keyfile, known_hosts and
  sshauth; libssh also known_hosts_verify (we set "normal": unknown or changed keys are
  refused); libssh2 refuses a changed key, and an unknown one with no_tty (no one to ask:
  seen in the lab, "SSH host key ... was not accepted").
The URI carries the same parameters for every transport, so a host entry can switch transport
without losing its known_hosts file.

Migration (peer to peer) uses a URI of its own, migration_uri(): the source host's libvirtd
opens it, so it names the key path ON THE SOURCE HOST (MIGRATION_KEY, made there by
provisioning, mvm_tui/provision/migration.sh) and nothing of the jump box; its `ssh` transport
checks the destination's host key in the source's /etc/ssh/ssh_known_hosts (also provisioned).

`test:///...` URIs (libvirt's test driver: "test:///default" or "test:///abs/path/node.xml")
pass through unchanged, after the same character check, for tests and demos.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal
from urllib.parse import quote

from mvm_tui.core.migration_trust import MIGRATION_KEY

Transport = Literal["ssh", "libssh", "libssh2"]
TRANSPORTS: tuple[Transport, ...] = ("ssh", "libssh", "libssh2")
# libssh2 honours the URI's known_hosts file (plain ssh would use ~/.ssh/known_hosts). Not
# libssh: with it, libvirt's client (9.0, libssh 0.10.6) dies of SIGSEGV after a reply of
# about 3 to 7 KB, a domain's XML (`virsh -c qemu+libssh://... dumpxml` of a domain with a
# 3,000-6,000 character description, seen here; 1,000 or 20,000 pass; libssh2 and ssh pass).
DEFAULT_TRANSPORT: Transport = "libssh2"
SSH_AUTH = "privkey,agent"

_USER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?")
# absolute paths without control characters (a space or a non-ASCII letter is fine: every
# character but [A-Za-z0-9._/,-] is percent-encoded in the URI, and libvirt decodes it)
_PATH = re.compile(r"/[^\x00-\x1f\x7f]{0,4095}")
_WHOLE_URI = re.compile(
    r"qemu\+(ssh|libssh|libssh2)://([^/?#\s]+)/system(\?[A-Za-z0-9._/,=&%+@-]*)?"
)
_TEST_URI = re.compile(r"test:///(?:default|/?[A-Za-z0-9._/+@-]{1,4095})")


class UriError(ValueError):
    """A piece of a host's connection settings is not acceptable in a libvirt URI."""


def is_test_uri(uri: str) -> bool:
    return uri.startswith("test:///")


def check_test_uri(uri: str) -> str:
    """The test-driver URI itself, once it is known to hold nothing but plain characters."""
    if not _TEST_URI.fullmatch(uri) or "/../" in uri or uri.endswith("/.."):
        raise UriError(f"not an acceptable test driver URI: {uri!r}")
    return uri


def check_user(user: str) -> str:
    if not _USER.fullmatch(user):
        raise UriError(f"not an acceptable ssh user name: {user!r}")
    return user


def check_address(address: str) -> str:
    """A hostname, an IPv4 address or an IPv6 address (returned in brackets for the URI)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        if not _HOSTNAME.fullmatch(address) or address.replace(".", "").isdigit():
            raise UriError(f"not an acceptable host address: {address!r}") from None
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id is not None:
            raise UriError(f"IPv6 zone ids are not supported: {address!r}")
        return f"[{ip.compressed}]"
    return ip.compressed


def check_port(port: int) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise UriError(f"not an acceptable ssh port: {port!r}")
    return port


def check_path(path: str, what: str) -> str:
    if not _PATH.fullmatch(path) or any(part == ".." for part in path.split("/")):
        raise UriError(f"{what} must be an absolute path without control characters or "
                       f"'..': {path!r}")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise UriError(f"{what} is not valid UTF-8: {path!r}") from None
    return path


def build_uri(
    user: str,
    address: str,
    *,
    port: int | None = None,
    keyfile: str | None = None,
    known_hosts: str | None = None,
    transport: Transport = "ssh",
) -> str:
    """The libvirt URI of a host's system libvirtd, reached over ssh.

    build_uri("root", "10.213.0.11", keyfile="/tmp/k") gives
    qemu+ssh://root@10.213.0.11/system?keyfile=/tmp/k&no_verify=0&no_tty=1&sshauth=privkey,agent

    An address that is a test-driver URI is returned as it is (the other pieces are ignored).
    Raises UriError for anything that is not plainly a user name, host, port or path.
    """
    if is_test_uri(address):
        return check_test_uri(address)
    if transport not in TRANSPORTS:
        raise UriError(f"unknown libvirt ssh transport: {transport!r}")
    authority = f"{quote(check_user(user), safe='')}@{check_address(address)}"
    if port is not None:
        authority += f":{check_port(port)}"
    params: list[tuple[str, str]] = []
    if keyfile is not None:
        params.append(("keyfile", check_path(keyfile, "the ssh key file")))
    if known_hosts is not None:
        params.append(("known_hosts", check_path(known_hosts, "the known_hosts file")))
        if transport != "ssh":
            params.append(("known_hosts_verify", "normal"))
    params += [("no_verify", "0"), ("no_tty", "1"), ("sshauth", SSH_AUTH)]
    query = "&".join(f"{k}={quote(v, safe='/,')}" for k, v in params)
    return f"qemu+{transport}://{authority}/system?{query}"


def unix_uri(socket: str) -> str:
    """The URI of a system libvirtd reached through a local socket (a host behind a bastion:
    the socket is forwarded to the host's over SSH, see backends.ssh.libvirt_tunnel)."""
    path = check_path(socket, "the libvirt socket")
    return f"qemu+unix:///system?socket={quote(path, safe='/,')}"


def quote_uri(uri: str) -> str:
    """The URI in single quotes, always (shlex.quote would leave a plain one bare)."""
    return "'" + uri.replace("'", "'\"'\"'") + "'"


def check_uri(uri: str) -> str:
    """A URI given whole (e.g. from a config file): a test-driver URI, or one build_uri could
    have made (same characters; parameters are not re-parsed)."""
    if is_test_uri(uri):
        return check_test_uri(uri)
    m = _WHOLE_URI.fullmatch(uri)
    if m is None:
        raise UriError(f"not an acceptable libvirt URI: {uri!r}")
    authority = m.group(2)
    user, sep, hostport = authority.rpartition("@")
    if sep:
        check_user(user)
    host, port = hostport, None
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        if rest:
            port = rest.removeprefix(":")
    elif ":" in hostport:
        host, port = hostport.split(":", 1)
    check_address(host)
    if port is not None and (not port.isdigit() or not 1 <= int(port) <= 65535):
        raise UriError(f"not an acceptable port in {uri!r}")
    return uri




def migration_uri(user: str, address: str, port: int = 22) -> str:
    """How a cluster host's libvirtd reaches the libvirtd of the host at `address` for a
    peer-to-peer migration: ssh as `user` with the source host's own migration key, the
    destination's host key checked against the source's system known_hosts (BatchMode: an
    unknown or changed key fails).

    migration_uri("root", "10.213.0.12") gives
    qemu+ssh://root@10.213.0.12/system?keyfile=/var/lib/mvm-tui/migration/id_ed25519&no_verify=0&no_tty=1&sshauth=privkey,agent
    """
    return build_uri(user, address, port=port if port != 22 else None, keyfile=MIGRATION_KEY,
                     transport="ssh")
