"""What every screen of a cluster shares: access to the cluster and live inventory refresh."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import cast

from textual.actions import parse
from textual.app import SystemCommand
from textual.binding import ActiveBinding
from textual.screen import Screen

from mvm_tui.runs import RunExecutor
from mvm_tui.screens.handle import SessionHandle
from mvm_tui.services.cluster import Cluster
from mvm_tui.services.decommission_runs import Decommissions
from mvm_tui.services.ha import HaService
from mvm_tui.services.ha_status import HaStatus

# the footer shows these first, so that they stay visible at 80 columns (the keys that do not
# fit are still in the command palette)
FOOTER_FIRST = ("app.keys", "app.quit")


class ClusterScreen(Screen[None]):
    """A screen that shows part of the cluster and repaints when the inventory changes."""

    @property
    def session(self) -> SessionHandle:
        """What the session built, as the app provides it (screens run in MvmApp only)."""
        return cast(SessionHandle, self.app)

    @property
    def cluster(self) -> Cluster:
        return self.session.shown.cluster

    @property
    def executor(self) -> RunExecutor:
        return self.session.executor

    @property
    def ha(self) -> HaService | None:
        """The shown cluster's HA service, when one runs in this process."""
        return self.session.shown.ha

    @property
    def decommissions(self) -> Decommissions | None:
        """The shown cluster's decommissions, when it has them (HCI clusters)."""
        return self.session.shown.decommissions

    def refuse_runs(self) -> bool:
        """True, and says why, when this process records no runs, so starts none (its run
        store cannot be used): the first line of every action that would start one."""
        return self.session.refuse_runs()

    def ha_status(self) -> HaStatus | None:
        """What this TUI's HA service says, when it is the active one (else None)."""
        ha = self.ha
        if ha is None or self.session.shown.ha_standby:
            return None
        status = ha.status()
        return status if status.active else None

    def ha_phase(self, host: str) -> str | None:
        status = self.ha_status()
        return None if status is None else status.phases.get(host)

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """As Screen's, with the help and quit keys first (the footer shows them in this
        order)."""
        bindings = super().active_bindings
        first = {key: b for bid in FOOTER_FIRST for key, b in bindings.items()
                 if b.binding.id == bid}
        return first | {key: b for key, b in bindings.items() if key not in first}

    def on_screen_resume(self) -> None:
        self.refresh_inventory()

    def refresh_inventory(self) -> None:
        """Repaint from `self.cluster.snapshot()`. Cheap: called every poll interval."""

    def palette_commands(self) -> Iterable[SystemCommand]:
        """Commands of this screen for the command palette: by default, its keys."""
        return self.key_commands()

    def palette_subject(self, action: str) -> str | None:
        """What a key's action acts on, named in its palette command (a host, a run)."""
        return None

    def key_commands(self, skip: Collection[str] = ()) -> Iterator[SystemCommand]:
        """The keys this screen offers now (those its footer shows, but the app's own and
        those in `skip`), as palette commands."""
        seen: set[str] = set()
        keyed = self._bindings.copy()
        keyed.apply_keymap(self.app._keymap)  # the operator's keys, as the footer shows them
        for bindings in keyed.key_to_bindings.values():
            for binding in bindings:
                _, name, parameters = parse(binding.action)
                if not binding.show or binding.action.startswith("app.") or name in skip or \
                        binding.action in seen or not self.check_action(name, parameters):
                    continue
                seen.add(binding.action)
                subject = self.palette_subject(name)
                title = f"{binding.description}: {subject}" if subject else binding.description
                yield SystemCommand(title, f"key {binding.key_display or binding.key}",
                                    lambda a=binding.action: self.run_action(a))
