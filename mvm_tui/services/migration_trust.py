"""The hosts' mutual trust for live migration, as a Run across every host of the cluster (after
their provisioning; Add Worker runs it again on every host, the new one included), and its
check for an existing cluster (the preflight item "migration to PEER" of every host).

Each host makes its own migration key pair (mvm_tui/provision/migration.sh `key`): the
private key is made on the host and never leaves it. The jump box collects the public keys,
host keys and addresses over the hosts' verified SSH connections and gives every host its
peers' (`trust`): their keys in the login user's authorized_keys (restricted to their own
addresses), their host keys in /etc/ssh/ssh_known_hosts. Then every host opens, as root, the
very URI its libvirtd opens for a migration to each peer (`reach`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.libvirt.uri import migration_uri
from mvm_tui.backends.ssh import SshPool
from mvm_tui.config import ClusterConfig
from mvm_tui.core import migration_trust as mt
from mvm_tui.core.migration_trust import HostKeys, TrustHost
from mvm_tui.core.preflight import Item
from mvm_tui.runs import RunExecutor, RunRecord, Step, StepContext, Targets
from mvm_tui.services.provision import (
    STEP_TIMEOUT,
    script_argv,
    script_command,
    script_text,
    step_output,
)

SCRIPT = "migration.sh"


def trust_hosts(cluster: ClusterConfig) -> list[TrustHost]:
    """The cluster's hosts as their peers reach them for a migration."""
    return [TrustHost(h.name, h.address, h.port, h.user) for h in cluster.hosts]


