"""A host's own network and disk counters, read in one SSH command per poll, as rates.

The host's network and disk load are not the sums of its VMs' (a host also carries Ceph
replication, SSH, its own disks): they come from the kernel's counters, /proc/net/dev and
/proc/diskstats, read with what tells the devices apart (/sys/class/net, /sys/block) and the
maintenance marker in one `sh -c` over the host's pooled SSH connection. Rates are the
differences between two polls (the first poll gives 0; a counter that went back, a device
that came or went, counts 0 for that interval).

Which interfaces count (`counted_interfaces`): the host's physical NICs (a `device` in
sysfs: bond members count, the bond does not). A host without any (a container, or the lab's
network namespaces) counts its links to the outside instead: veth or macvlan ends that are not
a bridge port and not paired with another interface of the same host. Never counted: lo,
bridges, tun/tap devices (the VMs' NICs: what they send out crosses an uplink, and what stays
inside the host is no network load), VLAN sub-interfaces, bonds, Open vSwitch ports.

Which disks count (`counted_disks`): whole disks with a device in sysfs (sd*, vd*, nvme*n*,
...), never partitions, loop, device-mapper, md, zram or network block devices (rbd, nbd:
their bytes travel over the network and are counted there).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

SECTOR = 512  # /proc/diskstats counts 512-byte sectors whatever the device's own size
NETWORK_BLOCK = ("rbd", "nbd", "drbd")

SCRIPT = r"""
echo '# net'; cat /proc/net/dev
echo '# disk'; cat /proc/diskstats
echo '# links'
cd /sys/class/net && for n in *; do
  f=-
  [ -e "$n/device" ] && f="${f}d"
  [ -d "$n/bridge" ] && f="${f}b"
  [ -e "$n/tun_flags" ] && f="${f}t"
  [ -e "$n/master" ] && f="${f}m"
  [ -d "$n/bonding" ] && f="${f}B"
  t=-
  while IFS='=' read -r k v; do [ "$k" = DEVTYPE ] && t="$v"; done < "$n/uevent"
  read -r i < "$n/ifindex"; read -r l < "$n/iflink"
  echo "$n $i $l $f $t"
done
echo '# blocks'
cd /sys/block && for b in *; do [ -e "$b/device" ] && echo "$b"; done
echo '# maintenance'
[ -e "$1" ] && echo yes
exit 0
"""


def command(maintenance_marker: PurePosixPath) -> list[str]:
    """The one command a poll runs on the host (as the SSH user: nothing needs root)."""
    return ["sh", "-c", SCRIPT, "mvm-counters", str(maintenance_marker)]


@dataclass(frozen=True)
class Link:
    """An interface as /sys/class/net describes it."""

    name: str
    ifindex: int
    iflink: int
    physical: bool  # a device behind it (a NIC)
    bridge: bool
    tap: bool
    enslaved: bool  # a bridge port or bond member
    bond: bool
    devtype: str  # DEVTYPE of its uevent ("vlan", "bond", "wlan", ...) or ""


@dataclass(frozen=True)
class HostCounters:
    """One reading of a host's counters (bytes since boot)."""

    net: dict[str, tuple[int, int]] = field(default_factory=dict)  # iface -> rx, tx
    disks: dict[str, tuple[int, int]] = field(default_factory=dict)  # disk -> read, written
    links: dict[str, Link] = field(default_factory=dict)
    block_devices: frozenset[str] = frozenset()  # /sys/block entries with a device
    maintenance: bool = False


