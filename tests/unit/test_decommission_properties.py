"""Properties of the decommission's pure decisions: the progress bar never goes back, and a
blocklisted range fences exactly the addresses it holds."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from mvm_tui.backends import ceph
from mvm_tui.backends.ceph.osdmap import BlocklistEntry, BlocklistRange

fractions = st.floats(min_value=-1.0, max_value=2.0, allow_nan=False)


@given(st.lists(fractions, min_size=1, max_size=50))
def test_the_progress_shown_never_goes_back(raw: list[float]) -> None:
    shown: list[float] = []
    for f in raw:
        shown.append(ceph.monotonic(shown[-1] if shown else None, f))
    assert shown == sorted(shown)
    assert all(0.0 <= s <= 1.0 for s in shown)
    assert shown[-1] == max(min(max(f, 0.0), 1.0) for f in raw)


ipv4 = st.integers(min_value=0, max_value=2**32 - 1).map(ipaddress.IPv4Address)


@given(ipv4, st.integers(min_value=0, max_value=32), ipv4)
def test_a_range_fences_exactly_the_addresses_it_holds(
    base: ipaddress.IPv4Address, prefix: int, ip: ipaddress.IPv4Address
) -> None:
    network = ipaddress.ip_network(f"{base}/{prefix}", strict=False)
    # as `ceph osd blocklist ls -f json` prints a range: IP:0/PREFIXLEN
    entry = BlocklistRange(range=f"{network.network_address}:0/{prefix}")
    listed = ceph.Blocklist(ranges=(entry,))
    assert listed.covers(str(ip)) is (ip in network)


@given(ipv4, st.integers(min_value=1, max_value=65535), st.integers(min_value=0, max_value=2**31))
def test_an_entry_for_one_client_instance_fences_no_whole_address(
    ip: ipaddress.IPv4Address, port: int, nonce: int
) -> None:
    one = ceph.Blocklist(entries=(BlocklistEntry(addr=f"{ip}:{port}/{nonce}"),))
    whole = ceph.Blocklist(entries=(BlocklistEntry(addr=f"{ip}:0/0"),))
    assert not one.covers(str(ip))
    assert whole.covers(str(ip))
