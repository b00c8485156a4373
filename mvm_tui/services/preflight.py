"""Preflight of the hosts of a new cluster (or a new worker), before anything is changed: a
checklist per host, over SSH with the credentials the operator gave (read-only commands).
Hosts are checked at once; a host that cannot be reached has every other check "not run".
The cluster's CPU model is checked against what libvirt reports, where libvirt is there already;
when it is not usable on some host, the fix names the models usable on every host that said."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mvm_tui import paths
from mvm_tui.backends.base import BackendError, HostUnreachable
from mvm_tui.backends.reach import ssh_target
from mvm_tui.backends.ssh import SshOptions, SshPool, SshTarget
from mvm_tui.backends.ssh.errors import AuthFailed, HostKeyChanged, HostKeyUnknown
from mvm_tui.backends.ssh.pool import Purpose, UnknownKeyPolicy
from mvm_tui.config import ClusterConfig, DatastoreConfig
from mvm_tui.core import cpu_models as cpu
from mvm_tui.core import preflight as pf
from mvm_tui.core.form_validation import NfsExport
from mvm_tui.core.preflight import Item
from mvm_tui.models import Layout

NFS_PORT = 2049


@dataclass(frozen=True)
class PreflightHost:
    name: str
    address: str
    port: int = 22
    user: str = "root"
    key_file: Path | None = None
    password: str | None = field(default=None, repr=False)  # login and sudo; memory only
    # how to reach it, from its config (backends.reach.ssh_target): its own known_hosts and
    # proxy_jump; None (a host typed in by hand): the fields above and the spec's known_hosts
    target: SshTarget | None = None

    def ssh_target(self, known_hosts: Path) -> SshTarget:
        if self.target is not None:
            return self.target
        return SshTarget(self.name, self.address, self.port, self.user, self.key_file,
                         known_hosts, password_auth=self.password is not None)


@dataclass(frozen=True)
class PreflightReport:
    host: str
    items: tuple[Item, ...]

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.items)


@dataclass(frozen=True)
class PreflightSpec:
    hosts: tuple[PreflightHost, ...]
    devices: tuple[str, ...]  # data devices (Ceph), on every host
    interfaces: tuple[str, ...]  # management, storage, compute
    known_hosts: Path
    cpu_model: str = cpu.HOST_MODEL
    datastore: tuple[str, str, int] | None = None  # external storage: (what, address, port)


async def run_preflight(spec: PreflightSpec, unknown_key: UnknownKeyPolicy | None = None,
                        options: SshOptions | None = None) -> list[PreflightReport]:
    by_name = {h.name: h for h in spec.hosts}

    async def password(target: SshTarget, purpose: Purpose) -> str:
        secret = by_name[target.name].password
        if secret is None:
            raise AuthFailed(f"{target.label}: a {purpose} password is needed and none was given")
        return secret

    pool = SshPool([h.ssh_target(spec.known_hosts) for h in spec.hosts],
                   options or SshOptions(connect_timeout=10, command_timeout=30),
                   ask_password=password, unknown_key=unknown_key)
    usable: dict[str, tuple[str, ...]] = {}  # host: its CPU models, where libvirt said
    try:
        reports = await asyncio.gather(*(_one(pool, h, spec, usable) for h in spec.hosts))
    finally:
        await pool.close()
    return _fix_with_common_models(list(reports), usable, spec.cpu_model)


async def _one(pool: SshPool, h: PreflightHost, spec: PreflightSpec,
               usable: dict[str, tuple[str, ...]]) -> PreflightReport:
    items: list[Item] = []
    target = pool.target(h.name)
    reach = f"SSH to {h.user}@{h.address}:{h.port}"
    if target.proxy_jump:
        reach += f" through {target.proxy_jump}"
    try:
        await pool.run(h.name, ["true"])
    except HostKeyUnknown as exc:
        items += [Item(reach, "fail", "the host key was not accepted",
                       f"compare {exc.fingerprint} with the host's own (ssh-keygen -lf "
                       "/etc/ssh/ssh_host_ed25519_key.pub on its console) and accept it")]
        return _not_run(h, items)
    except HostKeyChanged as exc:
        items.append(Item(reach, "fail", str(exc),
                          "a changed key may be an attack: check it before removing the old one "
                          "from known_hosts"))
        return _not_run(h, items)
    except AuthFailed as exc:
        items.append(Item(reach, "fail", str(exc), "check the user, the key file or the password"))
        return _not_run(h, items)
    except (HostUnreachable, BackendError) as exc:
        items.append(Item(reach, "fail", str(exc),
                          "check the address and the port, and that sshd runs and is not "
                          "firewalled"))
        return _not_run(h, items)
    items += [Item(reach, "ok", "logged in"),
              Item("host key", "ok", f"known and accepted ({target.known_hosts})")]
    try:
        await pool.run(h.name, ["true"], sudo=True)
        items.append(Item("sudo", "ok", "works" if h.user != "root" else "root"))
    except BackendError as exc:
        items.append(Item("sudo", "fail", str(exc),
                          f"let {h.user} use sudo (with its password or NOPASSWD)"))

    async def out(argv: list[str]) -> tuple[int, str]:
        r = await pool.run(h.name, argv, check=False)
        return r.exit_status, r.stdout

    items.append(pf.check_os((await out(["cat", "/etc/os-release"]))[1]))
    items.append(pf.check_virtualisation((await out(pf.VIRT_CMD))[1]))
    items.append(pf.check_memory((await out(["cat", "/proc/meminfo"]))[1], len(spec.devices)))
    for device in spec.devices:
        status, text = await out(["lsblk", "-J", "-b", "-o", pf.LSBLK_COLUMNS, device])
        items.append(pf.check_device(device, text, status))
    items += pf.check_interfaces((await out(["ip", "-j", "link"]))[1], spec.interfaces)
    items.append(pf.check_static_address((await out(["ip", "-j", "addr"]))[1], h.address))
    if spec.datastore is not None:
        what, address, port = spec.datastore
        r = await pool.run(h.name, pf.datastore_cmd(address, port), check=False)
        items.append(pf.check_datastore(what, address, port, r.exit_status, r.stderr))
    models = await usable_cpu_models(pool, h.name)
    if isinstance(models, Item):
        items.append(models)
    else:
        usable[h.name] = models
        items.append(cpu.check_cpu_model(spec.cpu_model, models))
    return PreflightReport(h.name, tuple(items))


async def usable_cpu_models(pool: SshPool, host: str) -> tuple[str, ...] | Item:
    """The CPU models libvirt can give VMs on `host`, or the item saying why it cannot tell."""
    try:
        r = await pool.run(host, cpu.DOMCAPS_CMD, sudo=True, check=False)
    except BackendError as exc:
        return Item(cpu.CHECK, "warn", f"virsh domcapabilities: {exc}", cpu.LATER)
    return cpu.read_domcapabilities(r.exit_status, r.stdout, r.stderr)


def _fix_with_common_models(reports: list[PreflightReport],
                            usable: Mapping[str, tuple[str, ...]],
                            model: str) -> list[PreflightReport]:
    """With several hosts, a refused model's fix names the models usable on all of them: the
    cluster has one model."""
    if len(usable) < 2:
        return reports
    common = cpu.usable_on_all(usable.values())
    return [PreflightReport(r.host, tuple(
        cpu.check_cpu_model(model, usable[r.host], common)
        if i.check == cpu.CHECK and i.status == "fail" else i for i in r.items))
        for r in reports]


def _not_run(h: PreflightHost, items: list[Item]) -> PreflightReport:
    items.append(Item("other checks", "fail", "not run: the host cannot be reached",
                      "fix the SSH access first"))
    return PreflightReport(h.name, tuple(items))


def spec_from_config(cluster: ClusterConfig, passwords: Mapping[str, str]) -> PreflightSpec:
    """What to check on the hosts of a cluster about to be built (the wizard's result)."""
    hosts = tuple(PreflightHost(h.name, h.address, h.port, h.user, h.key_file,
                                passwords.get(h.name),
                                ssh_target(cluster, h, password_auth=h.name in passwords))
                  for h in cluster.hosts)
    i = cluster.interfaces
    devices = tuple(cluster.data_devices) if cluster.layout is Layout.HCI else ()
    known = cluster.known_hosts or paths.known_hosts_path()  # the hosts' default
    return PreflightSpec(hosts, devices, (i.management, i.storage, i.compute), known,
                         cluster.cpu_model, _datastore(cluster.datastore))


def _datastore(datastore: DatastoreConfig | None) -> tuple[str, str, int] | None:
    if datastore is None:
        return None
    target = datastore.target()
    if isinstance(target, NfsExport):
        return "NFS server", target.server, NFS_PORT
    return "iSCSI portal", target.portal, target.port


async def trust_preflight(cluster: ClusterConfig, unknown_key: UnknownKeyPolicy | None = None,
                          options: SshOptions | None = None) -> list[PreflightReport]:
    """Preflight of an existing cluster's migration trust: on every host, whether it logs in to
    each other host the way its libvirtd does for a migration (its own key, the peer's host key
    known); each failure says what to fix. Read-only."""
    from mvm_tui.services.migration_trust import MigrationTrust, trust_hosts

    pool = SshPool([ssh_target(cluster, h.name) for h in cluster.hosts],
                   options or SshOptions(connect_timeout=10, command_timeout=60),
                   unknown_key=unknown_key)
    try:
        checker = MigrationTrust(None, pool, cluster.name, register=False)
        found = await checker.check(trust_hosts(cluster))
    finally:
        await pool.close()
    return [PreflightReport(name, tuple(items)) for name, items in found.items()]
