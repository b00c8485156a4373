"""Exact argv of every ceph command the application runs, and their shell rendering.

Inputs are validated before any argv is built (ValueError otherwise). Every command carries
`--connect-timeout` so that a cluster without quorum makes it fail instead of hang, and `-f json`
when it prints a result.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Sequence

DEFAULT_CONNECT_TIMEOUT = 10
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_NAME = re.compile(NAME_PATTERN)
_ADDR = re.compile(
    r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<v4>[0-9.]+))"
    r"(?::(?P<port>[0-9]{1,5}))?(?:/(?P<nonce>[0-9]{1,10}))?"
)


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"invalid {what} {value!r}: must be a positive integer")
    return value


def check_osd_id(value: object) -> str:
    """An OSD id as a command argument: a non-negative int, nothing else."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"invalid OSD id {value!r}: must be a non-negative integer")
    return str(value)


def _osd_ids(values: Sequence[int]) -> list[str]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
        raise ValueError(f"invalid OSD ids {values!r}: must be a non-empty list of integers")
    return list(dict.fromkeys(check_osd_id(v) for v in values))


def check_name(value: object, what: str = "name") -> str:
    """A host or monitor name: ^[A-Za-z0-9][A-Za-z0-9._-]*$, whole string."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ValueError(f"invalid {what} {value!r}: must match ^{NAME_PATTERN}$")
    return value


def check_addr(value: object) -> str:
    """A client address to blocklist: IPv4 or [IPv6], optional :port and /nonce."""
    m = _ADDR.fullmatch(value) if isinstance(value, str) else None
    try:
        if m is None:
            raise ValueError
        if m["v6"] is not None:
            ipaddress.IPv6Address(m["v6"])
        else:
            ipaddress.IPv4Address(m["v4"])
        if m["port"] is not None and int(m["port"]) > 65535:
            raise ValueError
        if m["nonce"] is not None and int(m["nonce"]) >= 2**32:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"invalid address {value!r}: expected IP, [IPv6], IP:port or IP:port/nonce"
        ) from None
    return str(value)


def _ceph(
    *words: str, json_out: bool = False, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT
) -> list[str]:
    """`ceph --connect-timeout N WORDS... [-f json]`; callers validate WORDS."""
    t = _positive_int(connect_timeout, "connect timeout")
    return ["ceph", "--connect-timeout", str(t), *words, *(["-f", "json"] if json_out else [])]


def render(argv: Sequence[str]) -> str:
    """The argv as a shell command line, every argument quoted: what the preview shows."""
    return " ".join(shlex.quote(a) for a in argv)


# -- reads


def status(*, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    return _ceph("status", json_out=True, connect_timeout=connect_timeout)


def health_detail(*, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    return _ceph("health", "detail", json_out=True, connect_timeout=connect_timeout)


def osd_df_tree(*, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    return _ceph("osd", "df", "tree", json_out=True, connect_timeout=connect_timeout)


def osd_tree(*, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    return _ceph("osd", "tree", json_out=True, connect_timeout=connect_timeout)


def mon_dump(*, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    return _ceph("mon", "dump", json_out=True, connect_timeout=connect_timeout)


def quorum_status(*, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    return _ceph("quorum_status", json_out=True, connect_timeout=connect_timeout)


def pg_stat(*, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    return _ceph("pg", "stat", json_out=True, connect_timeout=connect_timeout)


def pg_ls(*, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    """Every PG as its primary last reported it (state, up, acting, reported_epoch)."""
    return _ceph("pg", "ls", json_out=True, connect_timeout=connect_timeout)


def pg_ls_by_osd(osd: int, *, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    """The PGs whose up or acting set holds the OSD."""
    return _ceph("pg", "ls-by-osd", check_osd_id(osd), json_out=True,
                 connect_timeout=connect_timeout)


def osd_ok_to_stop(
    osd_ids: Sequence[int], *, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT
) -> list[str]:
    ids = _osd_ids(osd_ids)
    return _ceph("osd", "ok-to-stop", *ids, json_out=True, connect_timeout=connect_timeout)


def osd_safe_to_destroy(
    osd_ids: Sequence[int], *, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT
) -> list[str]:
    ids = _osd_ids(osd_ids)
    return _ceph("osd", "safe-to-destroy", *ids, json_out=True, connect_timeout=connect_timeout)


def osd_pool_ls_detail(*, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    """Every pool with its replica counts (size, min_size) and CRUSH rule."""
    return _ceph("osd", "pool", "ls", "detail", json_out=True, connect_timeout=connect_timeout)


def osd_dump(*, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    """The osdmap: its epoch, the full / backfillfull / nearfull ratios, each OSD's up and in."""
    return _ceph("osd", "dump", json_out=True, connect_timeout=connect_timeout)


def osd_blocklist_ls(*, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    return _ceph("osd", "blocklist", "ls", json_out=True, connect_timeout=connect_timeout)


# -- changes


def osd_out(osd: int, *, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    return _ceph("osd", "out", check_osd_id(osd), connect_timeout=connect_timeout)


def osd_crush_remove(osd: int, *, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    return _ceph(
        "osd", "crush", "remove", f"osd.{check_osd_id(osd)}", connect_timeout=connect_timeout
    )


def osd_crush_rm_host(host: str, *, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    """Remove a host bucket from the CRUSH map (Ceph refuses while it still holds OSDs)."""
    return _ceph(
        "osd", "crush", "rm", check_name(host, "host name"), connect_timeout=connect_timeout
    )


def auth_del_osd(osd: int, *, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    return _ceph("auth", "del", f"osd.{check_osd_id(osd)}", connect_timeout=connect_timeout)


def osd_rm(osd: int, *, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    return _ceph("osd", "rm", check_osd_id(osd), connect_timeout=connect_timeout)


def osd_purge(osd: int, *, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    """crush remove + auth del + osd rm in one command."""
    return _ceph(
        "osd", "purge", check_osd_id(osd), "--yes-i-really-mean-it", connect_timeout=connect_timeout
    )


def mon_remove(mon: str, *, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    return _ceph("mon", "remove", check_name(mon, "monitor name"), connect_timeout=connect_timeout)


def osd_blocklist_add(
    addr: str, expiry_s: int, *, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT
) -> list[str]:
    a, e = check_addr(addr), _positive_int(expiry_s, "blocklist expiry (seconds)")
    return _ceph("osd", "blocklist", "add", a, str(e), connect_timeout=connect_timeout)


def osd_blocklist_rm(addr: str, *, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    return _ceph("osd", "blocklist", "rm", check_addr(addr), connect_timeout=connect_timeout)


# -- ceph.conf on one host (run there as root)

CEPH_CONF = "/etc/ceph/ceph.conf"
MON_HOST_VALUE = re.compile(r"[\[\]a-zA-Z0-9:.,/ ]+")  # [v2:10.0.0.1:3300,v1:10.0.0.1:6789],...


def mon_host_lookup() -> list[str]:
    return ["ceph-conf", "-c", CEPH_CONF, "--lookup", "mon_host"]


def set_mon_host(value: str) -> list[str]:
    """Set mon_host in ceph.conf to `value` (a list of monitor addresses)."""
    if not MON_HOST_VALUE.fullmatch(value):
        raise ValueError(f"not a mon_host value: {value!r}")
    return ["sed", "-i", "-E", rf"s|^([[:space:]]*mon[_ ]host[[:space:]]*=).*$|\1 {value}|",
            CEPH_CONF]
