"""`ceph osd dump -f json` (the ratios the cluster uses, each OSD's up/in) and
`ceph osd blocklist ls -f json` (addresses and CIDR ranges), as Ceph 16.2 prints them.

`osd blocklist ls -f json` prints two JSON documents back to back, with no separator:
the address entries, then the range entries (`osd blocklist range add`, Pacific 16.2.11+):

    [{"addr":"10.213.0.13:0/0","until":"..."}][{"range":"10.213.0.0:0/24","until":"..."}]

An address entry is `IP:PORT/NONCE`; port 0 and nonce 0 mean every client of that IP. A range
entry is `IP:0/PREFIXLEN`: the nonce field holds the prefix length.
"""

from __future__ import annotations

import ipaddress
import re

from pydantic import Field

from mvm_tui.ceph_models import Raw

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class OsdDumpOsd(Raw):
    osd: int
    up: int
    in_: int = Field(alias="in")
    weight: float = 0.0


class OsdDump(Raw):
    """`ceph osd dump -f json`: the osdmap."""

    epoch: int
    full_ratio: float
    backfillfull_ratio: float
    nearfull_ratio: float
    osds: tuple[OsdDumpOsd, ...] = ()


def _split(entry: str) -> tuple[str, str, str]:
    """`IP:PORT/NONCE` or `[IPv6]:PORT/NONCE` -> (ip, port, nonce); ValueError if not."""
    addr, slash, nonce = entry.rpartition("/")
    if not slash:
        addr, nonce = entry, "0"
    if addr.startswith("["):
        ip, _, port = addr[1:].partition("]:")
    else:
        ip, colon, port = addr.rpartition(":")
        if not colon:
            ip, port = addr, "0"
    ipaddress.ip_address(ip)
    if not port.isdigit() or not nonce.isdigit():
        raise ValueError(f"not an address: {entry!r}")
    return ip, port, nonce


class BlocklistEntry(Raw):
    addr: str
    until: str = ""

    @property
    def ip(self) -> IpAddress:
        return ipaddress.ip_address(_split(self.addr)[0])

    @property
    def whole_ip(self) -> bool:
        """Every client of the IP (`IP:0/0`), not one client instance (`IP:6800/1234`)."""
        _, port, nonce = _split(self.addr)
        return int(port) == 0 and int(nonce) == 0


class BlocklistRange(Raw):
    range: str
    until: str = ""

    @property
    def network(self) -> IpNetwork:
        ip, _, prefix = _split(self.range)
        return ipaddress.ip_network(f"{ip}/{int(prefix)}", strict=False)


class Blocklist(Raw):
    """Both documents of `ceph osd blocklist ls -f json`."""

    entries: tuple[BlocklistEntry, ...] = ()
    ranges: tuple[BlocklistRange, ...] = ()

    @property
    def addrs(self) -> tuple[str, ...]:
        return tuple(e.addr for e in self.entries)

    def covers(self, ip: str) -> bool:
        """Whether every Ceph client of `ip` is fenced: an entry for the whole IP, or a range
        that holds it. An entry for one client instance (a port and nonce) does not count."""
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:  # not an IP (a host name): only an exact entry can name it
            return f"{ip}:0/0" in self.addrs
        return (any(e.whole_ip and e.ip == address for e in self.entries)
                or any(address in r.network for r in self.ranges))


TIMED_OUT = 124  # the exit status of `timeout N cmd` when cmd ran out of time
# librados' words for a client the OSDs refuse (its address is blocklisted): EBLOCKLISTED
_REFUSED = re.compile(r"\(108\)|Cannot send after transport endpoint shutdown|blocklisted|"
                      r"blacklisted", re.IGNORECASE)


def client_refused(exit_status: int | None, stderr: str) -> bool:
    """A Ceph command that failed because of the host it ran on, not of what it asked: the
    host's client is blocklisted (fenced), or it never got an answer in time."""
    return exit_status == TIMED_OUT or (exit_status != 0 and bool(_REFUSED.search(stderr)))
