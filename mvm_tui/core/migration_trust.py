"""The hosts' mutual trust for live migration, pure: what mvm_tui/provision/migration.sh reports
(`key`: a host's migration public key, host keys and addresses; `reach`: whether it reaches
each peer), the lines each host is given (`trust`), and the preflight items of the check.

Peer to peer, the SOURCE host's libvirtd opens the destination's URI (backends.libvirt.uri.
migration_uri): ssh as the destination's login user with the source's own migration key (made
on the source, never leaving it), the destination's host key checked against the source's
/etc/ssh/ssh_known_hosts. So every host gets, for every other host: its public key in the
login user's authorized_keys, restricted to that host's own addresses (from="...",restrict),
and its host keys under the address the URI names.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mvm_tui.core.preflight import Item

PREFIX = "mvm-migration: "
MIGRATION_KEY = "/var/lib/mvm-tui/migration/id_ed25519"  # on every host; made there
MARK = "mvm-tui-migration"
_TYPES = r"(?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521)"
_B64 = r"[A-Za-z0-9+/]+={0,3}"
_PUBLIC = re.compile(rf"{_TYPES} {_B64} {MARK}@[A-Za-z0-9._-]+")
_HOST_KEY = re.compile(rf"{_TYPES} {_B64}")
# the same as migration.sh's AUTH_RE and KNOWN_RE: what a host accepts
AUTH_LINE = re.compile(rf'from="[0-9A-Fa-f.:,]+",restrict {_PUBLIC.pattern}')
KNOWN_LINE = re.compile(rf"[][A-Za-z0-9.:,-]+ {_HOST_KEY.pattern} {MARK}")
CHECK = "migration to {peer}"
FIX = ("set up the hosts' migration trust: `mvm-tui cluster trust --config PATH` (cluster "
       "creation and Add Worker do it on every host)")


class TrustError(ValueError):
    """A host's report cannot be used (no key, or a line that is not one)."""


@dataclass(frozen=True)
class TrustHost:
    """A cluster host as its peers reach it: the URI's address, port and login user."""

    name: str
    address: str
    port: int = 22
    user: str = "root"


@dataclass(frozen=True)
class HostKeys:
    """What `migration.sh key` reported for one host."""

    key: str  # "ssh-ed25519 AAAA... mvm-tui-migration@HOSTNAME"
    host_keys: tuple[str, ...]  # "ssh-ed25519 AAAA..."
    addresses: tuple[str, ...]  # its own global addresses


def parse_key_report(host: str, text: str) -> HostKeys:
    """`migration.sh key`'s output; TrustError if it has no usable key or host key."""
    key, host_keys, addresses = None, [], []
    for raw in text.splitlines():
        if not raw.startswith(PREFIX):
            continue
        kind, _, value = raw[len(PREFIX):].strip().partition(" ")
        if kind == "key" and _PUBLIC.fullmatch(value):
            key = value
        elif kind == "hostkey" and _HOST_KEY.fullmatch(value):
            host_keys.append(value)
        elif kind == "address":
            try:
                addresses.append(ipaddress.ip_address(value).compressed)
            except ValueError:
                continue
    if key is None:
        raise TrustError(f"{host} reported no migration key")
    if not host_keys:
        raise TrustError(f"{host} reported no ssh host key (/etc/ssh/ssh_host_*_key.pub)")
    return HostKeys(key, tuple(host_keys), tuple(addresses))


def known_host_name(address: str, port: int = 22) -> str:
    """How ssh looks the host up in known_hosts: ADDRESS, or [ADDRESS]:PORT."""
    return address if port == 22 else f"[{address}]:{port}"


def _from(peer: TrustHost, keys: HostKeys) -> str:
    addresses = list(keys.addresses)
    with contextlib.suppress(ValueError):  # a DNS name: its own addresses say where from
        addresses.append(ipaddress.ip_address(peer.address).compressed)
    return ",".join(dict.fromkeys(addresses))


def trust_lines(me: TrustHost, hosts: Sequence[TrustHost],
                keys: Mapping[str, HostKeys]) -> list[str]:
    """`migration.sh trust`'s lines for host `me`: every other host's key ("auth:...") and
    host keys ("known:..."). TrustError if a peer has no address to restrict its key to."""
    auth, known = [], []
    for peer in hosts:
        if peer.name == me.name:
            continue
        k = keys[peer.name]
        origin = _from(peer, k)
        if not origin:
            raise TrustError(f"{peer.name} reported no address of its own to allow its key "
                             "from")
        auth.append(f'auth:from="{origin}",restrict {k.key}')
        known += [f"known:{known_host_name(peer.address, peer.port)} {h} {MARK}"
                  for h in k.host_keys]
    for line in auth + known:
        kind, _, text = line.partition(":")
        if not (AUTH_LINE if kind == "auth" else KNOWN_LINE).fullmatch(text):
            raise TrustError(f"not an acceptable {kind} line for {me.name}: {text}")
    return auth + known


def reach_items(me: TrustHost, hosts: Sequence[TrustHost], stdout: str) -> list[Item]:
    """The preflight items of `migration.sh reach` on `me`: one per peer."""
    said: dict[str, tuple[bool, str]] = {}
    nokey = False
    for raw in stdout.splitlines():
        if not raw.startswith(PREFIX):
            continue
        words = raw[len(PREFIX):].strip().split(" ", 3)
        if words[0] == "nokey":
            nokey = True
        elif words[0] == "peer" and len(words) >= 3:
            said[words[1]] = (words[2] == "ok", words[3] if len(words) > 3 else "")
    items = []
    for peer in hosts:
        if peer.name == me.name:
            continue
        check = CHECK.format(peer=peer.name)
        if nokey:
            items.append(Item(check, "fail", f"{me.name} has no migration key ({MIGRATION_KEY})",
                              FIX))
            continue
        ok, detail = said.get(peer.name, (False, "no answer from the check"))
        if ok:
            items.append(Item(check, "ok", f"{me.name}'s libvirtd logs in to {peer.user}@"
                              f"{peer.address} with its own key ({detail})"))
        else:
            items.append(Item(check, "fail", f"{me.name} cannot log in to {peer.user}@"
                              f"{peer.address} for migration: {detail or 'failed'}", FIX))
    return items
