"""How numbers read in what mvm-tui writes: a count with its noun ("1 VM", "2 VMs"), a size
in bytes and a rate, in binary units (KiB, MiB, GiB: "35.0 MiB/s"), as libvirt and the
migrations count them.

One place for each, so every screen, log line and message says them the same way
(tests/unit/test_units.py checks the sources for counts and rates written by hand).
"""

from __future__ import annotations

__all__ = ["count", "is_are", "rate", "size_bytes"]


def count(n: float, noun: str, plural: str | None = None) -> str:
    """`n` and the noun, singular for exactly 1: count(1, "VM") == "1 VM", count(0, "VM")
    == "0 VMs". `plural` when it is not noun + "s". A float is written without trailing
    zeros (2.5 vCPUs, 4 vCPUs)."""
    number = f"{n:g}" if isinstance(n, float) else str(n)
    return f"{number} {noun if n == 1 else plural or noun + 's'}"


def is_are(n: float) -> str:
    """The verb after a count of `n`: "1 PG is stale", "2 PGs are"."""
    return "is" if n == 1 else "are"


def size_bytes(n: float) -> str:
    """Bytes in the largest binary unit below 1024 of it: "512 B", "1.5 KiB", "3.2 GiB"."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def rate(bps: float) -> str:
    """Bytes per second: "35.0 MiB/s"."""
    return f"{size_bytes(bps)}/s"
