"""What CephBootstrap (provision_ceph.py) runs on the hosts, over SSH as root: its files
(ceph.conf's text) and keys, the argv of its commands, and the preview of each of its steps:
those commands, with what is only known as the step runs in capitals (FSID, HOSTNAME, SECRET),
said in a comment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mvm_tui.backends.host_commands import on_host
from mvm_tui.services.provision import script_command

VIRSH = ("virsh", "-q", "-c", "qemu:///system")

CONF = "/etc/ceph/ceph.conf"
ADMIN = "/etc/ceph/ceph.client.admin.keyring"
BOOTSTRAP_OSD = "/var/lib/ceph/bootstrap-osd/ceph.keyring"
TMP = "/var/lib/ceph/tmp"
MON_KEYRING = f"{TMP}/mon.keyring"
MONMAP = f"{TMP}/monmap"
KEYS = {  # file -> ceph-authtool arguments that make it
    ADMIN: ["-n", "client.admin", "--cap", "mon", "allow *", "--cap", "osd", "allow *",
            "--cap", "mds", "allow *", "--cap", "mgr", "allow *"],
    BOOTSTRAP_OSD: ["-n", "client.bootstrap-osd", "--cap", "mon", "profile bootstrap-osd",
                    "--cap", "mgr", "allow r"],
    MON_KEYRING: ["-n", "mon.", "--cap", "mon", "allow *"],
}
HOSTNAME = "its hostname -s"


@dataclass(frozen=True)
class CephHost:
    name: str  # as mvm-tui names it
    address: str


def mon_addr(address: str) -> str:
    return f"[v2:{address}:3300,v1:{address}:6789]"


def mon_host(hosts: Sequence[CephHost]) -> str:
    return ",".join(mon_addr(h.address) for h in hosts)


def ceph_conf(fsid: str, hosts: Sequence[CephHost], extra: Sequence[str] = ()) -> str:
    size = min(3, len(hosts))
    lines = ["[global]", f"fsid = {fsid}", f"mon_host = {mon_host(hosts)}",
             "auth_cluster_required = cephx", "auth_service_required = cephx",
             "auth_client_required = cephx", "auth_allow_insecure_global_id_reclaim = false",
             f"osd_pool_default_size = {size}", f"osd_pool_default_min_size = {max(1, size - 1)}",
             "osd_crush_chooseleaf_type = 1", *extra]
    return "\n".join(lines) + "\n"


def fsid_of(conf: str) -> str | None:
    """The fsid a ceph.conf's text names, or None."""
    for line in conf.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "fsid" and value.strip():
            return value.strip()
    return None


def ceph_json(*words: str) -> list[str]:
    return ["timeout", "15", "ceph", *words, "-f", "json"]


def make_key(path: str) -> list[str]:
    return ["ceph-authtool", "--create-keyring", path, "--gen-key", *KEYS[path]]


def monmap(fsid: str, hosts: Sequence[CephHost], mons: Mapping[str, str]) -> list[str]:
    args = ["monmaptool", "--create", "--fsid", fsid]
    for h in hosts:
        args += ["--addv", mons[h.name], mon_addr(h.address)]
    return [*args, MONMAP]


def libvirt_key(pool: str) -> list[str]:
    return ["timeout", "30", "ceph", "auth", "get-or-create-key", "client.libvirt", "mon",
            "profile rbd", "osd", f"profile rbd pool={pool}"]


def rbd_pool(pool: str, size: int) -> list[list[str]]:
    return [["timeout", "60", "ceph", *words] for words in (
        ["osd", "pool", "create", pool, "32", "32", "replicated"],
        ["osd", "pool", "set", pool, "size", str(size)],
        ["osd", "pool", "application", "enable", pool, "rbd"])]


def write(path: str, mode: str) -> list[str]:
    """Write stdin to `path` (made with its directories) with `mode`."""
    return ["install", "-D", "-m", mode, "/dev/stdin", path]


# -- the previews, one per step


def script(host: str, *args: str) -> str:
    return script_command(host, "ceph.sh", args)


def preview_monitors(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"{script(h, 'mon', 'HOSTNAME')}  # HOSTNAME: {HOSTNAME}" for h in names)


def preview_manager(first: str) -> tuple[str, ...]:
    return (f"{script(first, 'mgr', 'HOSTNAME')}  # HOSTNAME: {HOSTNAME}",)


def preview_configure(first: str, hosts: Sequence[CephHost]) -> tuple[str, ...]:
    """ceph.conf, the keys and the monmap made on `first` (unless there already), then written
    to every host."""
    names = {h.name: "HOSTNAME" for h in hosts}
    made = [on_host(first, make_key(path)) for path in KEYS]
    made.append(f"{on_host(first, monmap('FSID', hosts, names))}  # FSID: ceph.conf's (new for "
                f"a new cluster); HOSTNAME: each host's hostname -s")
    for h in hosts:
        made += [f"{on_host(h.name, write(CONF, '644'))}  # stdin: ceph.conf (fsid FSID)",
                 f"{on_host(h.name, write(ADMIN, '600'))}  # stdin: the keys made above",
                 on_host(h.name, write(BOOTSTRAP_OSD, "600")),
                 on_host(h.name, write(MON_KEYRING, "600")),
                 f"{on_host(h.name, ['sh', '-c', f'base64 -d > {MONMAP}'])}  # stdin: the "
                 "monmap"]
    return tuple(made)


def preview_copy(first: str, join: Sequence[str]) -> tuple[str, ...]:
    files = ((CONF, "644"), (ADMIN, "600"), (BOOTSTRAP_OSD, "600"))
    read = [on_host(first, ["cat", path]) for path, _ in files]
    return (*read, *(f"{on_host(h, write(path, mode))}  # stdin: {path} of {first}"
                     for h in join for path, mode in files))


def preview_libvirt(first: str, targets: Sequence[str], pool: str) -> tuple[str, ...]:
    def virsh(host: str, *words: str) -> str:
        return on_host(host, [*VIRSH, *words])

    return (on_host(first, libvirt_key(pool)), *(line for h in targets for line in (
        f"{virsh(h, 'secret-define', '/dev/stdin')}  # stdin: the secret's XML (uuid SECRET)",
        f"{virsh(h, 'secret-set-value', 'SECRET', '--file', '/dev/stdin')}  # stdin: the key "
        "printed above",
        f"{virsh(h, 'pool-define', '/dev/stdin')}  # stdin: the XML of the RBD pool {pool}",
        virsh(h, "pool-start", pool), virsh(h, "pool-autostart", pool))))


def preview_joined(first: str, join: Sequence[str]) -> tuple[str, ...]:
    return (*(on_host(h, [*VIRSH, "version"]) for h in join),
            on_host(first, ceph_json("osd", "tree")))