def _sections(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("# "):
            current = out.setdefault(line[2:].strip(), [])
        elif current is not None and line.strip():
            current.append(line)
    return out


def parse_net_dev(lines: Iterable[str]) -> dict[str, tuple[int, int]]:
    """/proc/net/dev: "  eth0: rx_bytes rx_packets ... (8 fields) tx_bytes ..."."""
    out: dict[str, tuple[int, int]] = {}
    for line in lines:
        name, sep, rest = line.partition(":")
        fields = rest.split()
        if not sep or len(fields) < 9 or not fields[0].isdigit():
            continue  # the two header lines
        out[name.strip()] = (int(fields[0]), int(fields[8]))
    return out


def parse_diskstats(lines: Iterable[str]) -> dict[str, tuple[int, int]]:
    """/proc/diskstats: "major minor name reads merged sectors_read ms writes merged
    sectors_written ...", as bytes read and written."""
    out: dict[str, tuple[int, int]] = {}
    for line in lines:
        fields = line.split()
        if len(fields) < 10 or not fields[5].isdigit() or not fields[9].isdigit():
            continue
        out[fields[2]] = (int(fields[5]) * SECTOR, int(fields[9]) * SECTOR)
    return out


def parse_links(lines: Iterable[str]) -> dict[str, Link]:
    out: dict[str, Link] = {}
    for line in lines:
        fields = line.split()
        if len(fields) != 5 or not fields[1].isdigit() or not fields[2].isdigit():
            continue
        name, index, link, flags, devtype = fields
        out[name] = Link(
            name=name, ifindex=int(index), iflink=int(link), physical="d" in flags,
            bridge="b" in flags, tap="t" in flags, enslaved="m" in flags, bond="B" in flags,
            devtype="" if devtype == "-" else devtype,
        )
    return out


def parse(text: str) -> HostCounters:
    """The output of `command()`."""
    s = _sections(text)
    return HostCounters(
        net=parse_net_dev(s.get("net", [])),
        disks=parse_diskstats(s.get("disk", [])),
        links=parse_links(s.get("links", [])),
        block_devices=frozenset(line.strip() for line in s.get("blocks", [])),
        maintenance=any(line.strip() == "yes" for line in s.get("maintenance", [])),
    )


def counted_interfaces(links: Mapping[str, Link]) -> list[str]:
    """The interfaces whose traffic is the host's network load (see the module's doc)."""
    physical = sorted(n for n, link in links.items() if link.physical)
    if physical:
        return physical
    by_index = {link.ifindex: link for link in links.values()}

    def outward(link: Link) -> bool:
        if link.name == "lo" or link.bridge or link.tap or link.enslaved or link.bond:
            return False
        if link.devtype or link.iflink == link.ifindex:
            return False  # a VLAN, bond, OVS internal port... or no peer at all
        peer = by_index.get(link.iflink)
        return not (peer is not None and peer.iflink == link.ifindex)  # a pair in the host

    return sorted(n for n, link in links.items() if outward(link))


def counted_disks(counters: HostCounters) -> list[str]:
    return sorted(n for n in counters.disks
                  if n in counters.block_devices and not n.startswith(NETWORK_BLOCK))


@dataclass(frozen=True)
class HostRates:
    net_rx_bps: float = 0.0
    net_tx_bps: float = 0.0
    disk_rd_bps: float = 0.0
    disk_wr_bps: float = 0.0
    interfaces: tuple[str, ...] = ()  # what the network figures count
    disks: tuple[str, ...] = ()


def _delta(new: Mapping[str, tuple[int, int]], old: Mapping[str, tuple[int, int]],
           names: Iterable[str]) -> tuple[int, int]:
    a = b = 0
    for n in names:
        if n in new and n in old:
            a += max(new[n][0] - old[n][0], 0)
            b += max(new[n][1] - old[n][1], 0)
    return a, b


class CounterTracker:
    """The previous reading of one host, for rates."""

    def __init__(self) -> None:
        self._prev: tuple[float, HostCounters] | None = None

    def rates(self, t: float, counters: HostCounters) -> HostRates:
        """The rates since the previous reading, at monotonic time t (0 on the first)."""
        ifaces, disks = counted_interfaces(counters.links), counted_disks(counters)
        prev, self._prev = self._prev, (t, counters)
        if prev is None or t <= prev[0]:
            return HostRates(interfaces=tuple(ifaces), disks=tuple(disks))
        dt, old = t - prev[0], prev[1]
        rx, tx = _delta(counters.net, old.net, ifaces)
        rd, wr = _delta(counters.disks, old.disks, disks)
        return HostRates(
            net_rx_bps=round(rx / dt, 1), net_tx_bps=round(tx / dt, 1),
            disk_rd_bps=round(rd / dt, 1), disk_wr_bps=round(wr / dt, 1),
            interfaces=tuple(ifaces), disks=tuple(disks),
        )
