"""What a VM change does live and what waits for its next boot (core/vm_change.py). Expected,
worked by hand before running, for a running VM of 2 vCPUs (most 8) and 2048 MiB (most 8192,
16 slots free):
- 4 vCPUs and 2560 MiB: both live (a 512 MiB module), nothing for the next boot;
- 2100 MiB: 52 MiB more is not whole 128 MiB modules: at its next boot;
- 10 vCPUs: above its maximum: at its next boot; 1024 MiB: memory is not taken away live;
- no slot left: a growth waits for the next boot;
- stopped: everything at its next start; the same size again is refused;
- a pending size set back to what runs: only the definition is rewritten.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mvm_tui.core.vm_change import (
    DiskShape,
    NicShape,
    VmShape,
    find_nic,
    growth,
    next_disk,
    next_mac,
    plan_resize,
    removable_disk,
)
from mvm_tui.core.vm_spec import MEMORY_ALIGN_MB

RUNNING = VmShape(running=True, vcpus=2, max_vcpus=8, memory_mb=2048, max_memory_mb=8192,
                  free_slots=16, next_vcpus=2, next_memory_mb=2048,
                  disks=(DiskShape("vda", "vm.a.disk0"), DiskShape("vdb", "vm.a.disk1"),
                         DiskShape("sda", "vm.a.seed", cdrom=True)),
                  nics=(NicShape("52:54:00:aa:bb:01", 22), NicShape("52:54:00:aa:bb:02", 23),
                        NicShape("52:54:00:aa:bb:03", 23)))


def test_within_the_maximums_both_are_live() -> None:
    plan = plan_resize(RUNNING, 4, 2560)
    assert (plan.vcpus_live, plan.plug_mb, plan.next_boot) == (True, 512, False)
    assert plan.says == ("vCPUs: 2 -> 4, live", "memory: 2048 -> 2560 MiB, live (a 512 MiB "
                                                "module)")


@pytest.mark.parametrize(("vcpus", "memory", "why"), [
    (2, 2100, "52 MiB more is not a whole number of 128 MiB modules"),
    (2, 8320, "more than its maximum, 8192 MiB"),
    (2, 1024, "memory is not taken away live"),
])
def test_memory_that_cannot_be_added_live_waits_for_the_next_boot(vcpus: int, memory: int,
                                                                   why: str) -> None:
    plan = plan_resize(RUNNING, vcpus, memory)
    assert (plan.plug_mb, plan.next_boot) == (0, True)
    assert why in plan.says[-1]


def test_more_vcpus_than_the_maximum_wait_for_the_next_boot() -> None:
    plan = plan_resize(RUNNING, 10, 2048)
    assert (plan.vcpus_live, plan.next_boot) == (False, True)
    assert "more than its maximum, 8" in plan.says[0]


def test_no_slot_left_no_module() -> None:
    plan = plan_resize(replace(RUNNING, free_slots=0), 2, 2560)
    assert (plan.plug_mb, plan.next_boot) == (0, True)
    assert "no memory slot left" in plan.says[0]


def test_a_stopped_vm_gets_it_at_its_next_start_and_the_same_size_is_refused() -> None:
    stopped = replace(RUNNING, running=False)
    plan = plan_resize(stopped, 4, 4096)
    assert (plan.vcpus_live, plan.plug_mb, plan.next_boot) == (False, 0, True)
    assert all(s.endswith("at its next start") for s in plan.says)
    assert growth(stopped, 4, 4096) == (0, 0)
    with pytest.raises(ValueError, match="already"):
        plan_resize(stopped, 2, 2048)


def test_a_pending_size_set_back_rewrites_only_the_definition() -> None:
    pending = replace(RUNNING, next_vcpus=12)
    assert pending.pending == "pending restart: 12 vCPUs, 2048 MiB at its next boot"
    plan = plan_resize(pending, 2, 2048)
    assert (plan.vcpus_live, plan.plug_mb, plan.next_boot) == (False, 0, True)


@pytest.mark.parametrize(("vcpus", "memory", "field"), [(0, 2048, "vcpus"),
                                                        (2, 63, "memory_mb"),
                                                        (2, 2049, "memory_mb")])
def test_bad_values_are_refused_naming_the_field(vcpus: int, memory: int, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        plan_resize(RUNNING, vcpus, memory)


@given(vcpus=st.integers(1, 64), memory=st.integers(32, 16384).map(lambda m: m * 2),
       running=st.booleans(), slots=st.integers(0, 2))
def test_a_plan_never_goes_past_the_maximums_live_and_leaves_nothing_undone(
        vcpus: int, memory: int, running: bool, slots: int) -> None:
    shape = replace(RUNNING, running=running, free_slots=slots)
    if (vcpus, memory) == (2, 2048):
        return
    plan = plan_resize(shape, vcpus, memory)
    if plan.vcpus_live:
        assert running
        assert vcpus <= shape.max_vcpus
    if plan.plug_mb:
        assert running
        assert slots
        assert memory <= shape.max_memory_mb
        assert plan.plug_mb % MEMORY_ALIGN_MB == 0
        assert plan.plug_mb == memory - 2048
    live = (vcpus if plan.vcpus_live else 2, 2048 + plan.plug_mb)
    # what is not done live is written for the next boot
    assert plan.next_boot == (live != (vcpus, memory))


def test_a_new_disk_takes_the_next_free_image_and_target() -> None:
    assert next_disk(RUNNING, "a") == ("vm.a.disk2", "vdc")
    assert next_disk(replace(RUNNING, disks=RUNNING.disks[:1]), "a") == ("vm.a.disk1", "vdb")


def test_the_root_disk_and_the_seed_are_not_removable() -> None:
    with pytest.raises(ValueError, match="root disk"):
        removable_disk(RUNNING, "a", "vda")
    with pytest.raises(ValueError, match="no disk 'sda'"):
        removable_disk(RUNNING, "a", "sda")
    assert removable_disk(RUNNING, "a", "vm.a.disk1").target == "vdb"


def test_a_nic_is_named_by_its_mac_or_its_only_vlan() -> None:
    assert find_nic(RUNNING, "22").mac == "52:54:00:aa:bb:01"
    assert find_nic(RUNNING, "52:54:00:AA:BB:03").vlan == 23
    with pytest.raises(ValueError, match="several NICs are on VLAN 23"):
        find_nic(RUNNING, "23")
    with pytest.raises(ValueError, match="no NIC '24'"):
        find_nic(RUNNING, "24")


def test_a_new_nic_gets_a_mac_the_vm_does_not_have() -> None:
    first = next_mac(replace(RUNNING, nics=()), "uuid-1")
    assert first.startswith("52:54:00:")
    second = next_mac(replace(RUNNING, nics=(NicShape(first, 22),)), "uuid-1")
    assert second not in (first,)
    assert second.startswith("52:54:00:")
