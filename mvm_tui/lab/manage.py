"""Build the lab, inspect it, tear it down, and inject host faults (cut, power off, restore)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from mvm_tui.lab import netns as net
from mvm_tui.lab.ceph import wait_health_ok
from mvm_tui.lab.cfgfile import SELF_FENCE_AFTER, write_config
from mvm_tui.lab.delay import reapply
from mvm_tui.lab.guests import libvirt_ceph_user
from mvm_tui.lab.model import (
    BRIDGE,
    MAX_HOSTS,
    SCRIPTS,
    LabError,
    LabHost,
    LabInfo,
    Say,
    current,
    host_dir,
    lab_dir,
    record_host_pids,
    recorded_pids,
    require_root,
    run,
    wait_for,
)
from mvm_tui.lab.ovs import COMPUTE_VLANS, OVS_BRIDGE, has_ovs, libvirt_network, ovs_up
from mvm_tui.lab.san import ADDRESS as SAN_ADDRESS
from mvm_tui.lab.san import IQN as SAN_IQN
from mvm_tui.lab.san import san_sockets_remove, san_up
from mvm_tui.lab.trust import set_up_trust

POOL = "vms"
HOSTAGENT = SCRIPTS.parent / "hostagent"  # what runs on every real host: mvm-selffence
MARKER = ".mvm-lab"
KEEP = {"cache", ".lock", MARKER}  # survive `down`: the guest kernel build cache


def _quiet(_: str) -> None:
    pass


class _Clock:
    """Progress lines with the seconds since the start: "[  1.23s] hosts and sshd up"."""

    def __init__(self, say: Say | None) -> None:
        self.say = say or _quiet
        self.t0 = time.monotonic()

    def __call__(self, msg: str) -> None:
        with contextlib.suppress(OSError):  # e.g. a closed pipe: never a reason to fail
            self.say(f"[{time.monotonic() - self.t0:7.2f}s] {msg}")


@contextlib.contextmanager
def _locked() -> Iterator[Path]:
    d = lab_dir()
    if not d.is_dir() or not any(d.iterdir()):
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        (d / MARKER).write_text("state directory of the mvm-tui lab; `down` empties it\n")
    elif not (d / MARKER).exists():
        raise LabError(f"{d} is not a lab state directory (no {MARKER} in it) and not empty: "
                       "set MVM_LAB_DIR to a new or empty directory")
    with (d / ".lock").open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield d


def _log() -> Path:
    return lab_dir() / "lab.log"


def healthy(info: LabInfo) -> bool:
    """Every host's anchor runs and its sshd answers."""
    return all(net.anchor_alive(h.index) and net.ssh_banner(h.address, h.port, 2)
               for h in info.hosts)


def up(hosts: int = 3, ceph: bool = True, *, objectstore: str = "memstore",
       install: bool = True, say: Say | None = None, health_timeout: float = 240,
       ovs: bool = True, bare: bool = False, san: bool = False) -> LabInfo:
    """Build the lab (or return the one that is up): `hosts` netns hosts with sshd and libvirtd,
    with `ovs` Open vSwitch in each (bridge br-compute, userspace datapath, a port group per
    compute VLAN), and with `ceph` one Ceph cluster (a mon and an OSD per host, a mgr on h1,
    pool "vms") waited for until HEALTH_OK. `bare`: hosts that run sshd only (no libvirtd, no
    Open vSwitch, no Ceph), with a spare NIC tr-compute, as a host before provisioning. `san`:
    an iSCSI target for external storage (lab.san). Anything half built is torn down when it
    fails."""
    if bare:
        ceph, ovs = False, False
    require_root()
    if not 1 <= hosts <= MAX_HOSTS:
        raise LabError(f"hosts must be 1..{MAX_HOSTS}, got {hosts}")
    if ceph and hosts < 3:
        raise LabError(f"Ceph needs 3 hosts (3 monitors for a quorum), asked for {hosts}")
    if objectstore not in ("memstore", "bluestore"):
        raise LabError(f"objectstore must be memstore or bluestore, got {objectstore!r}")
    clock = _Clock(say)
    with _locked():
        info = current()
        if info is not None and healthy(info):
            if len(info.hosts) == hosts and info.ceph == ceph and info.san == san:
                if ovs and not all(has_ovs(h.index) for h in info.hosts):
                    ovs_up(info, log=_log())
                    clock(f"Open vSwitch started in the running lab ({OVS_BRIDGE})")
                clock(f"lab already up in {info.directory}")
                return info
            raise LabError(f"a lab with {len(info.hosts)} hosts (ceph {info.ceph}, san "
                           f"{info.san}) is already "
                           "up: run `python -m mvm_tui.lab down` first")
        if info is not None or net.lab_namespaces() or net.link_exists(BRIDGE):
            clock("a partial lab is left: tearing it down first")
            _down(clock)
        try:
            return _build(hosts, ceph, objectstore, install, clock, health_timeout, ovs, bare,
                          san)
        except BaseException:
            try:
                clock("the build failed: tearing down what was started")
            finally:
                _down(clock)
            raise


