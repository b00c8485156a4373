"""What an operator reads never shows Python internals: no epoch seconds, no None, no full
libvirt URI with its key and known_hosts paths."""

from __future__ import annotations

from mvm_tui.backends.libvirt.errors import short_uri, without_uris
from mvm_tui.backends.libvirt.uri import build_uri
from mvm_tui.core.failover import Decision
from mvm_tui.core.failover_plan import Kind

EPOCH = 1796574015.8  # 2026-12-06


def test_ha_decisions_read_without_their_epoch_time() -> None:
    assert Decision(EPOCH, Kind.SUSPECT, "h2").text() == "suspect h2"
    assert Decision(EPOCH, Kind.RESTART, "h2", vm="web", target="h3").text() == (
        "restart web on h3")
    stale = Decision(EPOCH, Kind.STALE, "h2", vm="lin1", reason="restarted on h3")
    assert stale.text() == "stale-copy lin1: restarted on h3"
    assert "None" not in Decision(EPOCH, Kind.RESTART, "h2", vm="web").text()
    # the log line of the scenarios and the bench keeps its time since the start
    assert Decision(EPOCH, Kind.FENCE, "h2").line(EPOCH - 34) == "34.0 fence h2"


def test_libvirt_uris_in_messages_become_the_host() -> None:
    uri = build_uri("root", "10.213.0.12", keyfile="/home/op/.ssh/id_ed25519",
                    known_hosts="/home/op/.ssh/known_hosts", transport="libssh")
    assert short_uri(uri) == "10.213.0.12"
    assert short_uri("test:///tmp/node.xml") == "test:///tmp/node.xml"
    text = without_uris(f"operation failed: Failed to connect to remote libvirt URI {uri}: "
                        "authentication failed")
    assert text == ("operation failed: Failed to connect to remote libvirt URI 10.213.0.12: "
                    "authentication failed")
    assert without_uris("no URI here: a 'quoted' word") == "no URI here: a 'quoted' word"


def test_a_vm_defined_nowhere_is_on_no_host_not_none() -> None:
    from mvm_tui.models import PowerState, Vm

    vm = Vm(name="web", uuid="u", host=None, power=PowerState.SHUTOFF, vcpus=1, memory_mb=64)
    assert f"web is on {vm.where}" == "web is on no host"
    assert vm.model_copy(update={"host": "h2"}).where == "h2"
