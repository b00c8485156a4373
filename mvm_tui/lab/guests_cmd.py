"""`mvm-tui lab guests`: list the lab's guests, and start tiny guests spread over its hosts,
so the TUI has VMs to show without any Python (what tests/lab/conftest.py does with
lab.define_guest).

    mvm-tui lab guests                  every domain on every lab host: host, state, kind
    mvm-tui lab guests start [N]        guest-1 .. guest-N running (made where missing, on the
                                        host with the fewest guests; started where shut off)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from mvm_tui.lab import netns as net
from mvm_tui.lab.guests import GUEST_KINDS, define_guest
from mvm_tui.lab.model import LabError, LabInfo, Say, current, lab_dir, require_root, run

DEFAULT_COUNT = 3
PREFIX = "guest"
MAX_COUNT = 50  # 64 MiB each: more than this is a mistake on a test machine
VIRSH = ("virsh", "-q", "-c", "qemu:///system")
# `virsh list --all`: " 3    tiny-a   running" / " -    tiny-b   shut off"
_LINE = re.compile(r"^\s*(\S+)\s+(.+?)\s+(running|idle|paused|in shutdown|shut off|crashed|"
                   r"pmsuspended)\s*$")


@dataclass(frozen=True)
class GuestRow:
    name: str
    host: str  # the lab host that has it defined (h1, ...)
    state: str  # as virsh says it: running, shut off, paused...
    kind: str  # as define_guest made it, or "-" for a domain made otherwise (mvm-tui, by hand)


def _lab() -> LabInfo:
    require_root()
    info = current()
    if info is None:
        raise LabError("no lab is up: run `mvm-tui lab up` first")
    return info


def _kinds() -> dict[str, str]:
    """Guest name -> kind, for the guests define_guest made."""
    try:
        made = json.loads((lab_dir() / "guests.json").read_text())
    except (OSError, ValueError):
        return {}
    return {str(g["name"]): str(g["kind"]) for g in made if isinstance(g, dict) and
            "name" in g and "kind" in g} if isinstance(made, list) else {}


def list_guests() -> tuple[list[GuestRow], list[str]]:
    """Every domain defined on a lab host that runs (a domain on two hosts: a row each), and
    the hosts that could not be asked (powered off, or their libvirtd does not answer)."""
    info = _lab()
    kinds, rows, missing = _kinds(), [], []
    for h in info.hosts:
        if not net.anchor_alive(h.index):
            missing.append(f"{h.name} (powered off)")
            continue
        out = run(net.hx(h.index, *VIRSH, "list", "--all"), check=False, timeout=30)
        if out.returncode != 0:
            missing.append(f"{h.name} (libvirtd does not answer)")
            continue
        for line in out.stdout.splitlines():
            found = _LINE.match(line)
            if found:
                name = found.group(2)
                rows.append(GuestRow(name, h.name, found.group(3), kinds.get(name, "-")))
    rows.sort(key=lambda r: (r.name, r.host))
    return rows, missing


def guest_lines(rows: list[GuestRow], missing: list[str]) -> list[str]:
    """The table `lab guests` prints."""
    if not rows:
        lines = ["no guests: `mvm-tui lab guests start` makes some"]
    else:
        width = max(len("GUEST"), *(len(r.name) for r in rows))
        lines = [f"{'GUEST':<{width}}  HOST  {'STATE':<9} KIND"]
        lines += [f"{r.name:<{width}}  {r.host:<4}  {r.state:<9} {r.kind}" for r in rows]
    lines += [f"not asked: {m}" for m in missing]
    return lines


def start_guests(count: int = DEFAULT_COUNT, kind: str = "nodisk",
                 say: Say | None = None) -> list[GuestRow]:
    """guest-1 .. guest-`count` running: each missing one made (kind `kind`) on the running
    host with the fewest guests, each shut-off one started where it is. Returns them."""
    if not 1 <= count <= MAX_COUNT:
        raise LabError(f"the number of guests must be 1..{MAX_COUNT}, got {count}")
    if kind not in GUEST_KINDS:
        raise LabError(f"unknown guest kind {kind!r}: one of {', '.join(GUEST_KINDS)}")
    info = _lab()
    tell = say or (lambda _: None)
    rows, _ = list_guests()
    up = [h.name for h in info.hosts if net.anchor_alive(h.index)]
    if not up:
        raise LabError("every lab host is powered off: `mvm-tui lab restore HOST` first")
    load = {h: sum(r.host == h for r in rows) for h in up}
    for n in range(1, count + 1):
        name = f"{PREFIX}-{n}"
        have = [r for r in rows if r.name == name]
        if not have:
            host = min(up, key=lambda h: (load[h], h))
            define_guest(host, name, kind)
            load[host] += 1
            tell(f"{name}: made ({kind}) and started on {host}")
        elif any(r.state == "running" for r in have):
            tell(f"{name}: running on {have[0].host} already")
        else:
            row = have[0]
            index = info.host(row.host).index
            if not net.anchor_alive(index):
                raise LabError(f"{name} is defined on {row.host}, which is powered off: "
                               f"`mvm-tui lab restore {row.host}` first")
            run(net.hx(index, *VIRSH, "start", name), timeout=120, log=lab_dir() / "lab.log")
            tell(f"{name}: started on {row.host} (it was {row.state})")
    wanted = {f"{PREFIX}-{n}" for n in range(1, count + 1)}
    return [r for r in list_guests()[0] if r.name in wanted]
