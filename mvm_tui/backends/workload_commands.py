"""The commands that make a VM's parts on an HCI cluster's hosts (issue 17), as argv: what the
real backend runs (as root, over SSH) and what every preview shows, the simulator's included.
Names come checked (core/new_vm, core/vm_spec); shlex quotes them in the preview all the same.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from mvm_tui.backends.capabilities import GroupMember
from mvm_tui.core.new_vm import BASE_SNAP, image_rbd

VIRSH = ("virsh", "-q", "-c", "qemu:///system")
OS_KEY = "mvm.os"  # the library image's metadata key holding its OS


def on(host: str, argv: Sequence[str], stdin: str = "") -> str:
    """How a preview shows `argv` run on `host` (and what it reads on stdin)."""
    text = f"{host}: {shlex.join(argv)}"
    return f"{text} < {stdin}" if stdin else text


def import_image(pool: str, path: str, image: str, os: str) -> list[list[str]]:
    """A qcow2 or raw file on the host as a library image: written as a raw RBD image by
    qemu-img (its rbd driver), then the protected snapshot its clones come from."""
    name = f"{pool}/{image_rbd(image)}"
    return [["qemu-img", "convert", "-O", "raw", path, f"rbd:{name}"],
            ["rbd", "image-meta", "set", name, OS_KEY, os],
            ["rbd", "snap", "create", f"{name}@{BASE_SNAP}"],
            ["rbd", "snap", "protect", f"{name}@{BASE_SNAP}"]]


def image_children(pool: str, image: str) -> list[str]:
    return ["rbd", "children", "--all", "--format", "json",
            f"{pool}/{image_rbd(image)}@{BASE_SNAP}"]


def rename_image(pool: str, image: str, new: str) -> list[str]:
    return ["rbd", "rename", f"{pool}/{image_rbd(image)}", f"{pool}/{image_rbd(new)}"]


def remove_image(pool: str, image: str) -> list[list[str]]:
    snap = f"{pool}/{image_rbd(image)}@{BASE_SNAP}"
    return [["rbd", "snap", "unprotect", snap], ["rbd", "snap", "rm", "--no-progress", snap],
            remove(pool, image_rbd(image))]


def list_images(pool: str) -> list[str]:
    return ["rbd", "ls", "--long", "--format", "json", pool]


def image_os(pool: str, image: str) -> list[str]:
    return ["rbd", "image-meta", "get", f"{pool}/{image_rbd(image)}", OS_KEY]


def clone(pool: str, image: str, disk: str, size_gb: int) -> list[list[str]]:
    return [["rbd", "clone", f"{pool}/{image_rbd(image)}@{BASE_SNAP}", f"{pool}/{disk}"],
            resize(pool, disk, size_gb)]


def resize(pool: str, disk: str, size_gb: int) -> list[str]:
    return ["rbd", "resize", "--no-progress", "--size", f"{size_gb}G", f"{pool}/{disk}"]


def volume(pool: str, disk: str, size_gb: int) -> list[str]:
    return ["rbd", "create", "--size", f"{size_gb}G", f"{pool}/{disk}"]


def info(pool: str, disk: str) -> list[str]:
    return ["rbd", "info", "--format", "json", f"{pool}/{disk}"]


def write_seed(pool: str, seed: str) -> list[str]:
    """The seed ISO, base64 on stdin (the SSH channel carries text), as an RBD image."""
    return ["sh", "-c", 'base64 -d | rbd import - "$1"', "-", f"{pool}/{seed}"]


def remove(pool: str, disk: str) -> list[str]:
    return ["rbd", "rm", "--no-progress", f"{pool}/{disk}"]


def undefine(vm: str) -> list[str]:
    return [*VIRSH, "undefine", vm]


def trash(pool: str, disk: str, expires: str) -> list[str]:
    return ["rbd", "trash", "mv", "--expires-at", expires, f"{pool}/{disk}"]


def ha_object(cluster: str) -> str:
    """The RADOS object holding HA's lock and state (services/ha_lease.py, ha_state_rados.py),
    and the marks of deleted VMs."""
    return f"mvm-tui-ha.{cluster}"


def mark(pool: str, cluster: str, vm: str, value: str = "") -> list[str]:
    """Set (with a value), read (without) the mark of a deleted VM."""
    verb = "setxattr" if value else "getxattr"
    return ["rados", "-p", pool, verb, ha_object(cluster), f"deleted.{vm}",
            *([value] if value else [])]


def keep(pool: str, cluster: str, vm: str, write: bool) -> list[str]:
    """Write (from stdin) or read a deleted VM's definition, beside its mark."""
    return ["rados", "-p", pool, "setxattr" if write else "getxattr", ha_object(cluster),
            f"definition.{vm}"]


