"""Putting a guest where a test needs it, running, whatever earlier tests left (they move,
stop and fail over the same lab guests)."""

from __future__ import annotations

from mvm_tui.backends.base import ClusterBackend
from mvm_tui.models import PowerAction, PowerState


async def put_running_on(backend: ClusterBackend, vm: str, host: str) -> None:
    info = await backend.vm_info(vm)
    if info.host != host:
        if info.power is PowerState.RUNNING:
            await backend.migrate(vm, host)
        else:
            await backend.relocate(vm, host)
        info = await backend.vm_info(vm)
    if info.power is not PowerState.RUNNING:
        await backend.vm_power(info, PowerAction.START)
