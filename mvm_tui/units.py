"""How numbers read in what mvm-tui writes: a count with its noun ("1 VM", "2 VMs").

One place for each, so every screen, log line and message says them the same way
(tests/unit/test_units.py checks the sources for counts written by hand).
"""

from __future__ import annotations

__all__ = ["count", "is_are"]


def count(n: float, noun: str, plural: str | None = None) -> str:
    """`n` and the noun, singular for exactly 1: count(1, "VM") == "1 VM", count(0, "VM")
    == "0 VMs". `plural` when it is not noun + "s". A float is written without trailing
    zeros (2.5 vCPUs, 4 vCPUs)."""
    number = f"{n:g}" if isinstance(n, float) else str(n)
    return f"{number} {noun if n == 1 else plural or noun + 's'}"


def is_are(n: float) -> str:
    """The verb after a count of `n`: "1 PG is stale", "2 PGs are"."""
    return "is" if n == 1 else "are"
