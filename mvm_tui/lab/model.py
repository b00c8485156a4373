"""The lab's names, addresses and state files, and the record of every process it started.

Everything lives under one state directory, $MVM_LAB_DIR (default /tmp/mvm-lab). Network
namespaces and the bridge always use the fixed prefix ``mvmlab-``; addresses are in
10.213.0.0/24 (the root namespace is 10.213.0.1, host hN is 10.213.0.(10+N)).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "BRIDGE", "GATEWAY", "MAX_HOSTS", "NETWORK", "PREFIX", "SCRIPTS", "SUBNET", "LabError",
    "LabHost", "LabInfo", "Say", "host_dir", "lab_dir", "process_alive", "record",
    "record_host_pids", "recorded_pids", "require_root", "run", "start_time", "wait_for",
]

PREFIX = "mvmlab-"
BRIDGE = f"{PREFIX}br0"
SUBNET = "10.213.0"
GATEWAY = f"{SUBNET}.1"
NETWORK = f"{SUBNET}.0/24"
MAX_HOSTS = 20
SCRIPTS = Path(__file__).resolve().parent
DEFAULT_DIR = Path("/tmp/mvm-lab")

Say = Callable[[str], None]


class LabError(Exception):
    """The lab cannot be built or changed; str() says why and what to do."""


def lab_dir() -> Path:
    """$MVM_LAB_DIR, default /tmp/mvm-lab."""
    return Path(os.environ.get("MVM_LAB_DIR") or DEFAULT_DIR).resolve()


def host_dir(index: int) -> Path:
    return lab_dir() / "hosts" / f"h{index}"


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabError(
            "the lab needs root: it creates network namespaces, a bridge and loop devices and "
            "runs sshd, libvirtd and Ceph daemons; run it as root (e.g. sudo)"
        )


@dataclass(frozen=True)
class LabHost:
    """One lab host as mvm-tui reaches it over SSH."""

    name: str  # display name: h1, h2, ...
    index: int
    address: str
    port: int
    user: str
    key_file: Path
    known_hosts: Path
    config_path: Path  # the ready mvm-tui config listing every lab host
    hostname: str  # its UTS hostname, mvmlab-hN (also Ceph's CRUSH host and mon name)
    netns: str
    veth: str  # the root-namespace end of its link (on the bridge)

    @classmethod
    def make(cls, index: int, directory: Path) -> LabHost:
        return cls(
            name=f"h{index}", index=index, address=f"{SUBNET}.{10 + index}", port=22,
            user="root", key_file=directory / "id_ed25519",
            known_hosts=directory / "known_hosts", config_path=directory / "config.toml",
            hostname=f"{PREFIX}h{index}", netns=f"{PREFIX}h{index}", veth=f"mvl-h{index}",
        )


@dataclass(frozen=True)
class LabInfo:
    """A built lab: its hosts, files and what runs on it."""

    directory: Path
    hosts: tuple[LabHost, ...]
    ceph: bool
    objectstore: str
    pool: str | None  # the RBD pool for VM disks ("vms") when Ceph runs
    config_path: Path
    key_file: Path
    known_hosts: Path
    san: bool = False  # the iSCSI target of lab.san runs

    def host(self, name: str) -> LabHost:
        """The host called `name` (h1, mvmlab-h1 or its address); LabError if unknown."""
        for h in self.hosts:
            if name in (h.name, h.hostname, h.address):
                return h
        names = ", ".join(h.name for h in self.hosts)
        raise LabError(f"no lab host {name!r}: the hosts are {names}")

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), default=str, indent=1))

    @classmethod
    def load(cls, path: Path) -> LabInfo:
        data: dict[str, Any] = json.loads(path.read_text())
        paths = ("key_file", "known_hosts", "config_path")
        hosts: list[LabHost] = []
        for h in data.pop("hosts"):
            fields: dict[str, Any] = {k: Path(v) if k in paths else v for k, v in h.items()}
            hosts.append(LabHost(**fields))
        for key in (*paths, "directory"):
            data[key] = Path(data[key])
        return cls(hosts=tuple(hosts), **data)


def run(cmd: Sequence[str | Path], *, timeout: float = 120, env: dict[str, str] | None = None,
        check: bool = True, log: Path | None = None,
        input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `cmd` (no shell) with `input` on its stdin (else none); output is appended to `log`;
    LabError with its tail on failure."""
    args = [str(c) for c in cmd]
    full_env = {**os.environ, **(env or {})}
    # A file, not a pipe: a daemon started by `cmd` may keep its stdout open forever.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        try:
            if input is None:
                res = subprocess.run(args, stdout=out, stderr=err, text=True, timeout=timeout,
                                     env=full_env, stdin=subprocess.DEVNULL)
            else:
                res = subprocess.run(args, stdout=out, stderr=err, text=True, timeout=timeout,
                                     env=full_env, input=input)
        except subprocess.TimeoutExpired:
            raise LabError(f"{' '.join(args)} did not finish within {timeout:g} s") from None
        except FileNotFoundError:
            raise LabError(f"{args[0]} is not installed (python -m mvm_tui.lab install)") from None
        out.seek(0)
        err.seek(0)
        res.stdout, res.stderr = out.read(), err.read()
    if log is not None:
        with log.open("a") as f:
            f.write(f"$ {' '.join(args)}  (rc {res.returncode})\n{res.stdout}{res.stderr}")
    if check and res.returncode != 0:
        tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-12:])
        raise LabError(f"{' '.join(args)} failed (exit {res.returncode}):\n{tail}")
    return res


# --------------------------------------------------------------------------- processes


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks (tells a reused pid apart); None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] in ("Z", "X") else int(fields[19])


def process_alive(pid: int, started: int | None = None) -> bool:
    """True if `pid` runs (not a zombie) and, when given, started at `started`."""
    now = start_time(pid)
    return now is not None and (started is None or now == started)


def _pids_file() -> Path:
    return lab_dir() / "pids.json"


def recorded_pids() -> list[dict[str, object]]:
    """Every process the lab started: [{pid, start, host, what}]."""
    try:
        data = json.loads(_pids_file().read_text())
    except (OSError, ValueError):
        return []
    return data if isinstance(data, list) else []


def record(pid: int, host: str, what: str) -> None:
    started = start_time(pid)
    if started is None:
        return
    entries = recorded_pids()
    if any(e["pid"] == pid and e["start"] == started for e in entries):
        return
    entries.append({"pid": pid, "start": started, "host": host, "what": what})
    _pids_file().write_text(json.dumps(entries, indent=1))


def record_host_pids(index: int) -> None:
    """Record the processes host hN's pid files name (anchor, sshd, libvirtd, Ceph, delayer)."""
    d = host_dir(index)
    files = [d / "anchor.pid", *d.glob("run-lab/*.pid"), *d.glob("run-libvirt/*.pid"),
             *d.glob("run-ceph/*.pid")]
    for f in files:
        with contextlib.suppress(OSError, ValueError):
            record(int(f.read_text().split()[0]), f"h{index}", f.stem)


def wait_for(check: Callable[[], bool], timeout: float, what: str, step: float = 0.1) -> None:
    """Poll `check` until it is true; LabError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise LabError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(step)


def current() -> LabInfo | None:
    """The lab's info as `up` saved it, or None (it may be down or half built)."""
    path = lab_dir() / "state.json"
    try:
        return LabInfo.load(path)
    except (OSError, ValueError, KeyError, TypeError):
        return None
