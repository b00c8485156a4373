"""provision/kvm.sh's CPU model check, run by bash against fake virsh, systemctl, libvirtd and
qemu on PATH (everything already installed and running): a model libvirt does not list as
usable stops the step with the models that are, with --check and without."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mvm_tui.services.provision import script_text

SCRIPT = script_text("kvm.sh")  # as provisioning sends it: after common.sh
FIXTURE = Path(__file__).parent.parent / "fixtures" / "libvirt" / "domcapabilities.nested-amd.xml"
FAKE_VIRSH = """#!/bin/sh
case "$*" in
  *domcapabilities*) cat "$DOMCAPS" ;;
  *version*) echo "Compiled against library: libvirt 8.0.0" ;;
  *) echo "fake virsh: $*" >&2; exit 1 ;;
esac
"""
USABLE = "host-model, host-passthrough, 486, pentium, pentium2, pentium3"


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {"virsh": FAKE_VIRSH, "systemctl": "#!/bin/sh\nexit 0\n",
               "qemu-system-x86_64": "#!/bin/sh\nexit 0\n", "libvirtd": "#!/bin/sh\nexit 0\n"}
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return bin_dir


def kvm_sh(fake_bin: Path, *args: str, domcaps: Path = FIXTURE
           ) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{fake_bin}:/usr/bin:/bin", "MVM_NO_INSTALL": "1", "DOMCAPS": str(domcaps)}
    return subprocess.run(["bash", "-s", "--", *args], input=SCRIPT, env=env, capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.mark.parametrize("check", [["--check"], []], ids=["check", "apply"])
@pytest.mark.parametrize("model", ["host-model", "host-passthrough", "pentium3", "486"])
def test_a_usable_model_passes(fake_bin: Path, check: list[str], model: str) -> None:
    r = kvm_sh(fake_bin, *check, model)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert f"mvm-provision: CPU model {model} is usable" in lines
    assert lines[-1] == "mvm-provision: unchanged"


@pytest.mark.parametrize("check", [["--check"], []], ids=["check", "apply"])
@pytest.mark.parametrize("model", ["EPYC-Rome", "Skylake-Server", "Pentium3", "maximum"])
def test_a_model_not_usable_stops_the_step(fake_bin: Path, check: list[str], model: str) -> None:
    r = kvm_sh(fake_bin, *check, model)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == (
        f"mvm-provision: CPU model {model} is not usable on this host; usable: {USABLE}")


def test_an_unsupported_mode_is_not_usable(fake_bin: Path, tmp_path: Path) -> None:
    domcaps = tmp_path / "caps.xml"
    domcaps.write_text("<domainCapabilities><cpu>"
                       "<mode name='host-passthrough' supported='no'/>"
                       "<mode name='host-model' supported='yes'/>"
                       "<mode name='custom' supported='yes'>"
                       "<model usable='yes'>Westmere</model><model usable='no'>EPYC</model>"
                       "<model usable='yes'>athlon</model></mode></cpu></domainCapabilities>")
    r = kvm_sh(fake_bin, "--check", "host-passthrough", domcaps=domcaps)
    assert r.returncode == 1
    assert r.stdout.splitlines()[-1].endswith("usable: host-model, athlon, Westmere")
    assert kvm_sh(fake_bin, "--check", "Westmere", domcaps=domcaps).returncode == 0


def test_without_a_model_nothing_is_checked(fake_bin: Path, tmp_path: Path) -> None:
    broken = tmp_path / "empty.xml"
    broken.write_text("")
    r = kvm_sh(fake_bin, "--check", domcaps=broken)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "CPU model" not in r.stdout


def test_libvirt_unreadable_fails_and_says_so(fake_bin: Path, tmp_path: Path) -> None:
    broken = tmp_path / "empty.xml"
    broken.write_text("")
    r = kvm_sh(fake_bin, "--check", "host-model", domcaps=broken)
    assert r.returncode == 1
    assert r.stdout.splitlines()[-1] == (
        "mvm-provision: virsh domcapabilities failed: cannot check CPU model host-model")


@pytest.mark.parametrize("model", ["a;reboot", "$(id)", "-x", "two words"])
def test_a_name_outside_the_allowed_characters_is_refused_first(fake_bin: Path,
                                                                  model: str) -> None:
    r = kvm_sh(fake_bin, "--check", model)
    assert r.returncode == 2
    assert r.stdout.splitlines() == [f"mvm-provision: not a CPU model name: {model}"]
