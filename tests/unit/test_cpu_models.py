"""The CPU models libvirt reports (virsh domcapabilities, captured on a real machine: see the
comment in the fixture), the models usable on every host, and the preflight item."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvm_tui.core.cpu_models import (
    NOT_INSTALLED,
    check_cpu_model,
    read_domcapabilities,
    usable_models,
    usable_on_all,
)
from mvm_tui.core.preflight import Item

FIXTURE = Path(__file__).parent.parent / "fixtures" / "libvirt" / "domcapabilities.nested-amd.xml"


def caps(*modes: str) -> str:
    return f"<domainCapabilities><cpu>{''.join(modes)}</cpu></domainCapabilities>"


def test_the_captured_host_reports_its_usable_models_in_order() -> None:
    assert usable_models(FIXTURE.read_text()) == (
        "host-model", "host-passthrough", "486", "pentium", "pentium2", "pentium3")


def test_only_usable_models_of_supported_modes_count() -> None:
    xml = caps("<mode name='host-passthrough' supported='no'/>",
               "<mode name='host-model' supported='yes'><model fallback='forbid'>kvm64</model>"
               "</mode>",
               "<mode name='maximum' supported='yes'/>",
               "<mode name='custom' supported='yes'>"
               "<model usable='no' vendor='Intel'>Skylake-Server</model>"
               "<model usable='yes' vendor='AMD'> EPYC-Rome </model>"
               "<model usable='unknown'>Dhyana</model>"
               "<model usable='yes'></model>"
               "<model usable='yes' vendor='AMD'>EPYC</model>"
               "<model usable='yes' vendor='Intel'>athlon</model></mode>")
    # host-model's own <model> is what it expands to, not a choice; "maximum" is not offered
    assert usable_models(xml) == ("host-model", "athlon", "EPYC", "EPYC-Rome")


def test_an_unsupported_custom_mode_offers_no_named_model() -> None:
    xml = caps("<mode name='host-model' supported='no'/>",
               "<mode name='custom' supported='no'><model usable='yes'>EPYC</model></mode>")
    assert usable_models(xml) == ()
    assert usable_models("<domainCapabilities/>") == ()


@pytest.mark.parametrize("text", ["", "   ", "error: failed to connect to the hypervisor",
                                  "<domainCapabilities><cpu>", "<capabilities/>"])
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"^not XML|is not libvirt's <domainCapabilities>$"):
        usable_models(text)


def test_usable_on_all_hosts_is_the_intersection_in_order() -> None:
    a = ("host-model", "host-passthrough", "EPYC", "EPYC-Rome", "qemu64")
    b = ("qemu64", "EPYC", "host-model", "Skylake-Server")
    assert usable_on_all([a, b]) == ("host-model", "EPYC", "qemu64")
    assert usable_on_all([a]) == a
    assert usable_on_all([a, ()]) == ()
    assert usable_on_all([]) == ()


def test_the_check_passes_a_usable_model_and_fails_the_others_naming_some() -> None:
    usable = usable_models(FIXTURE.read_text())
    assert check_cpu_model("host-model", usable).status == "ok"
    assert check_cpu_model("pentium3", usable) == Item(
        "CPU model", "ok", "pentium3 is usable here (6 models are)")
    no = check_cpu_model("EPYC-Rome", usable)
    assert no.check == "CPU model"
    assert no.status == "fail"
    assert not no.ok
    assert "EPYC-Rome is not usable" in no.detail
    assert no.fix == ("choose a model usable on this host: host-model, host-passthrough, 486, "
                      "pentium, pentium2, pentium3")


def test_a_long_list_is_cut_and_every_host_can_be_named() -> None:
    many = tuple(f"m{i:02}" for i in range(20))
    fix = check_cpu_model("EPYC", many).fix
    assert fix.endswith("m07 and 12 more")
    assert "m08" not in fix
    common = check_cpu_model("EPYC", many, everywhere=("host-model", "m03"))
    assert common.fix == "choose a model usable on every host: host-model, m03"
    assert "no CPU model usable on every host" in check_cpu_model("EPYC", many, ()).fix
    nothing = check_cpu_model("EPYC", ())
    assert nothing.status == "fail"
    assert "no CPU model usable on this host" in nothing.fix


def test_libvirt_missing_or_stopped_does_not_block() -> None:
    missing = read_domcapabilities(NOT_INSTALLED, "", "")
    assert missing == Item("CPU model", "ok",
                           "libvirt is not installed yet: checked after KVM is installed")
    stopped = read_domcapabilities(
        1, "", "error: failed to connect to the hypervisor\nerror: Failed to connect socket to "
        "'/var/run/libvirt/libvirt-sock': No such file or directory\n")
    assert isinstance(stopped, Item)
    assert stopped.status == "ok"
    assert "not running yet" in stopped.detail


def test_other_failures_warn_and_an_answer_gives_the_models() -> None:
    failed = read_domcapabilities(1, "", "error: KVM is not supported on this host\n")
    assert isinstance(failed, Item)
    assert failed.status == "warn"
    assert failed.ok
    assert failed.detail == ("virsh domcapabilities failed: error: KVM is not supported on "
                             "this host")
    garbled = read_domcapabilities(0, "<oops", "")
    assert isinstance(garbled, Item)
    assert garbled.status == "warn"
    assert "not XML" in garbled.detail
    text = FIXTURE.read_text()
    assert read_domcapabilities(0, text, "") == usable_models(text)
