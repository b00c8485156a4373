"""Validators for everything an operator types that may end up on a remote command line.

Pure functions, no I/O. Each returns the normalised value or raises ValueError with a short
message an operator understands; the wizard shows it next to the field and load_config() puts
it after the key's location (``config.toml: clusters[0].compute_vlans: VLAN 5000 is out of
range 1-4094``).

Single-value validators do not strip surrounding whitespace (a stray space is reported);
the list parsers (parse_vlans, parse_devices) strip whitespace around their items.

Every validator first runs check_safe(), so no value that passes any of them contains a control
character or a shell metacharacter.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Sequence

__all__ = [
    "DEVICE_CHARS",
    "SHELL_METACHARACTERS",
    "VLAN_MAX",
    "VLAN_MIN",
    "check_safe",
    "describe_char",
    "format_vlans",
    "parse_devices",
    "parse_vlans",
    "quote",
    "validate_address",
    "validate_cpu_model",
    "validate_device",
    "validate_hostname_label",
    "validate_ifname",
    "validate_port",
    "validate_user",
]

#: Characters a shell gives a meaning to; none of them is allowed in any validated value.
SHELL_METACHARACTERS = frozenset(";|&$`<>(){}[]*?!~'\"\\\n")

VLAN_MIN = 1
VLAN_MAX = 4094

#: Characters allowed in a block device path besides letters and digits
#: (by-id/by-path names use '_', '-', '.', ':', '+', '@' and '=').
DEVICE_CHARS = frozenset("/._-:+@=")

_CHAR_NAMES = {
    "\n": "a newline",
    "\r": "a carriage return",
    "\t": "a tab",
    " ": "a space",
    "\\": "a backslash (\\)",
    "'": "a single quote (')",
    '"': 'a double quote (")',
    "`": "a backquote (`)",
}

_VLAN_TOKEN = re.compile(r"([0-9]{1,9})(?:\s*-\s*([0-9]{1,9}))?")
_IFNAME_CHARS = frozenset("._-")
_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_USER_RE = re.compile(r"[a-z_][a-z0-9_-]*\$?")
_CPU_MODEL_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")


# --------------------------------------------------------------------------- shared helpers


def quote(value: str, limit: int = 60) -> str:
    """`value` quoted for a message: escapes control characters, shortens long values."""
    if len(value) > limit:
        value = value[: limit - 3] + "..."
    return repr(value)


def describe_char(ch: str) -> str:
    """How a message names one character: "';'", "a space", "control character U+0007"."""
    if ch in _CHAR_NAMES:
        return _CHAR_NAMES[ch]
    if _is_control(ch):
        return f"control character U+{ord(ch):04X}"
    if not ch.isascii() and not ch.isprintable():
        return f"character U+{ord(ch):04X}"
    return repr(ch)


def _is_control(ch: str) -> bool:
    # Cc control, Cf format (e.g. bidi overrides), Cs/Co/Cn, and line/paragraph separators.
    return unicodedata.category(ch)[0] == "C" or ch in "\u2028\u2029"


def _not_allowed(ch: str, where: str = "") -> ValueError:
    suffix = f" in {where}" if where else ""
    return ValueError(f"contains {describe_char(ch)} which is not allowed{suffix}")


def check_safe(text: str) -> str:
    """Reject control characters and shell metacharacters; return `text` unchanged.

    Raises ValueError("contains ';' which is not allowed") naming the first bad character.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected text, got {type(text).__name__}")
    for ch in text:
        if ch in SHELL_METACHARACTERS or _is_control(ch):
            raise _not_allowed(ch)
    return text


def _first_outside(text: str, allowed: frozenset[str]) -> str | None:
    """The first character that is neither an ASCII letter/digit nor in `allowed`."""
    for ch in text:
        if not ((ch.isascii() and ch.isalnum()) or ch in allowed):
            return ch
    return None


# --------------------------------------------------------------------------- VLANs


def _check_vlan(n: int) -> int:
    if not VLAN_MIN <= n <= VLAN_MAX:
        raise ValueError(f"VLAN {n} is out of range {VLAN_MIN}-{VLAN_MAX}")
    return n


def _parse_vlan_token(token: str) -> range:
    m = _VLAN_TOKEN.fullmatch(token)
    if m is None:
        raise ValueError(f"{quote(token)} is not a VLAN or a range such as 22-25")
    start = _check_vlan(int(m.group(1)))
    if m.group(2) is None:
        return range(start, start + 1)
    end = _check_vlan(int(m.group(2)))
    if start > end:
        raise ValueError(f"{quote(token)}: the start of a range must not be above its end")
    return range(start, end + 1)


