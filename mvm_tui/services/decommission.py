"""Decommissioning a Ceph host as a guided, resumable Run: its OSDs one at a time (ok-to-stop,
out, wait for the data to move, stop, CRUSH removal, wait for active+clean), then its monitor
(stop, wait for the others' quorum, remove it, verified), its CRUSH bucket, its entry in every
remaining host's mon_host, the OSDs' keys and ids, a final health check, and the host's place
in mvm-tui's config.

Every step re-checks the cluster rather than trusting the record: resumed after a kill, a step
whose effect is in place is not done again. The guards (HEALTH_OK before an out; safe-to-destroy
and every PG active+clean before an OSD is stopped; a quorum left before a monitor goes) stop
the run with the reason; only an override for that run, given by typing the host's name,
passes one. "HEALTH_OK" and "active+clean" always include the staleness guard of
backends.ceph.checks (stale PGs, fewer OSDs up than in, an out OSD still holding PGs): right
after an OSD goes down or out, Ceph's PG statistics still say all is well.

What a wait measures its progress from (the PGs an OSD held when it went out, the most objects
seen moving, how far the bar went) is remembered in the run (StepContext.remember), so a resumed
run goes on from there and its progress bar never goes back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mvm_tui.backends import ceph
from mvm_tui.backends.base import BackendError
from mvm_tui.backends.ceph import commands as cmd
from mvm_tui.backends.ceph.checks import (
    data_moved,
    healthy,
    mon_removed,
    moved_fraction,
    settled,
)
from mvm_tui.backends.host_commands import on_host
from mvm_tui.core.decommission import DecommissionPlan, without_address
from mvm_tui.runs import Step, StepContext
from mvm_tui.services.decommission_base import GUARDS, CephSteps, GuardFailed
from mvm_tui.units import count

__all__ = ["GUARDS", "DecommissionSteps", "GuardFailed", "plan_params", "without_address"]


def plan_params(plan: DecommissionPlan, others: Sequence[str]) -> dict[str, Any]:
    return {"host": plan.host, "bucket": plan.bucket, "address": plan.address,
            "osds": plan.osd_ids, "mon": plan.mon, "others": list(others)}


class DecommissionSteps(CephSteps):
    """Builds a decommission run's steps from its params, over a CephAdmin."""

    def build(self, params: Mapping[str, Any]) -> list[Step]:
        host, bucket = str(params["host"]), str(params["bucket"])
        osds = [int(o) for o in params["osds"]]
        mon = params.get("mon")
        steps = [self._health_step()]
        for osd in osds:
            steps += self._osd_steps(host, osd)
        if mon:
            steps += self._mon_steps(host, str(mon))
        steps.append(self._bucket_step(bucket))
        if mon:
            steps.append(self._mon_host_step(str(params["address"]),
                                             [str(h) for h in params["others"]]))
        steps += [self._forget_osd_step(osd) for osd in osds]
        steps += [self._final_health_step(), self._forget_host_step(host)]
        return steps

    def _health_step(self) -> Step:
        async def act(ctx: StepContext) -> None:
            ok, why = await self._healthy()
            self._guard(ctx, "health", ok, why)
            ctx.log(why)

        return Step("Cluster health is HEALTH_OK",
                    (cmd.render(cmd.status()), cmd.render(cmd.osd_df_tree())), act, _always)

    def _osd_steps(self, host: str, osd: int) -> list[Step]:
        return [*self._osd_out_steps(osd), *self._osd_removal_steps(host, osd)]

    def _osd_out_steps(self, osd: int) -> list[Step]:
        """Out once Ceph says it may stop, then its data moved off it."""
        async def gone() -> bool:
            return not await self._exists(osd)

        async def ok_to_stop(ctx: StepContext) -> None:
            tree = await self.read(cmd.osd_tree(), ceph.parse_osd_tree)
            node = tree.node(osd)
            if node is None or node.reweight == 0:
                ctx.log(f"osd.{osd} is already out")
                return
            r = await self.admin.ceph(cmd.osd_ok_to_stop([osd]))
            verdict = ceph.parse_ok_to_stop(r.stdout, returncode=r.exit_status, stderr=r.stderr)
            self._guard(ctx, "ok-to-stop", verdict.ok_to_stop,
                        f"Ceph says osd.{osd} is not ok to stop: {verdict.error or verdict}")
            ctx.log(f"osd.{osd} is ok to stop ({count(verdict.num_ok_pgs, 'PG')} stay available)")

        async def mark_out(ctx: StepContext) -> None:
            if await is_out(ctx):
                ctx.log(f"osd.{osd} is already out")
                return
            s, tree = await self.status(), await self.df_tree()
            ok, why = healthy(s, tree)
            self._guard(ctx, "health", ok, f"{why}: no OSD is marked out unless HEALTH_OK")
            held = await self.read(cmd.pg_ls_by_osd(osd), ceph.parse_pg_ls)
            pgids = sorted(p.pgid for p in held.pg_stats)
            # what the wait depends on, kept in the run before the out: its PGs, and the
            # epoch they must have reported after
            ctx.remember(f"out.{osd}", {"before": s.osdmap_epoch, "pgs": len(pgids),
                                        "pgids": pgids})
            await self._do(cmd.osd_out(osd))
            epoch = (await self.status()).osdmap_epoch
            ctx.log(f"osd.{osd} out at osdmap epoch {epoch} (was {s.osdmap_epoch}), holding "
                    f"{count(len(pgids), 'PG')}")

        async def is_out(ctx: StepContext) -> bool:
            tree = await self.read(cmd.osd_tree(), ceph.parse_osd_tree)
            node = tree.node(osd)
            return node is None or node.reweight == 0

        async def wait_moved(ctx: StepContext) -> None:
            await self._wait(ctx, f"the data to move off osd.{osd}",
                             lambda: self._moved_off(ctx, osd))

        async def moved(ctx: StepContext) -> bool:
            return await gone() or await self._moved_off(ctx, osd, report=False)

        return [
            Step(f"osd.{osd}: ok to stop", (cmd.render(cmd.osd_ok_to_stop([osd])),),
                 ok_to_stop, _always),
            Step(f"osd.{osd}: mark out", (cmd.render(cmd.osd_out(osd)),), mark_out, is_out),
            Step(f"osd.{osd}: wait for the data to move off it",
                 (cmd.render(cmd.status()), cmd.render(cmd.osd_df_tree()),
                  cmd.render(cmd.osd_safe_to_destroy([osd])), cmd.render(cmd.pg_ls())),
                 wait_moved, moved),
        ]

    def _osd_removal_steps(self, host: str, osd: int) -> list[Step]:
        """Its service stopped, out of the CRUSH map, then every PG clean for a while."""
        unit = f"ceph-osd@{osd}"

        async def stop(ctx: StepContext) -> None:
            if await self._exists(osd):
                safe = await self._moved_off(ctx, osd, report=False)
                self._guard(ctx, "safe-to-destroy", safe,
                            f"osd.{osd} still holds data (safe-to-destroy and every PG "
                            "active+clean are needed before its service stops)")
            for action in ("stop", "disable"):
                r = await self.admin.systemctl(host, action, unit)
                if r.exit_status != 0:
                    raise BackendError(f"systemctl {action} {unit} on {host}: {r.stderr.strip()}")
            ctx.log(f"{unit} stopped and disabled on {host}")

        async def stopped(ctx: StepContext) -> bool:
            r = await self.admin.systemctl(host, "is-active", unit)
            return r.exit_status != 0

        async def crush_remove(ctx: StepContext) -> None:
            await self._do(cmd.osd_crush_remove(osd), ok_if="does not appear in the crush map")

        async def not_in_crush(ctx: StepContext) -> bool:
            tree = await self.read(cmd.osd_tree(), ceph.parse_osd_tree)
            return tree.host_of(osd) is None

        async def stays_clean(ctx: StepContext) -> bool:
            """Clean now, and on every poll for settle_window (kept in the run)."""
            key = f"clean.{osd}.since"
            if not await self._clean(ctx, f"clean.{osd}"):
                if ctx.recall(key) is not None:
                    ctx.remember(key, None)
                return False
            since = ctx.recall(key)
            if since is None:
                ctx.remember(key, since := self.clock.now())
            return self.clock.now() - float(since) >= self.settle_window

        async def wait_clean(ctx: StepContext) -> None:
            await self._wait(ctx, f"every PG active+clean for {self.settle_window:g} s",
                             lambda: stays_clean(ctx))

        async def clean(ctx: StepContext) -> bool:
            return await self._clean(ctx, f"clean.{osd}", report=False)

        return [
            Step(f"osd.{osd}: stop and disable its service on {host}",
                 _systemctl(host, unit, "stop", "disable"), stop, stopped),
            Step(f"osd.{osd}: remove it from the CRUSH map",
                 (cmd.render(cmd.osd_crush_remove(osd)),), crush_remove, not_in_crush),
            Step(f"osd.{osd}: wait for every PG active+clean",
                 (cmd.render(cmd.status()), cmd.render(cmd.osd_df_tree()),
                  cmd.render(cmd.pg_ls())), wait_clean, clean),
        ]

    async def _moved_off(self, ctx: StepContext, osd: int, report: bool = True) -> bool:
        """No data left on the OSD (checks.data_moved): safe-to-destroy, no PG on it, every
        PG active+clean with fresh statistics. No osdmap epoch is awaited: the one bump after
        an out may come before the first read."""
        s, tree = await self.status(), await self.df_tree()
        r = await self.admin.ceph(cmd.osd_safe_to_destroy([osd]))
        verdict = ceph.parse_safe_to_destroy(r.stdout, returncode=r.exit_status, stderr=r.stderr)
        pg_list = await self.read(cmd.pg_ls(), ceph.parse_pg_ls)
        out = ctx.recall(f"out.{osd}") or {}
        watched, since = set(out.get("pgids", ())), int(out.get("before", -1))
        done = data_moved(verdict, s, tree, osd, pg_list, watched, since)
        if report:
            node = tree.df(osd)
            moving = s.degraded_objects + s.misplaced_objects
            peak = int(ctx.recall(f"peak.{osd}") or 0)
            if moving > peak:
                peak = moving
                ctx.remember(f"peak.{osd}", peak)
            fraction = moved_fraction(s, pg_list, osd, watched, since, peak)
            self._progress(ctx, f"moved.{osd}", 1.0 if done else min(fraction, 0.99),
                           f"osd.{osd} holds {count(node.pgs if node else 0, 'PG')} (of "
                           f"{len(watched)} at the out); PGs active+clean {s.pgs_clean}/"
                           f"{s.num_pgs}, degraded {s.degraded_objects}, misplaced "
                           f"{s.misplaced_objects} objects")
        return done

    async def _clean(self, ctx: StepContext, key: str, report: bool = True) -> bool:
        s, tree = await self.status(), await self.df_tree()
        done = settled(s, tree, await self.read(cmd.pg_ls(), ceph.parse_pg_ls))
        if report:
            fraction = 1.0 if done else s.pgs_clean / s.num_pgs if s.num_pgs else 0.0
            self._progress(ctx, key, fraction, f"PGs active+clean {s.pgs_clean}/{s.num_pgs}")
        return done

    def _mon_steps(self, host: str, mon: str) -> list[Step]:
        return [*self._mon_stop_steps(host, mon), self._mon_remove_step(mon)]

    async def _quorum_without(self, mon: str) -> tuple[bool, str]:
        """Whether the other monitors keep a quorum without `mon`, and their count."""
        q = await self.read(cmd.quorum_status(), ceph.parse_quorum_status)
        others = [n for n in q.monmap.names if n != mon]
        have = [n for n in q.quorum_names if n != mon]
        need = len(others) // 2 + 1
        return (bool(others) and len(have) >= need,
                f"{len(have)} of {len(others)} other monitors in quorum, {need} needed")

    async def _in_monmap(self, mon: str) -> bool:
        return mon in (await self.read(cmd.mon_dump(), ceph.parse_mon_dump)).names

    def _mon_stop_steps(self, host: str, mon: str) -> list[Step]:
        unit = f"ceph-mon@{mon}"

        async def stop(ctx: StepContext) -> None:
            ok, why = await self._quorum_without(mon)
            self._guard(ctx, "quorum", ok, f"stopping {mon} would lose the quorum: {why}")
            for action in ("stop", "disable"):
                r = await self.admin.systemctl(host, action, unit)
                if r.exit_status != 0:
                    raise BackendError(f"systemctl {action} {unit} on {host}: {r.stderr.strip()}")

        async def stopped(ctx: StepContext) -> bool:
            return (await self.admin.systemctl(host, "is-active", unit)).exit_status != 0

        async def quorate(ctx: StepContext) -> bool:
            q = await self.read(cmd.quorum_status(), ceph.parse_quorum_status)
            others = [n for n in q.monmap.names if n != mon]
            return mon not in q.quorum_names and len(q.quorum_names) >= len(others) // 2 + 1

        async def wait_quorum(ctx: StepContext) -> None:
            await self._wait(ctx, f"the other monitors to form a quorum without {mon}",
                             lambda: quorate(ctx))

        return [
            Step(f"monitor {mon}: stop and disable it", _systemctl(host, unit, "stop", "disable"),
                 stop, stopped),
            Step("wait until the other monitors have quorum", (cmd.render(cmd.quorum_status()),),
                 wait_quorum, quorate),
        ]

    def _mon_remove_step(self, mon: str) -> Step:
        async def remove(ctx: StepContext) -> None:
            for attempt in range(1, self.mon_retries + 1):
                if not await self._in_monmap(mon):
                    return
                ok, why = await self._quorum_without(mon)
                self._guard(ctx, "quorum", ok, f"removing {mon} would lose the quorum: {why}")
                await self._do(cmd.mon_remove(mon))
                monmap = await self.read(cmd.mon_dump(), ceph.parse_mon_dump)
                if mon_removed(monmap, mon):
                    ctx.log(f"{mon} removed: the monmap lists {', '.join(monmap.names)}")
                    return
                ctx.log(f"{mon} is still in the monmap after `mon remove` (attempt {attempt}): "
                        "retrying", "info")
                await self.clock.sleep(self.interval)
            raise BackendError(f"{mon} is still in the monmap after {self.mon_retries} attempts")

        async def removed(ctx: StepContext) -> bool:
            return not await self._in_monmap(mon)

        return Step(f"monitor {mon}: remove it from the monmap (verified)",
                    (cmd.render(cmd.mon_remove(mon)), cmd.render(cmd.mon_dump())), remove, removed)

    def _bucket_step(self, bucket: str) -> Step:
        async def act(ctx: StepContext) -> None:
            await self._do(cmd.osd_crush_rm_host(bucket), ok_if="does not appear in the crush map")

        async def check(ctx: StepContext) -> bool:
            tree = await self.read(cmd.osd_tree(), ceph.parse_osd_tree)
            return bucket not in tree.host_names

        return Step(f"remove the host bucket {bucket} from the CRUSH map",
                    (cmd.render(cmd.osd_crush_rm_host(bucket)),), act, check)

    def _mon_host_step(self, address: str, others: list[str]) -> Step:
        async def act(ctx: StepContext) -> None:
            for h in others:
                value = await self.admin.mon_host(h)
                kept = without_address(value, address)
                if kept != value:
                    await self.admin.set_mon_host(h, kept)
                    ctx.log(f"{h}: mon_host = {kept}")

        async def check(ctx: StepContext) -> bool:
            for h in others:
                value = await self.admin.mon_host(h)
                if without_address(value, address) != value:
                    return False
            return True

        # the new value is known once the host's own is read: VALUE stands for it
        lookup, sed = cmd.mon_host_lookup(), cmd.set_mon_host("VALUE")
        preview = tuple(line for h in others for line in (
            on_host(h, lookup),
            f"{on_host(h, sed)}  # VALUE: what it printed, without {address}"))
        return Step(f"remove {address} from mon_host in ceph.conf on {', '.join(others)}",
                    preview, act, check)

    def _forget_osd_step(self, osd: int) -> Step:
        async def act(ctx: StepContext) -> None:
            await self._do(cmd.auth_del_osd(osd), ok_if="does not exist")
            await self._do(cmd.osd_rm(osd), ok_if="does not exist")

        async def check(ctx: StepContext) -> bool:
            return not await self._exists(osd)

        return Step(f"osd.{osd}: delete its key and its id",
                    (cmd.render(cmd.auth_del_osd(osd)), cmd.render(cmd.osd_rm(osd))), act, check)

    def _final_health_step(self) -> Step:
        async def ok() -> bool:
            return (await self._healthy())[0]

        async def act(ctx: StepContext) -> None:
            await self._wait(ctx, "HEALTH_OK", ok)

        async def check(ctx: StepContext) -> bool:
            return await ok()

        return Step("final health check: HEALTH_OK",
                    (cmd.render(cmd.status()), cmd.render(cmd.osd_df_tree())), act, check)

    def _forget_host_step(self, host: str) -> Step:
        async def act(ctx: StepContext) -> None:
            await self.forget_host(host)

        async def check(ctx: StepContext) -> bool:
            return not self.host_known(host)

        # mvm-tui's own config file: no command on any host
        return Step(f"remove {host} from the cluster in mvm-tui (its [[clusters.hosts]] entry "
                    "in the config)", (), act, check)


def _systemctl(host: str, unit: str, *actions: str) -> tuple[str, ...]:
    return tuple(on_host(host, ["systemctl", action, unit]) for action in actions)


async def _always(ctx: StepContext) -> bool:
    return True
