"""What the detail screens say about a VM's memory and a host's counted devices."""

from __future__ import annotations

import pytest
from rich.console import Console

from mvm_tui.models import (
    Host,
    HostFacts,
    HostMetrics,
    HostState,
    MemSource,
    PowerState,
    Vm,
)
from mvm_tui.screens.host_detail import HostDetailScreen
from mvm_tui.screens.vm_detail import VmDetailScreen


def _text(renderable: object) -> str:
    console = Console(width=120, record=True)
    console.print(renderable)
    return console.export_text()


def _vm(source: MemSource) -> Vm:
    return Vm(name="lin1", uuid="u", host="h1", power=PowerState.RUNNING, vcpus=1,
              memory_mb=128, mem_used_mb=21 if source is MemSource.GUEST else 128,
              mem_source=source)


def test_vm_memory_is_the_guests_or_said_to_be_allocated() -> None:
    screen = VmDetailScreen("lin1")
    assert "Memory used  21 MiB" in _text(screen._facts(_vm(MemSource.GUEST)))
    shown = _text(screen._facts(_vm(MemSource.ALLOCATED)))
    assert "not reported by the guest (128 MiB allocated)" in shown


class _NoConfig:
    config = None


def test_a_host_says_which_devices_its_network_and_disk_figures_count(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    # only the cluster's config (none here) and HA's view of the host (no HA) are read
    monkeypatch.setattr(HostDetailScreen, "cluster", property(lambda self: _NoConfig()))
    monkeypatch.setattr(HostDetailScreen, "ha_phase", lambda self, host: None)
    screen = HostDetailScreen("h1")
    host = Host(name="h1", address="10.0.0.1", state=HostState.ONLINE,
                facts=HostFacts(vcpus=4, memory_mb=8192),
                metrics=HostMetrics(time=0.0, cpu_pct=1.0, mem_used_mb=10,
                                    net_devices=("eno1", "[eno2]"), disk_devices=("sda",)))
    shown = _text(screen._facts(host))
    assert "Network of   eno1, [eno2]" in shown  # names shown literally, not as markup
    assert "Disk I/O of  sda" in shown