def _vlan_item(item: int | str) -> Iterable[int]:
    if isinstance(item, bool) or not isinstance(item, int | str):
        raise ValueError(f"expected a VLAN number or a range such as '22-25', got {item!r}")
    if isinstance(item, int):
        return (_check_vlan(item),)
    check_safe(item)
    text = item.strip()
    if not text:
        return ()
    vlans: list[int] = []
    for token in text.split(","):
        token = token.strip()
        if not token:
            raise ValueError(f"{quote(text)} has an empty item between commas")
        vlans.extend(_parse_vlan_token(token))
    return vlans


def parse_vlans(text: str | int | Sequence[int | str]) -> tuple[int, ...]:
    """VLAN IDs from "22", "22-25", "22-25,30,40-41", 22 or [22, "30-31"]: sorted, unique.

    An empty string or list gives (). Each VLAN must be in 1..4094; in a range a <= b.
    """
    items: Sequence[int | str]
    if isinstance(text, str | int):
        items = (text,)
    elif isinstance(text, Sequence) and not isinstance(text, bytes | bytearray):
        items = text
    else:
        raise ValueError(f"expected VLANs such as '22-25,30', got {text!r}")
    found: set[int] = set()
    for item in items:
        found.update(_vlan_item(item))
    return tuple(sorted(found))


def format_vlans(vlans: Iterable[int]) -> str:
    """The compact form of a set of VLANs: (22, 23, 24, 25, 30) -> "22-25,30"."""
    ordered = sorted({_check_vlan(v) for v in vlans})
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


# --------------------------------------------------------------------------- devices


def validate_device(path: str) -> str:
    """A block device path under /dev/: /dev/sdb, /dev/nvme0n1, /dev/disk/by-id/..., ..."""
    check_safe(path)
    if not path:
        raise ValueError("a device path such as /dev/sdb is required")
    bad = _first_outside(path, DEVICE_CHARS)
    if bad is not None:
        raise _not_allowed(bad, "a device path")
    if not path.startswith("/dev/") or path == "/dev/":
        raise ValueError(f"{quote(path)} is not a device path under /dev/ such as /dev/sdb")
    parts = path[len("/dev/") :].split("/")
    if ".." in parts:
        raise ValueError("contains '..' which is not allowed in a device path")
    if any(p in ("", ".") for p in parts):
        raise ValueError(f"{quote(path)} has an empty or '.' path component")
    if len(path) > 4096 or any(len(p) > 255 for p in parts):
        raise ValueError(f"{quote(path)} is too long for a device path")
    return path


def parse_devices(text: str | Sequence[str]) -> tuple[str, ...]:
    """Device paths from "/dev/sdb,/dev/sdc" or a list; no empty items, no duplicates.

    An empty string or list gives ().
    """
    if isinstance(text, str):
        check_safe(text)
        if not text.strip():
            return ()
        items: Sequence[str] = text.split(",")
    elif isinstance(text, Sequence) and not isinstance(text, bytes | bytearray):
        items = text
    else:
        raise ValueError(f"expected device paths such as '/dev/sdb,/dev/sdc', got {text!r}")
    devices: list[str] = []
    for n, item in enumerate(items, 1):
        if not isinstance(item, str):
            raise ValueError(f"item {n}: expected a device path such as '/dev/sdb', got {item!r}")
        path = item.strip()
        if not path:
            raise ValueError(f"item {n} of the device list is empty")
        try:
            validate_device(path)
        except ValueError as e:
            raise ValueError(f"{quote(path)}: {e}") from None
        if path in devices:
            raise ValueError(f"{quote(path)} is listed twice")
        devices.append(path)
    return tuple(devices)


# --------------------------------------------------------------------------- network


def validate_ifname(name: str) -> str:
    """A Linux network interface name: 1-15 characters, e.g. eth0, enp3s0f1, bond0.22."""
    check_safe(name)
    if not name:
        raise ValueError("an interface name such as eth0 is required")
    bad = _first_outside(name, _IFNAME_CHARS)
    if bad is not None:
        raise _not_allowed(bad, "an interface name")
    if len(name) > 15:
        raise ValueError(f"{quote(name)} is longer than 15 characters")
    if name in (".", ".."):
        raise ValueError(f"{quote(name)} is not an interface name")
    if name.startswith("-"):
        raise ValueError(f"{quote(name)} must not start with '-'")
    return name


