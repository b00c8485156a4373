"""Formatting shared by screens: numbers, sizes, states with their colours, sparklines."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.text import Text

from mvm_tui.models import HostState, PowerState
from mvm_tui.units import rate as rate  # screens write a rate as fmt.rate: units.rate

BLOCKS = "▁▂▃▄▅▆▇█"

HOST_STATE_STYLE = {
    HostState.UNKNOWN: "dim",
    HostState.ONLINE: "green",
    HostState.SLOW: "yellow",
    HostState.UNREACHABLE: "bold red",
    HostState.MAINTENANCE: "cyan",
}

POWER_STYLE = {
    PowerState.RUNNING: "green",
    PowerState.PAUSED: "yellow",
    PowerState.SHUTTING_DOWN: "yellow",
    PowerState.SHUTOFF: "dim",
    PowerState.CRASHED: "bold red",
    PowerState.UNKNOWN: "red",
}

HEALTH_STYLE = {"HEALTH_OK": "green", "HEALTH_WARN": "yellow", "HEALTH_ERR": "bold red"}


def sparkline(values: Sequence[float], width: int, top: float = 100.0) -> str:
    """The last `width` values as block characters, scaled 0..top."""
    tail = list(values)[-width:]
    chars = [
        BLOCKS[min(len(BLOCKS) - 1, max(0, int(v / top * (len(BLOCKS) - 1) + 0.5)))] for v in tail
    ]
    return "".join(chars).rjust(width)


def host_state(state: HostState, ha_phase: str | None = None) -> Text:
    """The host's state; HA's phase instead when the active HA service says it is not OK
    (the table never says "online" while HA counts the host suspect or lost)."""
    if ha_phase is not None and ha_phase != "ok":
        return Text(f"{ha_phase} (HA)", style="bold yellow" if ha_phase == "suspect"
                    else "bold red")
    return Text(state.value, style=HOST_STATE_STYLE[state])


def power_state(state: PowerState) -> Text:
    return Text(state.value, style=POWER_STYLE[state])


def health(status: str) -> Text:
    return Text(status, style=HEALTH_STYLE.get(status, "red"))


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:5.1f}%"


def mib(mb: float) -> str:
    """Megabytes (MiB) as the largest sensible unit."""
    return f"{mb / 1024:.1f} GiB" if mb >= 1024 else f"{mb:.0f} MiB"


def clock_time(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(epoch))


def date_time(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def used_of(used: float, total: float, unit: str) -> str:
    share = 100.0 * used / total if total else 0.0
    return f"{used:.1f} / {total:.1f} {unit} ({share:.0f}%)"
