"""Latency on the lab links, for benchmarks: tc netem, or an NFQUEUE delayer where the kernel
has no sch_netem (this one: CONFIG_NET_SCH_NETEM is not set and modules cannot be loaded).

The delay is added to every packet a lab host sends on its eth0, so a round trip between the
app (root namespace) and a host grows by delay_ms, and between two hosts by 2 * delay_ms.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from mvm_tui.lab import netns as net
from mvm_tui.lab.model import (
    SCRIPTS,
    LabError,
    LabHost,
    Say,
    current,
    host_dir,
    lab_dir,
    process_alive,
    record,
    require_root,
    run,
    wait_for,
)

_RULE = ["OUTPUT", "-o", "eth0", "-j", "NFQUEUE", "--queue-num", "0", "--queue-bypass"]


def _state_file() -> Path:
    return lab_dir() / "netem"


def current_delay() -> float:
    """The delay in ms set by netem() (0 when none)."""
    try:
        return float(_state_file().read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0


def netem(delay_ms: float, say: Say | None = None) -> str:
    """Delay every packet the lab hosts send by `delay_ms` ms (0 removes the delay).
    Returns how: "tc-netem", "nfqueue" or "none"."""
    require_root()
    info = current()
    if info is None:
        raise LabError("no lab is up: run `python -m mvm_tui.lab up` first")
    if not 0 <= delay_ms <= 10_000:
        raise LabError(f"delay must be 0..10000 ms, got {delay_ms:g}")
    for h in info.hosts:
        _clear(h)
    method = "none"
    if delay_ms > 0:
        for h in info.hosts:
            method = _apply(h, delay_ms)
        _state_file().write_text(f"{delay_ms:g} {method}\n")
    else:
        _state_file().unlink(missing_ok=True)
    if say:
        say(f"delay {delay_ms:g} ms on every lab host's eth0 ({method})")
    return method


def reapply(h: LabHost) -> None:
    """After a host was restored: set the lab's delay on it again."""
    ms = current_delay()
    if ms > 0 and net.anchor_alive(h.index):
        _clear(h)
        _apply(h, ms)


def _ns(h: LabHost, *cmd: str) -> list[str]:
    return ["ip", "netns", "exec", h.netns, *cmd]


def _pidfile(h: LabHost) -> Path:
    return host_dir(h.index) / "run-lab" / "nfqdelay.pid"


def _clear(h: LabHost) -> None:
    run(_ns(h, "tc", "qdisc", "del", "dev", "eth0", "root"), check=False)
    for _ in range(10):
        if run(_ns(h, "iptables", "-w", "-D", *_RULE), check=False).returncode != 0:
            break
    try:
        pid = int(_pidfile(h).read_text())
    except (OSError, ValueError):
        return
    if process_alive(pid):
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not process_alive(pid), 5, "the packet delayer to stop")
    _pidfile(h).unlink(missing_ok=True)


def _apply(h: LabHost, ms: float) -> str:
    log = lab_dir() / "lab.log"
    tc = run(_ns(h, "tc", "qdisc", "replace", "dev", "eth0", "root", "netem", "delay",
                 f"{ms:g}ms"), check=False, log=log)
    if tc.returncode == 0:
        return "tc-netem"
    pidfile = _pidfile(h)
    run(_ns(h, "setsid", "-f", sys.executable, str(SCRIPTS / "nfqdelay.py"), f"{ms:g}",
            str(pidfile)), log=log)
    wait_for(pidfile.exists, 5, f"the packet delayer on {h.name}")
    record(int(pidfile.read_text()), h.name, "nfqdelay")
    run(_ns(h, "iptables", "-w", "-A", *_RULE), log=log)
    return "nfqueue"