def forget_kept(pool: str, cluster: str, vm: str) -> list[str]:
    return ["rados", "-p", pool, "rmxattr", ha_object(cluster), f"definition.{vm}"]


def list_kept(pool: str, cluster: str) -> list[str]:
    return ["rados", "-p", pool, "listxattr", ha_object(cluster)]


def trash_list(pool: str) -> list[str]:
    return ["rbd", "trash", "ls", "--long", "--format", "json", pool]


def untrash(pool: str, image_id: str) -> list[str]:
    return ["rbd", "trash", "restore", "--pool", pool, image_id]


def unmark(pool: str, cluster: str, vm: str) -> list[str]:
    return ["rados", "-p", pool, "rmxattr", ha_object(cluster), f"deleted.{vm}"]


def define() -> list[str]:
    return [*VIRSH, "define", "/dev/stdin"]


def domain_uuid(vm: str) -> list[str]:
    return [*VIRSH, "domuuid", vm]


def dumpxml(vm: str, inactive: bool = False) -> list[str]:
    return [*VIRSH, "dumpxml", vm, *(["--inactive"] if inactive else [])]


def domstate(vm: str) -> list[str]:
    return [*VIRSH, "domstate", vm]


PENDING_NS = "https://mvm-tui.dev/xmlns/pending/1"


def mark_pending(vm: str, vcpus: int, memory_mb: int) -> list[str]:
    """What its next boot has, noted in the running VM's live definition: its live XML
    changes, so HA's checks (which copy a VM's definition when its live XML changed) take the
    new definition, the one a failover restart boots."""
    return [*VIRSH, "metadata", vm, "--uri", PENDING_NS, "--key", "mvmpending", "--set",
            f'<pending vcpus="{int(vcpus)}" memory_mib="{int(memory_mb)}"/>', "--live"]


def setvcpus(vm: str, vcpus: int, live: bool) -> list[str]:
    return [*VIRSH, "setvcpus", vm, str(vcpus), "--config", *(["--live"] if live else [])]


def attach(vm: str, live: bool | None = None) -> list[str]:
    """The device XML on stdin attached; `live` None: to the running VM and its definition
    alike (--persistent), else to the running VM (and its definition) or the definition."""
    flags = ["--persistent"] if live is None else ["--live", "--config"] if live else ["--config"]
    return [*VIRSH, "attach-device", vm, "/dev/stdin", *flags]


def detach(vm: str, live: bool) -> list[str]:
    return [*VIRSH, "detach-device", vm, "/dev/stdin",
            *(["--live", "--config"] if live else ["--config"])]


def blockresize(vm: str, target: str, size_gb: int) -> list[str]:
    return [*VIRSH, "blockresize", vm, target, f"{size_gb}G"]


def deep_copy(pool: str, disk: str, new: str) -> list[str]:
    return ["rbd", "deep", "cp", "--no-progress", f"{pool}/{disk}", f"{pool}/{new}"]


def export_seed(pool: str, seed: str) -> list[str]:
    """The seed image, base64 on stdout (the SSH channel carries text)."""
    return ["sh", "-c", 'rbd export --no-progress "$1" - | base64 -w0', "-", f"{pool}/{seed}"]


def rename(pool: str, disk: str, new: str) -> list[str]:
    return ["rbd", "rename", f"{pool}/{disk}", f"{pool}/{new}"]


def domrename(vm: str, new: str) -> list[str]:
    return [*VIRSH, "domrename", vm, new]


# -- snapshots (issue 19): run by backends/real_snapshots.py; a running VM's is one script
# on its host, which thaws (and resumes) the guest in an exit trap whatever happens

META = "mvm.snap."  # + the snapshot's name: its consistency, on the VM's first disk
FREEZE_TIMEOUT_S = 30  # the agent's answer to a freeze or a thaw
SNAP_TIMEOUT_S = 60  # one disk's snapshot, its guest frozen meanwhile


