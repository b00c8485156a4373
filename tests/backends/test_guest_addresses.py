"""A running VM's addresses as `virsh domifaddr --source agent` prints them on a real host
(tests/fixtures/libvirt/domifaddr-agent.txt, captured in the lab): loopback and IPv6
link-local ones left out."""

from __future__ import annotations

from pathlib import Path

from mvm_tui.backends.real_workloads import parse_guest_addresses

FIXTURE = Path(__file__).parents[1] / "fixtures" / "libvirt" / "domifaddr-agent.txt"


def test_the_agents_table_gives_the_guests_own_addresses() -> None:
    text = "".join(line for line in FIXTURE.read_text().splitlines(keepends=True)
                   if not line.startswith("#"))
    assert parse_guest_addresses(text) == ("10.100.0.50/24",)


def test_no_table_no_address() -> None:
    assert parse_guest_addresses("") == ()
    assert parse_guest_addresses("error: argument unsupported: QEMU guest agent is not "
                                 "configured\n") == ()
