"""A VM's CPU history, kept at the cost of what changed, reads as if every answer of its host
had added a value for each of its VMs (what the inventory did before issue 16)."""

from __future__ import annotations

from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from mvm_tui.models import PowerState, Vm
from mvm_tui.services.vm_cpu_history import VmCpuHistory

HOSTS = ("hv1", "hv2", "hv3")
NAMES = tuple(f"vm-{i}" for i in range(6))
LENGTH = 5


def vm(name: str, host: str, cpu: float, power: PowerState = PowerState.RUNNING) -> Vm:
    return Vm(name=name, uuid=name, host=host, power=power, vcpus=1, memory_mb=512,
              cpu_pct=cpu)


class Naive:
    """A value per VM at every answer of its host."""

    def __init__(self) -> None:
        self.series: dict[str, deque[float]] = {}

    def answered(self, vms: tuple[Vm, ...]) -> None:
        for v in vms:
            self.series.setdefault(v.name, deque(maxlen=LENGTH)).append(
                v.cpu_pct if v.power is PowerState.RUNNING else 0.0)

    def of(self, name: str) -> tuple[float, ...]:
        return tuple(self.series.get(name, ()))


# an answer of a host: the same objects as its last, new loads, or one VM moved to another
step = st.tuples(st.sampled_from(("same", "load", "move", "read")), st.sampled_from(HOSTS),
                 st.sampled_from(NAMES), st.floats(0, 100, allow_nan=False),
                 st.sampled_from(HOSTS))


@settings(max_examples=300)
@given(st.lists(step, max_size=60))
def test_reads_as_if_every_answer_added_a_value_per_vm(
        steps: list[tuple[str, str, str, float, str]]) -> None:
    history, naive = VmCpuHistory(LENGTH), Naive()
    placed = {name: HOSTS[i % len(HOSTS)] for i, name in enumerate(NAMES)}
    shown: dict[str, tuple[Vm, ...]] = {h: () for h in HOSTS}

    def answer(host: str, vms: tuple[Vm, ...]) -> None:
        history.answered(host, shown[host], vms)
        naive.answered(vms)
        shown[host] = vms

    for kind, host, name, cpu, to in steps:
        if kind == "same":
            answer(host, shown[host])
        elif kind == "load":  # every VM of the host sampled again
            answer(host, tuple(vm(n, host, (cpu + i) % 100) for i, n in enumerate(NAMES)
                               if placed[n] == host))
        elif kind == "move" and placed[name] != to:  # gone from one answer, in the next
            source = placed[name]
            placed[name] = to
            answer(source, tuple(v for v in shown[source] if v.name != name))
            answer(to, (*shown[to], vm(name, to, cpu)))
        else:
            assert history.of(name) == naive.of(name)
    assert {n: history.of(n) for n in NAMES} == {n: naive.of(n) for n in NAMES}


def test_a_vm_not_running_counts_zero_and_an_unknown_vm_has_no_history() -> None:
    history = VmCpuHistory(LENGTH)
    off = (vm("a", "hv1", 40.0, PowerState.SHUTOFF),)
    history.answered("hv1", (), off)
    history.answered("hv1", off, off)
    assert history.of("a") == (0.0, 0.0)
    assert history.of("b") == ()


def test_the_history_is_as_long_as_asked_however_long_nothing_changed() -> None:
    history = VmCpuHistory(LENGTH)
    vms = (vm("a", "hv1", 10.0),)
    history.answered("hv1", (), vms)
    for _ in range(1000):
        history.answered("hv1", vms, vms)
    assert history.of("a") == (10.0,) * LENGTH