def snap_take(pool: str, vm: str, images: Sequence[str], name: str,
              running: bool) -> list[list[str]]:
    """A VM's snapshot: a running VM's, one script (take_script); a stopped one's, each disk's
    snapshot and its consistency noted."""
    if running:
        return [["sh", "-c", take_script(vm, pool, images, name)]]
    return [*(["rbd", "snap", "create", f"{pool}/{i}@{name}"] for i in images),
            ["rbd", "image-meta", "set", f"{pool}/{images[0]}", META + name, "stopped"]]


def snap_rollback(pool: str, image: str, name: str) -> list[str]:
    return ["rbd", "snap", "rollback", "--no-progress", f"{pool}/{image}@{name}"]


def snap_delete(pool: str, images: Sequence[str], name: str) -> list[list[str]]:
    """Each disk's snapshot removed, then its consistency's note (on the first disk)."""
    return [*(["rbd", "snap", "rm", "--no-progress", f"{pool}/{i}@{name}"] for i in images),
            ["rbd", "image-meta", "remove", f"{pool}/{images[0]}", META + name]]


def t(seconds: int) -> str:
    """A time bound of the script's (in the foreground: a hangup reaches the command too)."""
    return f"timeout --foreground {seconds}"


def take_script(vm: str, pool: str, images: Sequence[str], name: str) -> str:
    """The script that snapshots a running (or paused) VM on its host; it prints the
    snapshot's consistency. The guest is frozen (or paused) for at most FREEZE_TIMEOUT_S +
    SNAP_TIMEOUT_S per disk. It thaws before it writes anything: a reader gone (SIGPIPE,
    ignored) or a hangup (the SSH session's end) never leaves the guest frozen."""
    virsh = shlex.join(VIRSH)
    q = shlex.quote
    snaps = "\n".join(f"{t(SNAP_TIMEOUT_S)} rbd snap create {q(f'{pool}/{i}@{name}')}"
                      for i in images)
    pause = "1" if len(images) > 1 else "0"
    return f"""set -eu
trap '' PIPE
v={q(vm)} frozen=0 paused=0 how=crash
finish() {{
  set +e
  if [ $frozen = 1 ]; then frozen=0; {t(FREEZE_TIMEOUT_S)} {virsh} domfsthaw "$v" >/dev/null \\
    || echo "mvm-tui: the guest of $v was not thawed" >&2; fi
  if [ $paused = 1 ]; then paused=0; {virsh} resume "$v" >/dev/null \\
    || echo "mvm-tui: $v was not resumed" >&2; fi
}}
trap finish EXIT
trap 'exit 129' HUP INT TERM
if [ "$({virsh} domstate "$v")" = running ]; then
  if {t(FREEZE_TIMEOUT_S)} {virsh} domfsfreeze "$v" >/dev/null 2>&1; then
    frozen=1 how=frozen
  else
    [ $? != 124 ] || frozen=1  # (cut short: some filesystems may be frozen)
    if [ {pause} = 1 ]; then {virsh} suspend "$v" >/dev/null; paused=1; fi
  fi
fi
{snaps}
rbd image-meta set {q(f'{pool}/{images[0]}')} {q(META + name)} "$how"
finish
echo "$how"
"""


# A group snapshot (several VMs, maybe on several hosts, at one instant) cannot be one script:
# each host freezes (or pauses) its members and returns, every disk is snapshotted, then each
# host thaws. Before it freezes anything, each host starts a watchdog that thaws (and resumes)
# its members by itself after `hold` seconds, should the thaw never come (this process or its
# connection gone); the thaw stops the watchdog first.

WATCHDOG = "mvm-tui-thaw"  # the watchdog's name in ps
GROUP_TAIL_S = 30  # a group's hold beyond its freezes and snapshots: the thaw's own way there


def group_hold(vms: int, disks: int) -> int:
    """How long a host's watchdog waits before it thaws by itself."""
    return FREEZE_TIMEOUT_S * vms + SNAP_TIMEOUT_S * disks + GROUP_TAIL_S


RUN_DIR = "/run"  # (root's: where the watchdogs' pid files go)


def _pidfile(token: str, vm: str, run_dir: str) -> str:
    return f"{run_dir}/{WATCHDOG}-{token}-{vm}.pid"