def validate_address(text: str) -> str:
    """An IPv4/IPv6 address (returned in its normal form) or an RFC 1123 host name."""
    check_safe(text)
    if not text:
        raise ValueError("an IP address or host name is required")
    bad_ip = ValueError(f"{quote(text)} is not an IP address or a host name")
    if ":" in text:
        if "%" in text:
            raise ValueError(f"{quote(text)}: scoped IPv6 addresses (with '%') are not supported")
        try:
            ip6 = ipaddress.IPv6Address(text)
        except ValueError:
            raise bad_ip from None
        return _check_ip(text, ip6)
    try:
        ip4 = ipaddress.IPv4Address(text)
    except ValueError:
        pass
    else:
        return _check_ip(text, ip4)
    if len(text) > 253:
        raise ValueError(f"{quote(text)} is longer than 253 characters")
    labels = text.split(".")
    if not all(_LABEL_RE.fullmatch(label) for label in labels):
        raise bad_ip
    if labels[-1].isdigit():  # looks like a (broken) IPv4 address, e.g. 10.0.0.300
        raise bad_ip
    return text


def _check_ip(text: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if ip.is_unspecified:
        raise ValueError(f"{quote(text)} is the unspecified address, not a host's address")
    if ip.is_multicast:
        raise ValueError(f"{quote(text)} is a multicast address, not a host's address")
    return str(ip)


def validate_port(n: int | str) -> int:
    """A TCP port, 1-65535 (a string of digits is accepted too)."""
    if isinstance(n, str):
        check_safe(n)
        if not (n.isascii() and n.isdigit() and len(n) <= 9):
            raise ValueError(f"{quote(n)} is not a port number")
        n = int(n)
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"expected a port number, got {n!r}")
    if not 1 <= n <= 65535:
        raise ValueError(f"port {n} is out of range 1-65535")
    return n


# --------------------------------------------------------------------------- names


def validate_hostname_label(name: str) -> str:
    """A display name of a host or cluster: letters, digits, '-', '_', '.', 1-63 characters,
    starting with a letter or a digit."""
    check_safe(name)
    if not name:
        raise ValueError("a name is required")
    bad = _first_outside(name, frozenset("._-"))
    if bad is not None:
        raise _not_allowed(bad, "a name (use letters, digits, '-', '_' and '.')")
    if len(name) > 63:
        raise ValueError(f"{quote(name)} is longer than 63 characters")
    if not _NAME_RE.fullmatch(name):
        raise ValueError(f"{quote(name)} must start with a letter or a digit")
    return name


def validate_user(name: str) -> str:
    """A POSIX user name: [a-z_][a-z0-9_-]*, at most 32 characters.

    The POSIX pattern allows a trailing '$' (machine accounts); it is rejected here like
    every other shell metacharacter.
    """
    check_safe(name)
    if not name:
        raise ValueError("a user name such as root is required")
    if len(name) > 32:
        raise ValueError(f"{quote(name)} is longer than 32 characters")
    if not _USER_RE.fullmatch(name):
        bad = _first_outside(name, frozenset("_-"))
        if bad is not None:
            raise _not_allowed(bad, "a user name")
        raise ValueError(
            f"{quote(name)} is not a user name: use lower-case letters, digits, '_' and '-', "
            "starting with a letter or '_'"
        )
    return name


def validate_cpu_model(name: str) -> str:
    """A libvirt CPU model or architecture: host-model, host-passthrough, EPYC-Rome, x86_64."""
    check_safe(name)
    if not name:
        raise ValueError("a CPU model such as host-model is required")
    bad = _first_outside(name, frozenset("._-"))
    if bad is not None:
        raise _not_allowed(bad, "a CPU model (use letters, digits, '-', '_' and '.')")
    if not _CPU_MODEL_RE.fullmatch(name):
        raise ValueError(f"{quote(name)} is longer than 64 characters")
    if name.startswith("-"):
        raise ValueError(f"{quote(name)} must not start with '-'")
    return name


def validate_jump_host(text: str) -> str:
    """An SSH ProxyJump host: [user@]host[:port] (a host name or IPv4 address)."""
    check_safe(text)
    user, at, rest = text.rpartition("@")
    if at:
        validate_user(user)
    address, _, port = rest.partition(":")
    validate_address(address)
    if port:
        validate_port(port)
    return text
