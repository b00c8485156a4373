"""libvirt's errors as the backend's: HostUnreachable, NotFound, InvalidState, BackendError."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import libvirt  # type: ignore[import-untyped]

from mvm_tui.backends.base import BackendError, HostUnreachable, InvalidState, NotFound

# Errors raised by the RPC layer itself (the connection to libvirtd broke), as opposed to
# errors the daemon reports about the request.
_TRANSPORT_DOMAINS = frozenset(
    {libvirt.VIR_FROM_RPC, libvirt.VIR_FROM_REMOTE, libvirt.VIR_FROM_SSH, libvirt.VIR_FROM_LIBSSH}
)
_TRANSPORT_CODES = frozenset(
    {libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_INTERNAL_ERROR, libvirt.VIR_ERR_RPC}
)
_NO_CONNECTION_CODES = frozenset({libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_ERR_INVALID_CONN})


# a URI up to a blank or a quote, without the punctuation of the sentence it ends
_URI = re.compile(r"\b[a-z][a-z0-9]*(?:\+[a-z0-9]+)?://(?:[^\s'\"]*[^\s'\".,:;)])?")


def short_uri(uri: str) -> str:
    """What an operator needs of a libvirt URI in a message: the host's address
    ("qemu+libssh://root@10.0.0.1/system?keyfile=..." -> "10.0.0.1"), or a local driver's
    URI without its parameters ("test:///tmp/node.xml")."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        return uri.split("?", 1)[0]
    return host if host else f"{parts.scheme}://{parts.path}"


def without_uris(text: str) -> str:
    """A message with every libvirt URI in it shortened (short_uri): no key or known_hosts
    paths, transports or query strings in front of an operator."""
    return _URI.sub(lambda m: short_uri(m.group(0)), text)


def message(exc: libvirt.libvirtError) -> str:
    """libvirt's own message, without the "libvirt: ... error :" decoration and URIs."""
    text = exc.get_error_message() or str(exc) or "unknown libvirt error"
    return without_uris(" ".join(str(text).split()))


def code(exc: libvirt.libvirtError) -> int:
    value = exc.get_error_code()
    return int(value) if value is not None else 0


def looks_like_transport_error(exc: libvirt.libvirtError) -> bool:
    """Whether the error may mean the connection itself is gone. Errors are relayed with their
    original domain, so one a *remote* daemon got (e.g. the source libvirtd failing to ssh to
    the destination of a peer-to-peer migration) looks the same: callers confirm with
    conn.isAlive() before they give the connection up."""
    if code(exc) in _NO_CONNECTION_CODES:
        return True
    return code(exc) in _TRANSPORT_CODES and exc.get_error_domain() in _TRANSPORT_DOMAINS


def is_alive(conn: Any) -> bool:
    """conn.isAlive() without raising (it is a local check: no round trip)."""
    try:
        return bool(conn.isAlive() == 1)
    except libvirt.libvirtError:
        return False


def map_error(exc: libvirt.libvirtError, context: str) -> BackendError:
    """The backend error for a libvirt error a live connection returned. `context` says what
    was being done ("h1: start web-01") and prefixes the message."""
    text = f"{context}: {message(exc)}" if context else message(exc)
    c = code(exc)
    if c == libvirt.VIR_ERR_NO_DOMAIN:
        return NotFound(text)
    if c == libvirt.VIR_ERR_OPERATION_INVALID:
        return InvalidState(text)
    if c in _NO_CONNECTION_CODES:
        return HostUnreachable(text)
    return BackendError(text)


def connection_lost(exc: libvirt.libvirtError, context: str) -> HostUnreachable:
    return HostUnreachable(f"{context}: lost the connection to libvirtd: {message(exc)}")


def open_failed(exc: libvirt.libvirtError, host: str, uri: str) -> HostUnreachable:
    """Any failure to open a connection: refused, no route, ssh host key or auth failure, a
    test-driver file that does not exist: the host cannot be used until it is fixed."""
    return HostUnreachable(f"{host}: cannot connect to libvirt ({short_uri(uri)}): "
                           f"{message(exc)}")


def is_unsupported(exc: libvirt.libvirtError) -> bool:
    return code(exc) in (libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_OPERATION_UNSUPPORTED)


# what ssh says (through libvirt) when a host cannot log in to its peer for a migration
_TRUST_FAILURES = ("Permission denied (publickey", "Host key verification failed",
                   "error while reading private key", "authentication failed")


def trust_hint(exc: BackendError, source: str, dest: str) -> BackendError:
    """A migration's error, with what to do when the source could not log in to the peer."""
    text = str(exc)
    if not any(s in text for s in _TRUST_FAILURES):
        return exc
    return type(exc)(f"{text} ({source} cannot log in to {dest} for a migration: set up the "
                     "hosts' migration trust, `mvm-tui cluster trust --config PATH`)")
