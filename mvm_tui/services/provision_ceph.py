"""HCI: one Ceph cluster across the new cluster's hosts, as a Run: the packages, ceph.conf and
the keys (made on the first host, carried to the others through this process's memory, never
written on the jump box), a monitor on every host (named after its short hostname, which is
also its CRUSH bucket), a manager on the first host, a bluestore OSD on every data device, the
RBD pool, HEALTH_OK. Every step is idempotent and checks first (mvm_tui/provision/ceph.sh).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.host_commands import on_host
from mvm_tui.backends.ssh import SshPool
from mvm_tui.clock import Clock
from mvm_tui.runs import RunExecutor, RunRecord, Step, StepContext, Targets
from mvm_tui.services import ceph_bootstrap_commands as cmd
from mvm_tui.services.ceph_bootstrap_commands import (
    ADMIN,
    BOOTSTRAP_OSD,
    CONF,
    KEYS,
    MON_KEYRING,
    MONMAP,
    VIRSH,
    CephHost,
    mon_addr,
)
from mvm_tui.services.provision import STEP_TIMEOUT, script_argv, script_text, step_output


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


class CephBootstrap:
    def __init__(self, executor: RunExecutor, pool: SshPool, clock: Clock, cluster: str,
                 *, extra_conf: Sequence[str] = (), rbd_pool: str = "vms",
                 wait_limit: float = 300.0, install: bool = True, register: bool = True) -> None:
        """`register`: False only to read the steps (build()) for a preview."""
        self.executor, self.pool, self.clock = executor, pool, clock
        self.cluster, self.extra_conf, self.rbd_pool = cluster, tuple(extra_conf), rbd_pool
        self.wait_limit = wait_limit
        self.install = install  # missing packages are installed (the lab has no way out)
        self.kind = f"{cluster}:provision.ceph"
        self.script = script_text("ceph.sh")
        if register:
            executor.register(self.kind, self.build)  # replaces an earlier one: this pool now

    @staticmethod
    def params(hosts: Sequence[CephHost], devices: Sequence[str],
               join: Sequence[str] = ()) -> dict[str, Any]:
        return {"hosts": [[h.name, h.address] for h in hosts], "devices": list(devices),
                "join": list(join)}

    def create(self, hosts: Sequence[CephHost], devices: Sequence[str],
               join: Sequence[str] = ()) -> RunRecord:
        """The Run that builds Ceph on `hosts`; with `join`, the run that makes those (the last
        of `hosts`) join the cluster the others already run."""
        params = self.params(hosts, devices, join)
        title = (f"{', '.join(join)} joins Ceph" if join
                 else f"Ceph on {', '.join(h.name for h in hosts)}")
        return self.executor.create(self.kind, title, params, Targets(cluster=self.cluster))

    # -- over SSH

    async def _run(self, host: str, argv: list[str], stdin: str | None = None,
                   ctx: StepContext | None = None) -> tuple[int, str]:
        sink = None if ctx is None else step_output(ctx, host, f"{host}: ")
        r = await self.pool.run(host, argv, sudo=True, stdin=stdin, on_line=sink,
                                timeout=STEP_TIMEOUT, check=False)
        return r.exit_status, r.stdout

    async def _script(self, host: str, args: list[str], ctx: StepContext | None,
                      check: bool = False) -> bool:
        status, _ = await self._run(host, script_argv(args, self.install, check), self.script,
                                    None if check else ctx)
        if status != 0 and not check:
            raise BackendError(f"ceph.sh {' '.join(args)} failed on {host} ({status})")
        return status == 0

    async def _answers(self, host: str) -> bool:
        """libvirtd on `host` answers."""
        return (await self._run(host, [*VIRSH, "version"]))[0] == 0

    async def _read(self, host: str, path: str) -> str | None:
        status, out = await self._run(host, ["cat", path])
        return out if status == 0 else None

    async def _write(self, host: str, path: str, text: str, mode: str = "600") -> None:
        status, _ = await self._run(host, cmd.write(path, mode), text)
        if status != 0:
            raise BackendError(f"cannot write {path} on {host}")

    async def _ceph_json(self, host: str, *words: str) -> Any:
        status, out = await self._run(host, cmd.ceph_json(*words))
        if status != 0:
            return None
        try:
            return json.loads(out)
        except ValueError:
            return None

    async def _on_all(self, hosts: Sequence[str], do: Callable[[str], Awaitable[Any]]) -> list[Any]:
        return list(await asyncio.gather(*(do(h) for h in hosts)))

    async def _wait(self, ctx: StepContext, what: str, done: Callable[[], Awaitable[bool]]) -> None:
        started = self.clock.now()
        while not await done():
            if self.clock.now() - started > self.wait_limit:
                raise BackendError(f"{what}: not within {self.wait_limit:g} s")
            ctx.waiting(what)
            await self.clock.sleep(2.0)

    # -- the steps

    def build(self, params: Mapping[str, Any]) -> Sequence[Step]:
        hosts = [CephHost(str(n), str(a)) for n, a in params["hosts"]]
        devices = [str(d) for d in params["devices"]]
        names = [h.name for h in hosts]
        first = names[0]
        join = [str(h) for h in params.get("join", [])]  # a worker joining a running cluster
        targets = join or names  # the hosts this run installs and gives OSDs
        size = min(3, len(names))  # replicas of the RBD pool
        mons: dict[str, str] = {}  # mvm-tui name -> short hostname (monitor, CRUSH bucket)

        async def hostnames() -> dict[str, str]:
            if not mons:
                for h in names:
                    status, out = await self._run(h, ["hostname", "-s"])
                    mons[h] = out.strip() if status == 0 and out.strip() else h
            return mons

        async def packages(ctx: StepContext) -> None:
            await self._on_all(targets, lambda h: self._script(h, ["packages"], ctx))

        async def packaged(ctx: StepContext) -> bool:
            return all(await self._on_all(targets, lambda h: self._script(
                h, ["packages"], None, check=True)))

        async def copy_config(ctx: StepContext) -> None:
            for path, mode in ((CONF, "644"), (ADMIN, "600"), (BOOTSTRAP_OSD, "600")):
                text = await self._read(first, path)
                if not text:
                    raise BackendError(f"{first} has no {path}: is it a member of the cluster?")
                for h in join:
                    await self._write(h, path, text, mode)
            ctx.log(f"ceph.conf and keys of the cluster copied from {first} to {', '.join(join)}")

        async def configure(ctx: StepContext) -> None:
            m = await hostnames()
            conf = await self._read(first, CONF)
            fsid = _fsid(conf or "")
            if fsid is None:
                fsid = str(uuid.uuid4())
                conf = ceph_conf(fsid, hosts, self.extra_conf)
                ctx.log(f"new Ceph cluster {fsid}")
            else:
                ctx.log(f"Ceph cluster {fsid} already configured on {first}")
            assert conf is not None
            keys: dict[str, str] = {}
            for path in KEYS:
                text = await self._read(first, path)
                if not text:
                    await self._run(first, ["mkdir", "-p", path.rsplit("/", 1)[0]])
                    status, _ = await self._run(first, cmd.make_key(path))
                    text = await self._read(first, path)
                    if status != 0 or not text:
                        raise BackendError(f"cannot make the key {path} on {first}")
                keys[path] = text
            mon_keyring = keys[MON_KEYRING] + keys[ADMIN] + keys[BOOTSTRAP_OSD]
            monmap = await self._monmap(first, fsid, hosts, m)
            for h in names:
                await self._write(h, CONF, conf, "644")
                await self._write(h, ADMIN, keys[ADMIN])
                await self._write(h, BOOTSTRAP_OSD, keys[BOOTSTRAP_OSD])
                await self._write(h, MON_KEYRING, mon_keyring)
                status, _ = await self._run(h, ["sh", "-c", f"base64 -d > {MONMAP}"], monmap)
                if status != 0:
                    raise BackendError(f"cannot write the monmap on {h}")
            ctx.log(f"ceph.conf, keys and monmap on {', '.join(names)}")

        async def configured(ctx: StepContext) -> bool:
            fsids = {_fsid(await self._read(h, CONF) or "") for h in names}
            keys = [await self._read(h, ADMIN) for h in names]
            return len(fsids) == 1 and None not in fsids and all(keys)

        async def monitors(ctx: StepContext) -> None:
            m = await hostnames()
            await self._on_all(names, lambda h: self._script(h, ["mon", m[h]], ctx))
            await self._wait(ctx, "the monitors to form a quorum", lambda: quorate(ctx))

        async def quorate(ctx: StepContext) -> bool:
            m = await hostnames()
            q = await self._ceph_json(first, "quorum_status")
            return bool(q) and set(m.values()) <= set(q.get("quorum_names", []))

        async def manager(ctx: StepContext) -> None:
            m = await hostnames()
            await self._script(first, ["mgr", m[first]], ctx)

        async def managed(ctx: StepContext) -> bool:
            m = await hostnames()
            return await self._script(first, ["mgr", m[first]], None, check=True)

        async def osds(ctx: StepContext) -> None:
            async def on(h: str) -> None:
                for d in devices:
                    await self._script(h, ["osd", d], ctx)
            await self._on_all(targets, on)
            await self._wait(ctx, "every OSD up", lambda: osds_up(ctx))

        async def osds_up(ctx: StepContext) -> bool:
            m = await hostnames()
            tree = await self._ceph_json(first, "osd", "tree")
            if not tree:
                return False
            nodes = {n.get("id"): n for n in tree.get("nodes", [])}
            for h in targets:
                bucket = next((n for n in nodes.values() if n.get("type") == "host"
                               and n.get("name") == m[h]), None)
                osds = [nodes[c] for c in (bucket or {}).get("children", []) if c in nodes]
                if sum(o.get("status") == "up" and o.get("reweight", 0) > 0
                       for o in osds) < len(devices):
                    return False
            return True

        async def rbd_pool(ctx: StepContext) -> None:
            if not await has_pool(ctx):
                for argv in cmd.rbd_pool(self.rbd_pool, size):
                    status, _ = await self._run(first, argv, None, ctx)
                    if status != 0:
                        raise BackendError(f"{' '.join(argv[2:])} failed ({status})")
            else:
                ctx.log(f"pool {self.rbd_pool} already there")

        async def has_pool(ctx: StepContext) -> bool:
            pools = await self._ceph_json(first, "osd", "pool", "ls")
            return bool(pools) and self.rbd_pool in pools

        async def healthy(ctx: StepContext) -> bool:
            s = await self._ceph_json(first, "health")
            return bool(s) and s.get("status") == "HEALTH_OK"

        async def wait_healthy(ctx: StepContext) -> None:
            await self._wait(ctx, "HEALTH_OK", lambda: healthy(ctx))

        async def libvirt_pool(ctx: StepContext) -> None:
            status, key = await self._run(first, cmd.libvirt_key(self.rbd_pool))
            if status != 0 or not key.strip():
                raise BackendError(f"cannot make the key of client.libvirt on {first}")
            fsid = _fsid(await self._read(first, CONF) or "") or ""
            secret = str(uuid.uuid5(uuid.NAMESPACE_URL, f"ceph:{fsid}:client.libvirt"))
            secret_xml = (f"<secret ephemeral='no' private='yes'><uuid>{secret}</uuid><usage "
                          "type='ceph'><name>client.libvirt secret</name></usage></secret>")
            pool_xml = (f"<pool type='rbd'><name>{self.rbd_pool}</name><source>"
                        f"<name>{self.rbd_pool}</name>"
                        + "".join(f"<host name='{h.address}' port='6789'/>" for h in hosts)
                        + f"<auth username='libvirt' type='ceph'><secret uuid='{secret}'/>"
                        "</auth></source></pool>")
            for h in targets:
                for argv, stdin in (
                        ([*VIRSH, "secret-define", "/dev/stdin"], secret_xml),
                        # the key is base64, as the file is read (not on a command line)
                        ([*VIRSH, "secret-set-value", secret, "--file", "/dev/stdin"],
                         key.strip())):
                    status, _ = await self._run(h, argv, stdin)
                    if status != 0:
                        raise BackendError(f"{' '.join(argv[4:6])} failed on {h}")
                if not await rbd_backend(h) and self.install:
                    # a failure leaves VMs on RBD network disks, said below: not fatal
                    await self._run(h, script_argv(["libvirt-rbd"]), self.script, ctx)
                if not await rbd_backend(h):
                    ctx.log(f"{h}: libvirt has no RBD storage backend (package "
                            "libvirt-daemon-driver-storage-rbd): no storage pool; VMs use RBD "
                            f"network disks with the secret {secret}", "err")
                elif not await pool_active(h):
                    status, _ = await self._run(h, [*VIRSH, "pool-define", "/dev/stdin"],
                                                pool_xml)
                    for verb in ("pool-start", "pool-autostart"):
                        status = status or (await self._run(h, [*VIRSH, verb,
                                                                self.rbd_pool]))[0]
                    if status != 0:
                        raise BackendError(f"cannot define the storage pool on {h}")
                    ctx.log(f"{h}: storage pool {self.rbd_pool}")
                ctx.log(f"{h}: libvirt secret {secret}: the key of client.libvirt")

        async def pool_active(h: str) -> bool:
            status, out = await self._run(h, [*VIRSH, "pool-info", self.rbd_pool])
            return status == 0 and any(line.startswith("State:") and "running" in line
                                       for line in out.splitlines())

        async def rbd_backend(h: str) -> bool:
            status, out = await self._run(h, [*VIRSH, "pool-capabilities"])
            return status == 0 and "type='rbd' supported='yes'" in out

        async def prepared(h: str) -> bool:
            status, out = await self._run(h, [*VIRSH, "secret-list"])
            has_secret = status == 0 and "client.libvirt secret" in out
            return has_secret and (await pool_active(h) or not await rbd_backend(h))

        async def pools_active(ctx: StepContext) -> bool:
            return all(await self._on_all(targets, prepared))

        async def joined(ctx: StepContext) -> bool:
            for h in join:
                if not await self._answers(h):
                    return False
            return await osds_up(ctx) and await pools_active(ctx)

        async def verify_join(ctx: StepContext) -> None:
            if not await joined(ctx):
                raise BackendError(f"installed but did not join: {', '.join(join)} must answer "
                                   "libvirt, be in the CRUSH map with its OSDs up and in, and "
                                   "have the libvirt secret")
            ctx.log(f"{', '.join(join)} joined: libvirt answers, its OSDs are up and in")

        libvirt_step = Step(
            f"libvirt: the key of client.libvirt and the RBD storage pool {self.rbd_pool} on "
            f"{', '.join(targets)}", cmd.preview_libvirt(first, targets, self.rbd_pool),
            libvirt_pool, pools_active)
        osd_step = Step(f"an OSD on {', '.join(devices)} of {', '.join(targets)}", tuple(
            cmd.script(h, "osd", d) for h in targets for d in devices), osds, osds_up)
        health_step = Step("HEALTH_OK", (on_host(first, cmd.ceph_json("health")),),
                           wait_healthy, healthy)
        if join:
            return [
                Step(f"Ceph packages on {', '.join(join)}", tuple(
                    cmd.script(h, "packages") for h in join), packages, packaged),
                Step(f"ceph.conf and keys from {first}", cmd.preview_copy(first, join),
                     copy_config, configured),
                osd_step, libvirt_step, health_step,
                Step(f"{', '.join(join)} joined: libvirt, CRUSH, OSDs up and in",
                     cmd.preview_joined(first, join), verify_join, joined),
            ]
        return [
            Step("Ceph packages on every host", tuple(
                cmd.script(h, "packages") for h in names), packages, packaged),
            Step(f"ceph.conf, keys and monmap (made on {first})",
                 cmd.preview_configure(first, hosts), configure, configured),
            Step("a monitor on every host, then their quorum", cmd.preview_monitors(names),
                 monitors, quorate),
            Step(f"a manager on {first}", cmd.preview_manager(first), manager, managed),
            osd_step,
            Step(f"the RBD pool {self.rbd_pool}", tuple(
                on_host(first, argv) for argv in cmd.rbd_pool(self.rbd_pool, size)),
                 rbd_pool, has_pool),
            health_step,
            libvirt_step,
        ]

    async def _monmap(self, first: str, fsid: str, hosts: Sequence[CephHost],
                      mons: Mapping[str, str]) -> str:
        """The monmap (base64), made once on the first host and kept there."""
        status, out = await self._run(first, ["base64", "-w0", MONMAP])
        if status == 0 and out.strip():
            return out
        status, _ = await self._run(first, cmd.monmap(fsid, hosts, mons))
        status2, out = await self._run(first, ["base64", "-w0", MONMAP])
        if status != 0 or status2 != 0:
            raise BackendError(f"cannot make the monmap on {first}")
        return out


def _fsid(conf: str) -> str | None:
    for line in conf.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "fsid" and value.strip():
            return value.strip()
    return None
