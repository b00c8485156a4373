"""A preview's `ssh HOST ...` line makes the host's shell read exactly the words the backend
runs: checked with bash, standing in for ssh (which joins its words with spaces) and for the
host's shell (which reads that line)."""

from __future__ import annotations

import subprocess

import pytest

from mvm_tui.backends.host_commands import maintenance_argvs, maintenance_commands, on_host

# ssh: its words after the host, joined by spaces, read again by the host's shell
FAKE_SSH = ('ssh() { shift; remote="$*"; eval "set -- $remote"; '
            'for a in "$@"; do printf "%s\\0" "$a"; done; }; ')


def host_reads(line: str) -> list[str]:
    out = subprocess.run(["bash", "-c", FAKE_SSH + line], capture_output=True, text=True,
                         check=True).stdout
    return out.split("\0")[:-1]


@pytest.mark.parametrize("argv", [
    ["touch", "/var/lib/mvm-tui/maintenance"],
    ["ceph-authtool", "--gen-key", "--cap", "mon", "allow *"],
    ["sed", "-i", "-E", r"s|^([[:space:]]*mon[_ ]host[[:space:]]*=).*$|\1 VALUE|",
     "/etc/ceph/ceph.conf"],
    ["sh", "-c", "base64 -d > /var/lib/ceph/tmp/monmap"],
    ["echo", 'a"b', "`x`", "don't", "a\\b", "$HOME", "hi!", ""],
])
def test_the_host_reads_the_very_words(argv: list[str]) -> None:
    assert host_reads(on_host("hv1", argv)) == ["sudo", *argv]


def test_a_plain_command_stays_plain() -> None:
    assert maintenance_commands("hv1", True) == [
        "ssh hv1 sudo mkdir -p /var/lib/mvm-tui", "ssh hv1 sudo touch /var/lib/mvm-tui/maintenance"]
    assert [host_reads(c)[1:] for c in maintenance_commands("hv1", False)] == \
        maintenance_argvs(False)
