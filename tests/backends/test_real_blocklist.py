"""Parsing `ceph osd blocklist ls -f json` as Ceph 16 prints it (two JSON documents: the
address entries, then the CIDR ranges), as the real backend's fencing reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.real_ceph import _blocklist

# captured from the lab's Ceph 16.2: the entries, then the (empty) range blocklist
LAB_OUTPUT = '\n[{"addr":"10.213.0.13:0/0","until":"2026-11-26T18:38:41.331845+0000"}][]'
LAB16 = Path(__file__).parent.parent / "fixtures" / "ceph" / "lab16"


def test_blocklist_entries() -> None:
    assert _blocklist(LAB_OUTPUT).addrs == ("10.213.0.13:0/0",)
    assert _blocklist("[][]").addrs == ()


def test_a_host_in_a_blocklisted_range_is_fenced() -> None:
    # `ceph osd blocklist range add 10.213.0.0/24 600` on the lab, then `ls`
    listed = _blocklist((LAB16 / "ceph-osd-blocklist-ls.with-range.json").read_text())
    assert "10.213.0.11:0/0" not in listed.addrs  # no entry names h1...
    assert listed.covers("10.213.0.11")  # ...but the range holds it: fenced


@pytest.mark.parametrize("bad", ["", "listed 1 entries", '[{"until": "x"}]', "{}x", "[1]"])
def test_unexpected_output_is_an_error(bad: str) -> None:
    with pytest.raises(BackendError, match="ceph osd blocklist ls"):
        _blocklist(bad)