def group_freeze_script(vms: Sequence[str], token: str, hold: int,
                        run_dir: str = RUN_DIR) -> str:
    """On one host: its running members frozen through their agents, or paused without one,
    each after its watchdog started (a shut off or paused one is left as it is); prints "VM
    how" per member: frozen, crash (paused here), held (paused already), stopped, failed
    (neither worked)."""
    virsh = shlex.join(VIRSH)
    q = shlex.quote
    lines = ["set -u", "trap '' PIPE"]
    for v in vms:
        undo = (f'echo $$ > "$1"; sleep {hold}; {t(FREEZE_TIMEOUT_S)} {virsh} domfsthaw {q(v)}; '
                f"{virsh} resume {q(v)}")
        lines += [
            f"state=$({virsh} domstate {q(v)})",
            f'if [ "$state" = "shut off" ]; then echo {q(v)} stopped',
            f'elif [ "$state" != running ]; then echo {q(v)} held  # (paused: left so)',
            f"else setsid sh -c {q(undo)} {WATCHDOG} {q(_pidfile(token, v, run_dir))} "
            "</dev/null >/dev/null 2>&1 &",
            f"  if {t(FREEZE_TIMEOUT_S)} {virsh} domfsfreeze {q(v)} >/dev/null 2>&1; then "
            f"echo {q(v)} frozen",
            f"  elif {virsh} suspend {q(v)} >/dev/null; then echo {q(v)} crash",
            f"  else echo {q(v)} failed; fi",
            "fi"]
    return "\n".join(lines) + "\n"


def group_thaw_script(vms: Sequence[str], frozen: Sequence[str], paused: Sequence[str],
                      token: str, run_dir: str = RUN_DIR) -> str:
    """On one host: its members' watchdogs stopped, then its frozen members thawed and its
    paused ones resumed."""
    virsh = shlex.join(VIRSH)
    q = shlex.quote
    lines = ["ok=0"]
    for v in vms:
        pidfile = q(_pidfile(token, v, run_dir))
        # (the watchdog leads a session of its own: its group is it and its sleep)
        lines.append(f"kill -- -$(cat {pidfile} 2>/dev/null) 2>/dev/null; rm -f {pidfile}")
    lines += [f"{t(FREEZE_TIMEOUT_S)} {virsh} domfsthaw {q(v)} >/dev/null || ok=1"
              for v in frozen]
    lines += [f"{virsh} resume {q(v)} >/dev/null || ok=1" for v in paused]
    return "\n".join([*lines, "exit $ok"]) + "\n"


def group_snap_script(pool: str, images: Sequence[str], name: str) -> str:
    """Every member's disk snapshotted (on any host: RBD is the cluster's)."""
    q = shlex.quote
    return "set -e\n" + "\n".join(
        f"{t(SNAP_TIMEOUT_S)} rbd snap create {q(f'{pool}/{i}@{name}')}" for i in images) + "\n"


def group_plan(pool: str, members: Sequence[GroupMember], name: str, token: str
               ) -> tuple[dict[str, list[GroupMember]], list[list[str]], list[str]]:
    """A group snapshot's members by host, each host's freeze, and the snapshots' script."""
    by_host: dict[str, list[GroupMember]] = {}
    for m in members:
        by_host.setdefault(m.host, []).append(m)
    disks = sum(len(m.images) for m in members)
    freezes = [["sh", "-c", group_freeze_script([m.vm for m in ms], token,
                                                group_hold(len(ms), disks))]
               for ms in by_host.values()]
    snaps = ["sh", "-c", group_snap_script(pool, [i for m in members for i in m.images], name)]
    return by_host, freezes, snaps


def group_preview(pool: str, members: Sequence[GroupMember], name: str) -> list[str]:
    token = "TOKEN"  # (a new one at each run)
    by_host, freezes, snaps = group_plan(pool, members, name, token)
    hosts = list(by_host)
    vms = {h: [m.vm for m in ms] for h, ms in by_host.items()}
    return [*(on(h, f) + "  (at once on every host)" for h, f in zip(hosts, freezes,
                                                                     strict=True)),
            on(hosts[0], snaps),
            *(on(h, ["sh", "-c", group_thaw_script(vms[h], vms[h], vms[h], token)])
              + "  (the members it froze, or paused)" for h in hosts)]
