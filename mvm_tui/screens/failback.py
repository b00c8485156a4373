"""HA's failback question (policy "ask"): a VM HA moved off a host that is back; the operator
says whether it goes home now (a live migration, as a Run) or stays where it runs."""

from __future__ import annotations

from textual.app import App

from mvm_tui.services.ha import HaService
from mvm_tui.widgets.confirm import ConfirmModal


def ask_failback(app: App[None], ha: HaService, vm: str, home: str) -> None:
    """Ask now (a dialog over the current screen); the answer goes to the HA service."""

    def answered(yes: bool | None) -> None:
        if vm not in ha.pending_failbacks:
            return  # answered already, or no longer asked
        if yes:
            ha.approve_failback(vm)
        else:
            ha.decline_failback(vm)
            app.notify(f"{vm} stays where it runs", title="HA failback")

    modal = ConfirmModal(
        f"HA: fail {vm} back to {home}?",
        f"{home} is back. {vm} was restarted elsewhere while {home} was lost; it is "
        f"live-migrated back to {home} only if you say so (failback = \"ask\").",
        ha.failback_preview(vm, home), "Fail back")
    app.push_screen(modal, answered)
