"""Parsing `ceph osd blocklist ls -f json` as Ceph 16 prints it (two JSON documents)."""

from __future__ import annotations

import pytest

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.real import _blocklist_addrs

# captured from the lab's Ceph 16.2: the entries, then the (empty) range blocklist
LAB_OUTPUT = '\n[{"addr":"10.213.0.13:0/0","until":"2026-11-26T18:38:41.331845+0000"}][]'


def test_blocklist_entries() -> None:
    assert _blocklist_addrs(LAB_OUTPUT) == ["10.213.0.13:0/0"]
    assert _blocklist_addrs("[][]") == []


@pytest.mark.parametrize("bad", ["", "listed 1 entries", '[{"until": "x"}]', "{}x", "[1]"])
def test_unexpected_output_is_an_error(bad: str) -> None:
    with pytest.raises(BackendError, match="ceph osd blocklist ls"):
        _blocklist_addrs(bad)
