"""The steps of a Ceph run (CephBootstrap.build), each an action and its check: for a new
cluster, the packages, ceph.conf with the keys and the monmap, the monitors, the manager, the
OSDs, the RBD pool, HEALTH_OK and libvirt's secret and pool; for hosts joining a running
cluster, the packages, ceph.conf and the keys copied from the first host, the OSDs, libvirt,
HEALTH_OK and a check that they joined."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.host_commands import on_host
from mvm_tui.runs import Step, StepContext
from mvm_tui.services import ceph_bootstrap_commands as cmd
from mvm_tui.services.ceph_bootstrap_commands import (
    ADMIN,
    BOOTSTRAP_OSD,
    CONF,
    KEYS,
    MON_KEYRING,
    MONMAP,
    CephHost,
    ceph_conf,
    fsid_of,
)
from mvm_tui.services.ceph_libvirt import LibvirtRbd
from mvm_tui.services.ceph_shell import CephShell


def osds_up_under(nodes: Mapping[Any, Any], bucket: str) -> int:
    """How many OSDs of the CRUSH host bucket `bucket` are up and in (`nodes`: ceph osd tree's
    nodes by id)."""
    host = next((n for n in nodes.values() if n.get("type") == "host"
                 and n.get("name") == bucket), None)
    osds = [nodes[c] for c in (host or {}).get("children", []) if c in nodes]
    return sum(o.get("status") == "up" and o.get("reweight", 0) > 0 for o in osds)


class CephSteps:
    def __init__(self, shell: CephShell, params: Mapping[str, Any], *, rbd_pool: str,
                 extra_conf: tuple[str, ...]) -> None:
        self.sh, self.rbd_pool, self.extra_conf = shell, rbd_pool, extra_conf
        self.hosts = [CephHost(str(n), str(a)) for n, a in params["hosts"]]
        self.devices = [str(d) for d in params["devices"]]
        self.names = [h.name for h in self.hosts]
        self.first = self.names[0]
        self.join = [str(h) for h in params.get("join", [])]  # workers joining a running cluster
        self.targets = self.join or self.names  # the hosts this run installs and gives OSDs
        self.size = min(3, len(self.names))  # replicas of the RBD pool
        self.mons: dict[str, str] = {}  # mvm-tui name -> short hostname (monitor, CRUSH bucket)
        self.libvirt = LibvirtRbd(shell, self.hosts, self.targets, rbd_pool)

    def steps(self) -> list[Step]:
        return self._join_steps() if self.join else self._new_cluster_steps()

    def _new_cluster_steps(self) -> list[Step]:
        first, names = self.first, self.names
        return [
            Step("Ceph packages on every host", tuple(
                cmd.script(h, "packages") for h in names), self.packages, self.packaged),
            Step(f"ceph.conf, keys and monmap (made on {first})",
                 cmd.preview_configure(first, self.hosts), self.configure, self.configured),
            Step("a monitor on every host, then their quorum", cmd.preview_monitors(names),
                 self.monitors, self.quorate),
            Step(f"a manager on {first}", cmd.preview_manager(first), self.manager,
                 self.managed),
            self._osd_step(),
            Step(f"the RBD pool {self.rbd_pool}", tuple(
                on_host(first, argv) for argv in cmd.rbd_pool(self.rbd_pool, self.size)),
                 self.make_rbd_pool, self.has_pool),
            self._health_step(),
            self.libvirt.step(),
        ]

    def _join_steps(self) -> list[Step]:
        join, joining = self.join, ", ".join(self.join)
        return [
            Step(f"Ceph packages on {joining}", tuple(
                cmd.script(h, "packages") for h in join), self.packages, self.packaged),
            Step(f"ceph.conf and keys from {self.first}", cmd.preview_copy(self.first, join),
                 self.copy_config, self.configured),
            self._osd_step(), self.libvirt.step(), self._health_step(),
            Step(f"{joining} joined: libvirt, CRUSH, OSDs up and in",
                 cmd.preview_joined(self.first, join), self.verify_join, self.joined),
        ]

    def _osd_step(self) -> Step:
        return Step(f"an OSD on {', '.join(self.devices)} of {', '.join(self.targets)}", tuple(
            cmd.script(h, "osd", d) for h in self.targets for d in self.devices),
            self.osds, self.osds_up)

    def _health_step(self) -> Step:
        return Step("HEALTH_OK", (on_host(self.first, cmd.ceph_json("health")),),
                    self.wait_healthy, self.healthy)

    async def hostnames(self) -> dict[str, str]:
        """Each host's short hostname, asked once per run."""
        if not self.mons:
            for h in self.names:
                status, out = await self.sh.run(h, ["hostname", "-s"])
                self.mons[h] = out.strip() if status == 0 and out.strip() else h
        return self.mons

    # -- packages, ceph.conf and keys

    async def packages(self, ctx: StepContext) -> None:
        await self.sh.on_all(self.targets, lambda h: self.sh.ceph_sh(h, ["packages"], ctx))

    async def packaged(self, ctx: StepContext) -> bool:
        return all(await self.sh.on_all(self.targets, lambda h: self.sh.ceph_sh(
            h, ["packages"], None, check=True)))

    async def copy_config(self, ctx: StepContext) -> None:
        for path, mode in ((CONF, "644"), (ADMIN, "600"), (BOOTSTRAP_OSD, "600")):
            text = await self.sh.read(self.first, path)
            if not text:
                raise BackendError(f"{self.first} has no {path}: is it a member of the "
                                   "cluster?")
            for h in self.join:
                await self.sh.write(h, path, text, mode)
        ctx.log(f"ceph.conf and keys of the cluster copied from {self.first} to "
                f"{', '.join(self.join)}")

    async def configure(self, ctx: StepContext) -> None:
        mons = await self.hostnames()
        fsid, conf = await self._conf(ctx)
        keys = {path: await self._key(path) for path in KEYS}
        mon_keyring = keys[MON_KEYRING] + keys[ADMIN] + keys[BOOTSTRAP_OSD]
        monmap = await self.sh.monmap(self.first, fsid, self.hosts, mons)
        for h in self.names:
            await self.sh.write(h, CONF, conf, "644")
            await self.sh.write(h, ADMIN, keys[ADMIN])
            await self.sh.write(h, BOOTSTRAP_OSD, keys[BOOTSTRAP_OSD])
            await self.sh.write(h, MON_KEYRING, mon_keyring)
            status, _ = await self.sh.run(h, ["sh", "-c", f"base64 -d > {MONMAP}"], monmap)
            if status != 0:
                raise BackendError(f"cannot write the monmap on {h}")
        ctx.log(f"ceph.conf, keys and monmap on {', '.join(self.names)}")

    async def _conf(self, ctx: StepContext) -> tuple[str, str]:
        """The fsid and ceph.conf of the cluster: the first host's, else a new one."""
        conf = await self.sh.read(self.first, CONF)
        fsid = fsid_of(conf or "")
        if fsid is None:
            fsid = str(uuid.uuid4())
            ctx.log(f"new Ceph cluster {fsid}")
            return fsid, ceph_conf(fsid, self.hosts, self.extra_conf)
        ctx.log(f"Ceph cluster {fsid} already configured on {self.first}")
        assert conf is not None
        return fsid, conf

    async def _key(self, path: str) -> str:
        """The key file `path` of the first host, made there unless it is there."""
        text = await self.sh.read(self.first, path)
        if not text:
            await self.sh.run(self.first, ["mkdir", "-p", path.rsplit("/", 1)[0]])
            status, _ = await self.sh.run(self.first, cmd.make_key(path))
            text = await self.sh.read(self.first, path)
            if status != 0 or not text:
                raise BackendError(f"cannot make the key {path} on {self.first}")
        return text

    async def configured(self, ctx: StepContext) -> bool:
        fsids = {fsid_of(await self.sh.read(h, CONF) or "") for h in self.names}
        keys = [await self.sh.read(h, ADMIN) for h in self.names]
        return len(fsids) == 1 and None not in fsids and all(keys)

    # -- monitors, manager, OSDs

    async def monitors(self, ctx: StepContext) -> None:
        mons = await self.hostnames()
        await self.sh.on_all(self.names, lambda h: self.sh.ceph_sh(h, ["mon", mons[h]], ctx))
        await self.sh.wait(ctx, "the monitors to form a quorum", lambda: self.quorate(ctx))

    async def quorate(self, ctx: StepContext) -> bool:
        mons = await self.hostnames()
        q = await self.sh.ceph_json(self.first, "quorum_status")
        return bool(q) and set(mons.values()) <= set(q.get("quorum_names", []))

    async def manager(self, ctx: StepContext) -> None:
        mons = await self.hostnames()
        await self.sh.ceph_sh(self.first, ["mgr", mons[self.first]], ctx)

    async def managed(self, ctx: StepContext) -> bool:
        mons = await self.hostnames()
        return await self.sh.ceph_sh(self.first, ["mgr", mons[self.first]], None, check=True)

    async def osds(self, ctx: StepContext) -> None:
        async def on(h: str) -> None:
            for d in self.devices:
                await self.sh.ceph_sh(h, ["osd", d], ctx)
        await self.sh.on_all(self.targets, on)
        await self.sh.wait(ctx, "every OSD up", lambda: self.osds_up(ctx))

    async def osds_up(self, ctx: StepContext) -> bool:
        mons = await self.hostnames()
        tree = await self.sh.ceph_json(self.first, "osd", "tree")
        if not tree:
            return False
        nodes = {n.get("id"): n for n in tree.get("nodes", [])}
        return all(osds_up_under(nodes, mons[h]) >= len(self.devices) for h in self.targets)

    # -- the RBD pool, health, joining

    async def make_rbd_pool(self, ctx: StepContext) -> None:
        if await self.has_pool(ctx):
            ctx.log(f"pool {self.rbd_pool} already there")
            return
        for argv in cmd.rbd_pool(self.rbd_pool, self.size):
            status, _ = await self.sh.run(self.first, argv, None, ctx)
            if status != 0:
                raise BackendError(f"{' '.join(argv[2:])} failed ({status})")

    async def has_pool(self, ctx: StepContext) -> bool:
        pools = await self.sh.ceph_json(self.first, "osd", "pool", "ls")
        return bool(pools) and self.rbd_pool in pools

    async def healthy(self, ctx: StepContext) -> bool:
        s = await self.sh.ceph_json(self.first, "health")
        return bool(s) and s.get("status") == "HEALTH_OK"

    async def wait_healthy(self, ctx: StepContext) -> None:
        await self.sh.wait(ctx, "HEALTH_OK", lambda: self.healthy(ctx))

    async def joined(self, ctx: StepContext) -> bool:
        for h in self.join:
            if not await self.sh.answers(h):
                return False
        return await self.osds_up(ctx) and await self.libvirt.pools_active(ctx)

    async def verify_join(self, ctx: StepContext) -> None:
        joining = ", ".join(self.join)
        if not await self.joined(ctx):
            raise BackendError(f"installed but did not join: {joining} must answer libvirt, be "
                               "in the CRUSH map with its OSDs up and in, and have the libvirt "
                               "secret")
        ctx.log(f"{joining} joined: libvirt answers, its OSDs are up and in")