class MigrationTrust:
    def __init__(self, executor: RunExecutor | None, pool: SshPool, cluster: str, *,
                 register: bool = True) -> None:
        """`register`: False only to read the steps (build()) or to check()."""
        self.executor, self.pool, self.cluster = executor, pool, cluster
        self.kind = f"{cluster}:provision.trust"
        self.script = script_text(SCRIPT)
        if register and executor is not None:
            executor.register(self.kind, self.build)  # replaces an earlier one: this pool now

    @staticmethod
    def params(hosts: Sequence[TrustHost]) -> dict[str, Any]:
        return {"hosts": [[h.name, h.address, h.port, h.user] for h in hosts]}

    def create(self, hosts: Sequence[TrustHost]) -> RunRecord:
        assert self.executor is not None
        return self.executor.create(
            self.kind, f"Migration trust between {', '.join(h.name for h in hosts)}",
            self.params(hosts), Targets(cluster=self.cluster))

    # -- over SSH

    async def _script(self, host: str, args: Sequence[str], ctx: StepContext | None = None,
                      check: bool = False) -> tuple[int, str]:
        sink = None if ctx is None else step_output(ctx, host, f"{host}: ")
        r = await self.pool.run(host, script_argv(list(args), check=check), sudo=True,
                                stdin=self.script, on_line=sink, timeout=STEP_TIMEOUT,
                                check=False)
        return r.exit_status, r.stdout

    async def _keys(self, hosts: Sequence[TrustHost]) -> dict[str, HostKeys]:
        """Every host's key report (its key must exist: `key --check`)."""
        async def one(h: TrustHost) -> HostKeys:
            status, out = await self._script(h.name, ["key"], check=True)
            if status != 0:
                raise BackendError(f"{h.name} has no migration key yet")
            return mt.parse_key_report(h.name, out)

        try:
            found = await asyncio.gather(*(one(h) for h in hosts))
        except mt.TrustError as exc:
            raise BackendError(str(exc)) from None
        return {h.name: k for h, k in zip(hosts, found, strict=True)}

    def _lines(self, h: TrustHost, hosts: Sequence[TrustHost],
               keys: Mapping[str, HostKeys]) -> list[str]:
        try:
            return mt.trust_lines(h, hosts, keys)
        except mt.TrustError as exc:
            raise BackendError(str(exc)) from None

    async def check(self, hosts: Sequence[TrustHost]) -> dict[str, list[Item]]:
        """Every host's "migration to PEER" items: it reaches each peer the way its libvirtd
        would for a migration (a host that cannot be asked: an item saying why)."""
        async def one(h: TrustHost) -> list[Item]:
            try:
                _, out = await self._script(h.name, ["reach", *reach_args(h, hosts)])
            except BackendError as exc:
                return [Item(mt.CHECK.format(peer=p.name), "fail",
                             f"cannot run the check on {h.name}: {exc}",
                             "fix the SSH access to it first")
                        for p in hosts if p.name != h.name]
            return mt.reach_items(h, hosts, out)

        items = await asyncio.gather(*(one(h) for h in hosts))
        return {h.name: i for h, i in zip(hosts, items, strict=True)}

    # -- the steps

    def build(self, params: Mapping[str, Any]) -> Sequence[Step]:
        hosts = [TrustHost(str(n), str(a), int(p), str(u)) for n, a, p, u in params["hosts"]]
        return [self._key_step(hosts), self._trust_step(hosts), self._reach_step(hosts)]

    def _key_step(self, hosts: Sequence[TrustHost]) -> Step:
        async def keys(ctx: StepContext) -> None:
            async def one(h: TrustHost) -> None:
                status, _ = await self._script(h.name, ["key"], ctx)
                if status != 0:
                    raise BackendError(f"{SCRIPT} key failed on {h.name} ({status})")
            await asyncio.gather(*(one(h) for h in hosts))

        async def have_keys(ctx: StepContext) -> bool:
            found = await asyncio.gather(*(self._script(h.name, ["key"], check=True)
                                           for h in hosts))
            return all(status == 0 for status, _ in found)

        names = ", ".join(h.name for h in hosts)
        return Step(f"Migration keys on {names} (each made on its host, never copied)",
                    tuple(script_command(h.name, SCRIPT, ["key"]) for h in hosts), keys,
                    have_keys)

    def _trust_step(self, hosts: Sequence[TrustHost]) -> Step:
        async def trust(ctx: StepContext) -> None:
            collected = await self._keys(hosts)

            async def one(h: TrustHost) -> None:
                lines = self._lines(h, hosts, collected)
                status, _ = await self._script(h.name, ["trust", h.user, *lines], ctx)
                if status != 0:
                    raise BackendError(f"{SCRIPT} trust failed on {h.name} ({status})")
            await asyncio.gather(*(one(h) for h in hosts))

        async def trusted(ctx: StepContext) -> bool:
            try:
                collected = await self._keys(hosts)
            except BackendError:
                return False
            found = await asyncio.gather(*(
                self._script(h.name, ["trust", h.user, *self._lines(h, hosts, collected)],
                             check=True) for h in hosts))
            return all(status == 0 for status, _ in found)

        # the peers' keys are read from them as the step runs: LINES stands for them
        lines = ("  # LINES: for each peer, auth:from=\"ADDRESS\",restrict KEY (its migration "
                 "key) and known:ADDRESS HOSTKEY (its host keys), read from it")
        return Step("Every host trusts its peers' migration keys and host keys", tuple(
            script_command(h.name, SCRIPT, ["trust", h.user, "LINES"]) + lines
            for h in hosts), trust, trusted)

    def _reach_step(self, hosts: Sequence[TrustHost]) -> Step:
        async def reach(ctx: StepContext) -> None:
            failed = []
            for host, items in (await self.check(hosts)).items():
                for item in items:
                    ctx.log(f"{host}: [{item.status}] {item.check}: {item.detail}",
                            "out" if item.ok else "err")
                    if not item.ok:
                        failed.append(f"{host} to {item.check.removeprefix('migration to ')}")
            if failed:
                raise BackendError(f"migration logins fail: {', '.join(failed)}")

        async def reaches(ctx: StepContext) -> bool:
            found = await self.check(hosts)
            return all(i.ok for items in found.values() for i in items)

        return Step("Every host logs in to every other one as its libvirtd will to migrate",
                    tuple(script_command(h.name, SCRIPT, ["reach", *reach_args(h, hosts)])
                          for h in hosts), reach, reaches)


def reach_args(me: mt.TrustHost, hosts: Sequence[mt.TrustHost]) -> list[str]:
    """`migration.sh reach`'s arguments on `me`: NAME=URI of every other host, the URI its
    libvirtd opens for a migration there."""
    return [f"{p.name}={migration_uri(p.user, p.address, p.port)}" for p in hosts
            if p.name != me.name]
