"""The garbage collector's settings for the TUI, a long-running process.

Every poll replaces each VM's object (5,000 VMs: about 15,000 container objects every 2 s).
With CPython's defaults they outlive two young collections, reach the oldest generation, and
make a full collection of every object the process holds (imports, widgets, the inventory:
about 240,000) run every few ticks, 90-100 ms each. Once the app has started, what exists
then is frozen (full collections skip it; reference counting still frees it) and young
collections run less often, so a VM's object mostly dies before it is promoted.

No collection runs first: at 64 hosts x 5,000 VMs it took ~100 ms of the first screen and
found ~300 objects of cyclic garbage (those stay, frozen).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # allocations between young collections (CPython's default: 700)
# young collections between collections of the middle generation (CPython's default: 10).
# Textual's line strips are reference cycles (a strip caches itself), so the middle
# generation fills with their garbage: at 10, each of its collections took 25-50 ms at
# 64 hosts x 5,000 VMs, at 3 about 20 (bench/keys.py's slowest keys were these pauses)
MIDDLE_THRESHOLD = 3


def settle_after_start() -> None:
    gc.freeze()
    old = gc.get_threshold()[2]
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, old)
