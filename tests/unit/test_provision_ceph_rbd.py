"""ceph.sh libvirt-rbd, sent as provisioning sends it, against fake virsh, apt-get and
systemctl on PATH: libvirt's RBD backend is installed with apt's progress on stdout and
libvirtd restarted (it loads backends when it starts); once there, nothing is done; --check
and install_packages = false fail without installing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mvm_tui.services.provision import script_text

SCRIPT = script_text("ceph.sh")
FAKES = {
    # RBD pools once libvirtd was restarted after the package was installed
    "virsh": """#!/bin/sh
case "$*" in
  *pool-capabilities*) [ -f "$STATE/restarted" ] && [ -f "$STATE/installed" ] \\
      && echo "<pool type='rbd' supported='yes'>" || echo "<pool type='dir' supported='yes'>" ;;
  *version*) echo "libvirt 9" ;;
esac
""",
    "apt-get": '#!/bin/sh\necho "$*" >> "$STATE/apt"\ntouch "$STATE/installed"\n',
    "systemctl": '#!/bin/sh\necho "$*" >> "$STATE/systemctl"\n'
                 '[ "$1" = restart ] && touch "$STATE/restarted"\nexit 0\n',
}


@pytest.fixture
def state(tmp_path: Path) -> Path:
    (tmp_path / "bin").mkdir()
    for name, text in FAKES.items():
        (tmp_path / "bin" / name).write_text(text)
        (tmp_path / "bin" / name).chmod(0o755)
    (tmp_path / "state").mkdir()
    return tmp_path / "state"


def rbd(state: Path, *args: str, install: bool = True) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{state.parent / 'bin'}:/usr/bin:/bin", "STATE": str(state),
           **({} if install else {"MVM_NO_INSTALL": "1"})}
    return subprocess.run(["bash", "-s", "--", *args, "libvirt-rbd"], input=SCRIPT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_the_backend_is_installed_then_libvirtd_restarted_once(state: Path) -> None:
    assert rbd(state, "--check").returncode == 1
    first = rbd(state)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "mvm-provision: installing libvirt-daemon-driver-storage-rbd" in first.stdout
    assert first.stdout.splitlines()[-1] == "mvm-provision: changed"
    assert (state / "apt").read_text().split() == [
        "install", "-y", "-q", "-o", "APT::Status-Fd=1", "libvirt-daemon-driver-storage-rbd"]
    assert (state / "systemctl").read_text() == "restart libvirtd\n"
    assert rbd(state, "--check").returncode == 0
    again = rbd(state)
    assert "mvm-provision: libvirt already has RBD storage pools" in again.stdout
    assert again.stdout.splitlines()[-1] == "mvm-provision: unchanged"
    assert (state / "systemctl").read_text() == "restart libvirtd\n"  # not restarted again


def test_without_package_installs_it_fails_and_installs_nothing(state: Path) -> None:
    r = rbd(state, install=False)
    assert r.returncode == 1
    assert ("mvm-provision: missing: libvirt-daemon-driver-storage-rbd (install_packages is "
            "false)") in r.stdout
    assert not (state / "apt").exists()
    assert not (state / "systemctl").exists()
