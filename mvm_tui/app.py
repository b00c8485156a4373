"""MvmApp: screens, global keys, the command palette, and the one place worker errors surface."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import ClassVar

from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.widget import AwaitMount
from textual.widgets import HelpPanel
from textual.worker import Worker, WorkerState

from mvm_tui.aio import quiet_lost_connections
from mvm_tui.app_build import ClusterBuilding
from mvm_tui.app_clusters import Managed
from mvm_tui.backends.capabilities import FaultInjector
from mvm_tui.backends.ssh import AuthFailed, HostKeyUnknown, SshTarget
from mvm_tui.backends.ssh.pool import Purpose
from mvm_tui.config import ClusterConfig
from mvm_tui.gc_policy import settle_after_start
from mvm_tui.runs import RunExecutor
from mvm_tui.screens.base import ClusterScreen
from mvm_tui.screens.clusters import ClustersScreen
from mvm_tui.screens.demo_faults import fault_commands
from mvm_tui.screens.history import HistoryScreen
from mvm_tui.screens.host_key import HostKeyScreen
from mvm_tui.screens.hosts import HostsScreen
from mvm_tui.screens.password import PasswordScreen
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.screens.summary import SummaryScreen
from mvm_tui.screens.vms import VmsScreen
from mvm_tui.services.cluster import Cluster
from mvm_tui.services.decommission_runs import Decommissions
from mvm_tui.services.ha import HaService
from mvm_tui.services.ha_quit import StandbyProbe, ha_quit_notice, local_standby
from mvm_tui.session import Prompts
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.literal import markup_literal
from mvm_tui.widgets.screenshot import save_screenshot

SCREENS_BY_MODE: dict[str, tuple[str, str]] = {
    "summary": ("Summary", "Cluster health, capacity, Ceph and recent events"),
    "hosts": ("Hosts", "Every host with its state and load"),
    "vms": ("VMs", "Every VM: filter, sort, power actions"),
    "history": ("History", "Every run, with its full log"),
    "clusters": ("Clusters", "Every cluster of the config, their hosts and VMs: switch"),
}


class MvmApp(ClusterBuilding):
    CSS_PATH = "app.tcss"
    TITLE = "mvm-tui"
    MODES: ClassVar[dict[str, type[Screen[None]]]] = {  # type: ignore[assignment]
        "summary": SummaryScreen,
        "hosts": HostsScreen,
        "vms": VmsScreen,
        "history": HistoryScreen,
        "clusters": ClustersScreen,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "switch_mode('summary')", "Summary", id="go.summary"),
        Binding("2", "switch_mode('hosts')", "Hosts", id="go.hosts"),
        Binding("3", "switch_mode('vms')", "VMs", id="go.vms"),
        Binding("4", "switch_mode('history')", "History", id="go.history"),
        Binding("5", "switch_mode('clusters')", "Clusters", id="go.clusters"),
        Binding("question_mark", "toggle_keys", "Keys", id="app.keys"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(
        self,
        cluster: Cluster,
        *,
        refresh_delay: float = 0.2,
        prompts: Prompts | None = None,
        ha: HaService | None = None,
        decommissions: Decommissions | None = None,
        config_path: Path | None = None,
        notices: Sequence[str] = (),
        runs_refused: str | None = None,
        faults: FaultInjector | None = None,
        others: Sequence[Managed] = (),
        add_cluster: Callable[[ClusterConfig], Managed] | None = None,
        settle_gc: bool = False,
    ) -> None:
        super().__init__()
        # settle the garbage collector once every host has been polled (gc_policy.py): for
        # the process that runs the TUI, not for tests that run many apps in one process
        self._settle_gc = settle_gc
        # why this process records no runs (its run store cannot be used): every action is
        # refused with it, and it is shown on Summary and History
        self.runs_refused = runs_refused
        self.faults = faults  # the simulator's faults, in the palette (--demo only)
        self.notices = tuple(notices)  # told once mounted (an earlier process's crash trace)
        self.config_path = config_path  # where a new cluster is added
        # the clusters (the first one shown first), each with its HA service and
        # decommissions, run while the app is open
        self.managed = [Managed(cluster, ha, decommissions), *others]
        self._shown = 0
        self.add_cluster = add_cluster
        self.prompts = prompts
        self.standby_probe: StandbyProbe = local_standby  # is a standby HA on this jump box
        self.executor: RunExecutor = cluster.executor  # (one run store for every cluster)
        self.refresh_delay = refresh_delay
        self._refresh_pending = False
        self.sub_title = f"cluster {cluster.name}"
        self.refreshes = 0  # inventory refreshes pushed to screens (tests wait on it)
        self._mode_built = False  # switch_mode is showing a mode whose screen exists already

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification is plain text, whatever the caller asks: what they say holds
        names from hosts (VMs, hosts, pools), shown as they are written (widgets/literal.py)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """The palette's Screenshot: saved where a directory exists, and said where."""
        save_screenshot(self, filename, path)
        return None

    def action_help_quit(self) -> None:  # Textual's own says "[b]q[/b]" as markup
        self.notify("Press q to quit the app", title="Do you want to quit?")

    def on_mount(self) -> None:
        quiet_lost_connections(asyncio.get_running_loop())
        if self.prompts is not None:  # the backends ask the operator through dialogs
            self.prompts.host_key = self._ask_host_key
            self.prompts.password = self._ask_password
        self._start_all()
        self.switch_mode("summary")
        for notice in self.notices:
            self.notify(notice, title="Crash trace", severity="warning", timeout=60)
        if self.runs_refused is not None:
            self.notify(f"{self.runs_refused}. Until then mvm-tui only watches: every action "
                        "is refused, and HA does not run here.", title="Run history unusable",
                        severity="error", timeout=600)
        self._resume_decommissions()

    def _resume_decommissions(self) -> None:
        """A decommission left unfinished (the app was killed, the SSH session dropped) is
        shown and resumed: every step re-checks the cluster before doing anything."""
        for m in self.managed:
            for run in m.decommissions.unfinished() if m.decommissions is not None else ():
                if m is self.shown:
                    self.push_screen(RunDetailScreen(run.id))
                owner = self.executor.owned_elsewhere(run)
                if owner is not None:
                    self.notify(f"run #{run.id} ({run.title}) is running in {owner}: shown "
                                "here read-only", title="Decommission in progress")
                    continue
                self.notify(f"resuming run #{run.id}: {run.title}",
                            title="Unfinished decommission")
                self.run_worker(m.cluster.execute(run.id), name=run.title, group="runs",
                                exit_on_error=False)

    def refuse_runs(self) -> bool:
        """True, and says why, when this process records no runs (so starts none)."""
        if self.runs_refused is None:
            return False
        self.notify(f"Nothing was done: {self.runs_refused}.", title="Actions are off",
                    severity="error", timeout=30)
        return True

    async def action_quit(self) -> None:
        """Quit; while runs execute here, or while this process's HA service is the active
        one, only once the operator knows what happens to them."""
        running = self.executor.executing()
        notes = [(m, await ha_quit_notice(m.ha, self.standby_probe))
                 for m in self.managed if m.ha is not None]
        ha_note = " ".join(self._prefix(m) + note for m, note in notes if note) or None
        if not running and ha_note is None:
            self.exit()
            return
        parts = []
        if running:
            names = "; ".join(f"#{r.id} {r.title}" for r in running)
            title = (f"Quit while {len(running)} "
                     f"{'runs execute' if len(running) > 1 else 'run executes'} here?")
            parts.append(
                f"{names}: interrupted where it is now (a command in flight on a "
                "host may still finish there). It stays in History as interrupted; Retry (r) "
                "in History resumes it, an unfinished decommission is resumed when mvm-tui "
                "next starts, and every step re-checks the cluster before acting.")
        else:
            title = "Quit and stop HA here?"
        if ha_note is not None:
            parts.append(ha_note)
        modal = ConfirmModal(title=title, consequence=" ".join(parts), steps=(), verb="Quit")

        def answered(ok: bool | None) -> None:
            if ok:
                self.exit()

        self.push_screen(modal, answered)

    async def on_unmount(self) -> None:
        await self._stop_all()

    # -- live inventory: coalesce many per-host updates into one repaint --------------------

    def _inventory_changed(self) -> None:
        if not self._refresh_pending:
            self._refresh_pending = True
            if self.refresh_delay > 0:
                self.set_timer(self.refresh_delay, self._push_inventory)
            else:
                self.call_later(self._push_inventory)

    @property
    def up_to_date(self) -> bool:
        """The screens show the latest inventory (none is waiting to be pushed)."""
        return self.refreshes > 0 and not self._refresh_pending

    def _push_inventory(self) -> None:
        self._refresh_pending = False
        self.refreshes += 1
        for screen in self.screen_stack:
            if isinstance(screen, ClusterScreen):
                screen.refresh_inventory()
        if self._settle_gc and self.cluster.poller.polls_done >= len(self.cluster.backend.hosts):
            self._settle_gc = False
            settle_after_start()  # (after the screens: what they made for every VM is kept)

    # -- questions from the backends -------------------------------------------------------

    async def _ask_host_key(self, unknown: HostKeyUnknown) -> bool:
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.push_screen(HostKeyScreen(unknown), callback=lambda ok: answer.set_result(bool(ok)))
        return await answer

    async def _ask_password(self, target: SshTarget, purpose: Purpose) -> str:
        answer: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self.push_screen(PasswordScreen(target, purpose), callback=answer.set_result)
        password = await answer
        if password is None:
            raise AuthFailed(f"{target.label}: no {purpose} password given")
        return password

    # -- keys and palette -------------------------------------------------------------------

    def switch_mode(self, mode: str) -> AwaitMount:
        """Textual's, without the 50 ms it holds every paint back (App.delay_update, there to
        mask a screen being composed) when the mode's screen exists already: ours are kept, so
        there is nothing to mask, and a key would wait those 50 ms."""
        self._mode_built = mode in self._screen_stacks
        try:
            return super().switch_mode(mode)
        finally:
            self._mode_built = False

    def delay_update(self, delay: float = 0.05) -> None:
        if not self._mode_built:
            super().delay_update(delay)

    async def action_switch_mode(self, mode: str) -> None:
        """A mode key shows that mode's list: a detail or run screen left open on top of it
        earlier is closed (a dialog waiting for an answer is kept)."""
        if mode != self.current_mode:
            await self.switch_mode(mode)
        while len(self.screen_stack) > 1 and not isinstance(self.screen, ModalScreen):
            await self.pop_screen()

    def action_toggle_keys(self) -> None:
        if self.screen.query(HelpPanel):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The palette's commands; their titles hold names from hosts, and the palette reads
        titles and help as markup: escaped here, so they show as written."""
        for command in self._system_commands(screen):
            yield command._replace(title=markup_literal(command.title),
                                   help=markup_literal(command.help))

    def _system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for mode, (title, help_text) in SCREENS_BY_MODE.items():
            yield SystemCommand(f"Go to {title}", help_text,
                                lambda m=mode: self.run_worker(self.action_switch_mode(m)))
        for m in self.managed:
            if m is not self.shown:
                yield SystemCommand(f"Switch to cluster {m.name}",
                                    "show it (its hosts, VMs, HA and History)",
                                    lambda name=m.name: self.switch_cluster(name))
        if isinstance(screen, ClusterScreen):
            yield from screen.palette_commands()
        if self.faults is not None:
            yield from fault_commands(self.faults, self.cluster.snapshot(), self.notify)
        yield SystemCommand("New cluster",
                            "fill in a new cluster, check its hosts (nothing is changed), then "
                            "provision them", self.action_new_cluster)
        if self.cluster.config is not None:
            yield SystemCommand(f"Add a worker to {self.cluster.name}",
                                "a new host: preflight, provisioning, joining (verified)",
                                self.action_add_worker)
        yield from super().get_system_commands(screen)

    # -- the one place a failed worker reaches the operator ---------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            message = str(error) or type(error).__name__
            self.notify(message, title=f"{event.worker.name} failed", severity="error",
                        timeout=10)
