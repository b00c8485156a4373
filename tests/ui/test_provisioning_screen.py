"""The provisioning screen on the simulated cluster's run executor: a pane per run of the
cluster started after it opened (not older runs, not another cluster's), each with its
current step, that step's progress bar and the run's live log; enter opens the whole run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from textual.widgets import ProgressBar, RichLog, Static

from mvm_tui.runs import Step, StepContext, Targets
from mvm_tui.screens.provisioning import ProvisioningScreen, RunPane
from mvm_tui.screens.run_detail import RunDetailScreen

from .conftest import SIZE, first_poll_shown, make_demo, wait_until


def pane_text(pane: RunPane) -> str:
    return "\n".join(str(line.text) for line in pane.query_one(RichLog).lines)


async def test_a_pane_per_run_with_its_step_progress_and_log(tmp_path: Any) -> None:
    demo = make_demo(tmp_path)
    executor = demo.app.executor
    release = asyncio.Event()

    done: set[tuple[str, str]] = set()

    def build(params: Mapping[str, Any]) -> Sequence[Step]:
        host = params["host"]

        async def install(ctx: StepContext) -> None:
            ctx.log(f"installing on {host}")
            ctx.progress(0.5, f"{host}: Unpacking")
            await release.wait()
            done.add((host, "packages"))

        async def finish(ctx: StepContext) -> None:
            ctx.log(f"{host} ready")
            done.add((host, "bridge"))

        def check(step: str) -> Callable[[StepContext], Awaitable[bool]]:
            async def in_place(ctx: StepContext) -> bool:
                return (host, step) in done
            return in_place

        return [Step("packages", (f"ssh {host} install",), install, check("packages")),
                Step("bridge", (f"ssh {host} bridge",), finish, check("bridge"))]

    executor.register("demo:provision.test", build)
    async with demo.app.run_test(size=SIZE) as pilot:
        await first_poll_shown(pilot, demo)
        old = executor.create("demo:provision.test", "Provision old", {"host": "old"},
                              Targets(cluster="demo"))
        demo.app.push_screen(ProvisioningScreen("demo", after_run=old.id))
        await wait_until(pilot, lambda: isinstance(demo.app.screen, ProvisioningScreen)
                         and demo.app.screen.is_mounted)
        screen = demo.app.screen
        assert isinstance(screen, ProvisioningScreen)
        runs = [executor.create("demo:provision.test", f"Provision {h}", {"host": h},
                                Targets(cluster=c, host=h))
                for c, h in (("demo", "hv1"), ("other", "x1"), ("demo", "hv2"))]
        tasks = [asyncio.create_task(executor.execute(r.id)) for r in (runs[0], runs[2])]

        def halfway() -> bool:
            panes = screen.panes()
            return len(panes) == 2 and all(
                p.query_one(ProgressBar).progress == 50 and "installing" in pane_text(p)
                for p in panes)

        await wait_until(pilot, halfway, what="both panes halfway")
        first, second = screen.panes()
        assert [first.run_id, second.run_id] == [runs[0].id, runs[2].id]  # not old, not other
        assert "installing on hv1" in pane_text(first)
        assert "installing on hv2" in pane_text(second)
        assert "step 1/2: packages" in str(first.query_one(".pane-step", Static).render())

        release.set()
        await asyncio.gather(*tasks)
        await wait_until(pilot, lambda: all(p.border_subtitle == "done"
                                            for p in screen.panes()), what="both done")
        assert "hv1 ready" in pane_text(first)
        assert "2/2 steps done" in str(first.query_one(".pane-step", Static).render())
        first.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
        detail = demo.app.screen
        assert isinstance(detail, RunDetailScreen)
        assert detail.run_id == runs[0].id