def _build(n: int, ceph: bool, objectstore: str, install: bool, clock: _Clock,
           health_timeout: float, ovs: bool, bare: bool = False, san: bool = False) -> LabInfo:
    d, log = lab_dir(), _log()
    if install:
        out = run(["bash", SCRIPTS / "install.sh"], timeout=1200, log=log).stdout
        first = (out.splitlines() or [""])[0]
        clock(f"apt: {first}" if first.startswith("installing") else "apt packages present")
    hosts = [LabHost.make(i, d) for i in range(1, n + 1)]
    info = LabInfo(directory=d, hosts=tuple(hosts), ceph=ceph, objectstore=objectstore,
                   pool=POOL if ceph else None, config_path=d / "config.toml",
                   key_file=d / "id_ed25519", known_hosts=d / "known_hosts", san=san)
    net.create_network(hosts, log)
    if san:
        san_up(log)
        clock(f"SAN: iSCSI target {SAN_IQN} at {SAN_ADDRESS}")
    net.create_loop_devices(hosts, log)
    clock(f"network: bridge {BRIDGE}, {n} namespaces, loop devices")
    for h in hosts:
        run(["bash", SCRIPTS / "host-up.sh", str(h.index), h.address], env={"LAB": str(d)},
            log=log)
        record_host_pids(h.index)
    _write_known_hosts(info)
    for h in hosts:
        wait_for(partial(net.ssh_banner, h.address, h.port, 1), 20, f"sshd on {h.name}")
    clock("hosts up: anchors + sshd answering")
    if bare:
        for h in hosts:  # the compute NIC provisioning gives to Open vSwitch
            run(net.hx(h.index, "ip", "link", "add", "tr-compute", "type", "veth", "peer",
                       "name", "tr-compute-p"), log=log)
            for link in ("tr-compute", "tr-compute-p"):
                run(net.hx(h.index, "ip", "link", "set", link, "up"), log=log)
        write_config(info)
        info.save(d / "state.json")
        clock("bare hosts: sshd only")
        return info
    _start_services(hosts, log, hosts)
    clock("libvirtd up on every host")
    if ovs:
        ovs_up(info, log=log)
        vlans = ", ".join(map(str, COMPUTE_VLANS))
        clock(f"Open vSwitch up on every host: {OVS_BRIDGE} (netdev), VLANs {vlans}")
    if ceph:
        addrs = " ".join(h.address for h in hosts)
        run(["bash", SCRIPTS / "ceph-up.sh"], timeout=300, log=log,
            env={"LAB": str(d), "ADDRS": addrs, "OBJSTORE": objectstore})
        for h in hosts:
            record_host_pids(h.index)
        clock(f"ceph daemons started ({n} mon, 1 mgr, {n} {objectstore} OSD, pool {POOL})")
        wait_health_ok(info, health_timeout)
        clock("ceph HEALTH_OK")
        libvirt_ceph_user(info, log)
        if ovs:
            for h in hosts:
                libvirt_network(h, log)
        clock("client.libvirt and its libvirt secret (and the libvirt network br-compute) on "
              "every host, as provisioning makes them")
    set_up_trust(info, log)  # as provisioning does: each host's own key, its peers trust it
    clock("migration trust: every host logs in to every other with its own key")
    write_config(info)
    info.save(d / "state.json")
    clock(f"lab up; mvm-tui config: {info.config_path}")
    return info


def _self_fence_env(h: LabHost, everyone: list[LabHost]) -> dict[str, str]:
    peers = " ".join(f"{p.address}:{p.port}" for p in everyone if p.name != h.name)
    return {"SELFFENCE": str(HOSTAGENT / "mvm-selffence"),
            "SELFFENCE_AFTER": f"{SELF_FENCE_AFTER:g}", "SELFFENCE_PEERS": peers}


def _start_services(hosts: list[LabHost], log: Path, everyone: list[LabHost]) -> None:
    """libvirtd (and Ceph daemons that have data) in every host, in parallel, and the
    self-fencing agent (its peers: everyone else). libvirtd's QEMU capability probe (~8 s) is
    cached across hosts and labs in cache/libvirt-caps."""
    caps = lab_dir() / "cache" / "libvirt-caps"
    for h in hosts:
        target = host_dir(h.index) / "cache-libvirt" / "qemu" / "capabilities"
        if caps.is_dir() and not target.is_dir():
            shutil.copytree(caps, target)
    with ThreadPoolExecutor(len(hosts)) as pool:
        futures = [pool.submit(run, net.hx(h.index, "bash", SCRIPTS / "services-up.sh"),
                               timeout=180, log=log, env=_self_fence_env(h, everyone))
                   for h in hosts]
        for f in futures:
            f.result()
    for h in hosts:
        record_host_pids(h.index)
    probed = host_dir(hosts[0].index) / "cache-libvirt" / "qemu" / "capabilities"
    if probed.is_dir():
        shutil.copytree(probed, caps, dirs_exist_ok=True)


