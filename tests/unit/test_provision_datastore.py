"""provision/datastore.sh run by bash against a fake virsh that keeps its pools in a folder:
the pool XML it defines is valid by libvirt's own schema (virt-xml-validate), NFS and iSCSI; a
second run changes nothing; a pool of that name with another source is left alone; a pool that
cannot be built or started is undefined again; an argument with a shell character is refused.
The iSCSI path runs for real in tests/lab/test_lab_provision_external.py; NFS cannot here (no
NFS client in this machine's kernel)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mvm_tui.services.provision import script_text

SCRIPT = script_text("datastore.sh")  # as provisioning sends it: after common.sh
FAKE_VIRSH = r"""#!/bin/bash
shift 2  # -c qemu:///system
d="$FAKE_POOLS"
case "$1" in
  pool-capabilities) echo "<storagepoolCapabilities><pool type='netfs' supported='yes'>" \
    "</pool><pool type='iscsi-direct' supported='yes'></pool></storagepoolCapabilities>" ;;
  pool-info) [ -f "$d/$2.xml" ] || { echo "error: no pool $2" >&2; exit 1; }
    echo "Name:           $2"
    echo "State:          $([ -f "$d/$2.running" ] && echo running || echo inactive)"
    echo "Autostart:      $([ -f "$d/$2.autostart" ] && echo yes || echo no)" ;;
  pool-define) name="$(sed -n 's:.*<name>\(.*\)</name>.*:\1:p' "$2")"
    cp "$2" "$d/$name.xml"; echo "Pool $name defined" ;;
  pool-dumpxml) cat "$d/$2.xml" ;;
  pool-build) [ -f "$d/fail-build" ] && { echo "error: Failed to build pool $2" >&2; exit 1; }
    echo "Pool $2 built" ;;
  pool-start) [ -f "$d/fail-start" ] && { echo "error: Failed to start pool $2" >&2; exit 1; }
    touch "$d/$2.running" ;;
  pool-autostart) touch "$d/$2.autostart" ;;
  pool-undefine) rm -f "$d/$2".* ;;
  pool-refresh) ;;
  vol-list) printf ' Name   Path\n------------\n vol1   /x/vol1\n\n' ;;
  *) echo "fake virsh: $*" >&2; exit 1 ;;
esac
"""
NFS = ["nfs", "shared", "nas1", "/export/vms"]
ISCSI = ["iscsi", "san", "10.0.0.5", "3260", "iqn.2003-01.org.example:vms"]


@pytest.fixture
def pools(tmp_path: Path) -> Path:
    bin_dir, pools = tmp_path / "bin", tmp_path / "pools"
    bin_dir.mkdir()
    pools.mkdir()
    for name, text in {"virsh": FAKE_VIRSH, "mount.nfs": "#!/bin/sh\nexit 0\n",
                       "hostname": "#!/bin/sh\necho hv1\n"}.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return pools


def datastore_sh(pools: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{pools.parent / 'bin'}:/usr/bin:/bin", "MVM_NO_INSTALL": "1",
           "FAKE_POOLS": str(pools)}
    return subprocess.run(["bash", "-s", "--", *args], input=SCRIPT, env=env, capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.mark.skipif(not (shutil.which("virt-xml-validate") and shutil.which("xmllint")),
                    reason="virt-xml-validate needs libvirt-clients and libxml2-utils (the "
                    "bootstrap installs them when run as root)")
@pytest.mark.parametrize(("args", "expected"), [
    (NFS, ["<pool type='netfs'>", "<host name='nas1'/><dir path='/export/vms'/>",
           "<format type='nfs'/>", "<path>/var/lib/mvm-tui/datastores/shared</path>"]),
    (ISCSI, ["<pool type='iscsi-direct'>", "<host name='10.0.0.5' port='3260'/>",
             "<device path='iqn.2003-01.org.example:vms'/>",
             "<iqn name='iqn.2026-11.io.mvm-tui:hv1'/>"]),
], ids=["nfs", "iscsi"])
def test_the_pool_is_defined_started_and_autostarted_once(
    pools: Path, args: list[str], expected: list[str]
) -> None:
    name = args[1]
    assert datastore_sh(pools, "--check", *args).returncode == 1  # missing: nothing done
    assert not (pools / f"{name}.xml").exists()
    first = datastore_sh(pools, *args)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.splitlines()[-1] == "mvm-provision: changed"
    xml = pools / f"{name}.xml"
    valid = subprocess.run(["virt-xml-validate", str(xml), "storagepool"], capture_output=True,
                           text=True, check=False)
    assert valid.returncode == 0, valid.stdout + valid.stderr + xml.read_text()
    text = xml.read_text()
    for fragment in expected:
        assert fragment in text
    assert (pools / f"{name}.running").exists()
    assert (pools / f"{name}.autostart").exists()
    assert datastore_sh(pools, "--check", *args).returncode == 0
    again = datastore_sh(pools, *args)
    assert again.returncode == 0
    assert again.stdout.splitlines()[-1] == "mvm-provision: unchanged"
    assert "defining" not in again.stdout
    assert "starting" not in again.stdout


def test_a_pool_of_that_name_with_another_source_is_left_alone(pools: Path) -> None:
    assert datastore_sh(pools, *NFS).returncode == 0
    before = (pools / "shared.xml").read_text()
    r = datastore_sh(pools, "nfs", "shared", "nas2", "/export/vms")
    assert r.returncode == 1
    assert ("a storage pool 'shared' exists with another source (netfs nas1 - /export/vms), "
            "not netfs nas2 - /export/vms") in r.stdout
    assert (pools / "shared.xml").read_text() == before


@pytest.mark.parametrize(("args", "fails"), [(ISCSI, "start"), (NFS, "start"), (NFS, "build")])
def test_a_pool_that_cannot_build_or_start_is_undefined_again(
    pools: Path, args: list[str], fails: str
) -> None:
    (pools / f"fail-{fails}").touch()
    r = datastore_sh(pools, *args)
    assert r.returncode == 1
    assert f"error: Failed to {fails} pool {args[1]}" in r.stderr
    assert not (pools / f"{args[1]}.xml").exists()  # a re-run after the fix starts from nothing
    (pools / f"fail-{fails}").unlink()
    assert datastore_sh(pools, *args).returncode == 0


@pytest.mark.parametrize("bad", ["/export/vms;reboot", "/export/$(id)", "/export/a b"])
def test_an_argument_with_a_shell_character_is_refused(pools: Path, bad: str) -> None:
    r = datastore_sh(pools, "nfs", "shared", "nas1", bad)
    assert r.returncode == 2
    assert "refused argument" in r.stdout
    assert list(pools.iterdir()) == []
