"""What every step of a decommission run stands on: reading Ceph (`ceph ... -f json` parsed,
BackendError with its stderr otherwise), the guards and the operator's overrides, the waits,
and progress that never goes back. services.decommission builds the steps on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from mvm_tui.backends import ceph
from mvm_tui.backends.base import BackendError
from mvm_tui.backends.capabilities import CephAdmin
from mvm_tui.backends.ceph import commands as cmd
from mvm_tui.backends.ceph.checks import healthy, monotonic
from mvm_tui.ceph_crush import OsdDfTree
from mvm_tui.clock import Clock
from mvm_tui.models import CephStatus
from mvm_tui.runs import StepContext

T = TypeVar("T")
GUARDS = ("health", "ok-to-stop", "safe-to-destroy", "quorum")


class GuardFailed(BackendError):
    """A guard said no: the run stops here (overriding needs the host's name typed)."""


class CephSteps:
    """The base of DecommissionSteps: reading Ceph, guards, waits and progress."""

    def __init__(self, admin: CephAdmin, clock: Clock,
                 forget_host: Callable[[str], Awaitable[None]],
                 host_known: Callable[[str], bool], *, interval: float = 2.0,
                 wait_limit: float = 6 * 3600.0, mon_retries: int = 5,
                 settle_window: float = 10.0) -> None:
        self.admin, self.clock = admin, clock
        self.forget_host, self.host_known = forget_host, host_known
        self.interval, self.wait_limit, self.mon_retries = interval, wait_limit, mon_retries
        # how long every PG must stay active+clean after `osd crush remove`: which PGs the
        # change remaps is not known, and their reports come a stats period later (the lab:
        # the check right after a first clean read saw PGs peering)
        self.settle_window = settle_window
        self.overrides: dict[int, set[str]] = {}  # run id -> guards the operator overrode

    # -- reading Ceph

    async def read(self, argv: list[str], parse: Callable[[str], T]) -> T:
        """`ceph ...` parsed; BackendError with its stderr when it fails."""
        r = await self.admin.ceph(argv)
        if r.exit_status != 0:
            raise BackendError(f"`{cmd.render(argv)}` failed: {r.stderr.strip() or r.exit_status}")
        return parse(r.stdout)

    async def _do(self, argv: list[str], ok_if: str = "") -> None:
        r = await self.admin.ceph(argv)
        if r.exit_status != 0 and not (ok_if and ok_if in r.stderr):
            raise BackendError(f"`{cmd.render(argv)}` failed: {r.stderr.strip() or r.exit_status}")

    async def status(self) -> CephStatus:
        return await self.read(cmd.status(), ceph.parse_status)

    async def df_tree(self) -> OsdDfTree:
        return await self.read(cmd.osd_df_tree(), ceph.parse_osd_df_tree)

    async def _healthy(self) -> tuple[bool, str]:
        """HEALTH_OK with fresh PG statistics (checks.healthy), read now."""
        return healthy(await self.status(), await self.df_tree())

    async def _exists(self, osd: int) -> bool:
        tree = await self.read(cmd.osd_tree(), ceph.parse_osd_tree)
        return tree.node(osd) is not None

    def _guard(self, ctx: StepContext, guard: str, ok: bool, why: str) -> None:
        if ok:
            return
        if guard in self.overrides.get(ctx.run_id, set()):
            ctx.log(f"guard overridden by the operator: {why}", "info")
            return
        raise GuardFailed(f"{why} (guard '{guard}'; to override it, retry with the host's name "
                          "typed)")

    async def _wait(self, ctx: StepContext, what: str, done: Callable[[], Awaitable[bool]]
                    ) -> None:
        started = self.clock.now()
        while not await done():
            if self.clock.now() - started > self.wait_limit:
                raise BackendError(f"{what}: still not done after {self.wait_limit:g} s")
            ctx.waiting(what)
            await self.clock.sleep(self.interval)

    @staticmethod
    def _progress(ctx: StepContext, key: str, fraction: float, detail: str) -> None:
        """Report progress that never goes back, across polls and resumes (kept in the run)."""
        previous = ctx.recall(f"progress.{key}")
        shown = monotonic(None if previous is None else float(previous), fraction)
        if shown != previous:
            ctx.remember(f"progress.{key}", shown)
        ctx.progress(shown, detail)