def _write_known_hosts(info: LabInfo) -> None:
    lines = [f"{h.address} {net.host_public_key(h.index)}\n" for h in info.hosts]
    info.known_hosts.write_text("".join(lines))


def down(say: Say | None = None) -> None:
    """Tear down everything the lab started, also after a failed or partial build: kill its
    processes by pid (and every process in an mvmlab- netns), delete the namespaces and the
    bridge, detach the loop devices and remove the state files (the guest cache stays)."""
    require_root()
    with _locked():
        _down(_Clock(say))


def _in_proc_table(pid: int, start: int) -> bool:
    """The process still has an entry, alive or a zombie (unlike model.process_alive)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rindex(")") + 2 :].split()[19]) == start
    except (OSError, ValueError, IndexError):
        return False


def _wait_reaped(started: list[dict[str, object]], timeout: float = 5.0) -> None:
    """Wait (bounded, never failing) until the killed daemons are reaped: they are orphans of
    PID 1, which here reaps only every ~2 s, and a zombie still shows in ps and pgrep."""
    entries = [(int(str(e["pid"])), int(str(e["start"]))) for e in started]
    with contextlib.suppress(LabError):
        wait_for(lambda: not any(_in_proc_table(p, s) for p, s in entries), timeout,
                 "killed lab processes to be reaped", step=0.05)


def _down(clock: _Clock) -> None:
    namespaces = net.lab_namespaces()
    started = recorded_pids()
    error = None
    try:
        killed = net.kill_processes(namespaces)
    except LabError as e:  # still remove the rest, then say so
        error, killed = e, -1
    net.delete_network(namespaces)
    net.detach_loop_devices()
    d = lab_dir()
    for entry in d.iterdir() if d.is_dir() else []:
        if entry.name in KEEP:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    for mount_point in ("/run/mvmlab", "/run/openvswitch"):  # made by host-up.sh, if empty
        with contextlib.suppress(OSError):
            os.rmdir(mount_point)
    san_sockets_remove()
    _wait_reaped(started)
    if error is not None:
        raise error
    clock(f"lab down: {killed} processes killed, {len(namespaces)} namespaces removed")


def _need(host: str) -> tuple[LabInfo, LabHost]:
    require_root()
    info = current()
    if info is None:
        raise LabError("no lab is up: run `python -m mvm_tui.lab up` first")
    return info, info.host(host)


def cut(host: str, say: Say | None = None) -> None:
    """Unplug the host's cable: its link goes down, its processes keep running; connections
    to it time out."""
    _, h = _need(host)
    run(["ip", "link", "set", h.veth, "down"], log=_log())
    _Clock(say)(f"{h.name}: cable cut ({h.veth} down)")


def power_off(host: str, say: Say | None = None) -> None:
    """Pull the host's power: link down, SIGKILL of every process in its netns."""
    _, h = _need(host)
    run(["ip", "link", "set", h.veth, "down"], log=_log())
    pids = net.netns_pids(h.netns)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
    wait_for(lambda: not net.netns_pids(h.netns), 10, f"{h.name}'s processes to die")
    d = host_dir(h.index)
    for f in [d / "anchor.pid", *d.glob("run-*/*.pid")]:
        f.unlink(missing_ok=True)
    _Clock(say)(f"{h.name}: powered off ({len(pids)} processes killed)")


def restore(host: str, say: Say | None = None, timeout: float = 60) -> None:
    """Plug the cable back in, and boot the host again if it was powered off: anchor, sshd,
    libvirtd, Open vSwitch and its Ceph daemons (a memstore OSD comes back empty and is
    backfilled)."""
    info, h = _need(host)
    clock, log = _Clock(say), _log()
    run(["ip", "link", "set", h.veth, "up"], log=log)
    if not net.anchor_alive(h.index):
        run(["bash", SCRIPTS / "host-up.sh", str(h.index), h.address],
            env={"LAB": str(info.directory)}, log=log)
    else:
        run(net.hx(h.index, "systemctl", "start", "sshd"), log=log)
    record_host_pids(h.index)
    _start_services([h], log, list(info.hosts))
    if has_ovs(h.index):
        ovs_up(info, [h], log=log)
    reapply(h)
    wait_for(lambda: net.ssh_banner(h.address, h.port, 1), timeout, f"sshd on {h.name}")
    clock(f"{h.name}: restored (link up, sshd, libvirtd, OVS and ceph daemons running)")
