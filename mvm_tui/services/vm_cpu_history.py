"""Each VM's CPU over its last polls, at a cost per poll of what changed."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat

from mvm_tui.models import PowerState, Vm


@dataclass(slots=True)
class _Series:
    values: deque[float]
    host: str | None = None  # where it was last polled; None: it left that host
    seen: int = 0  # that host's answers counted when its last value was added


class VmCpuHistory:
    """A VM's CPU % (0 when not running) at each answered poll of its host, the last
    `length`. A host's answer with the same VM objects as its last one (nothing changed)
    costs nothing here: each of its VMs' last value repeats, and is added when that VM is
    read or changes."""

    def __init__(self, length: int) -> None:
        self._length = length
        self._answers: dict[str, int] = {}  # answered polls per host
        self._series: dict[str, _Series] = {}

    def answered(self, host: str, before: Sequence[Vm], vms: Sequence[Vm]) -> None:
        """`host` answered with `vms`; its last answer (or what stood for it) was `before`."""
        n = self._answers.get(host, 0) + 1
        if vms is not before:
            for vm in vms:
                series = self._series.get(vm.name)
                if series is None:
                    series = self._series[vm.name] = _Series(deque(maxlen=self._length))
                else:
                    self._catch_up(series)
                series.values.append(vm.cpu_pct if vm.power is PowerState.RUNNING else 0.0)
                series.host, series.seen = host, n
            names = {vm.name for vm in vms}
            for vm in before:  # gone from the host: its series ends with the last answer
                series = self._series.get(vm.name)
                if vm.name not in names and series is not None and series.host == host:
                    self._catch_up(series)
                    series.host = None
        self._answers[host] = n

    def of(self, vm: str) -> tuple[float, ...]:
        series = self._series.get(vm)
        if series is None:
            return ()
        self._catch_up(series)
        return tuple(series.values)

    def _catch_up(self, series: _Series) -> None:
        """Its last value repeated for its host's answers that changed nothing."""
        if series.host is None or not series.values:
            return
        answers = self._answers.get(series.host, 0)
        missing = min(answers - series.seen, self._length)
        if missing > 0:
            series.values.extend(repeat(series.values[-1], missing))
        series.seen = answers
