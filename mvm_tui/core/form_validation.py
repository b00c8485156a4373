"""Validators the Add Cluster wizard needs beyond those of core.validation: an external
datastore (an NFS export, an iSCSI portal and target name), an SSH key file and a password.

Pure functions, no I/O; each returns the normalised value or raises ValueError with a short
message for the operator, the same way as core.validation (whose check_safe() runs first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import SecretStr

from mvm_tui.core.validation import (
    DEVICE_CHARS,
    SHELL_METACHARACTERS,
    check_safe,
    describe_char,
    quote,
    validate_address,
    validate_port,
)

__all__ = [
    "ISCSI_PORT", "IscsiTarget", "NfsExport", "parse_iscsi_portal", "parse_nfs_export",
    "validate_iqn", "validate_key_file", "validate_password",
]

ISCSI_PORT = 3260


# --------------------------------------------------------------------------- external storage


@dataclass(frozen=True)
class NfsExport:
    server: str
    path: str

    def __str__(self) -> str:
        server = f"[{self.server}]" if ":" in self.server else self.server
        return f"{server}:{self.path}"


@dataclass(frozen=True)
class IscsiTarget:
    portal: str
    port: int
    iqn: str


_IQN_RE = re.compile(r"iqn\.[0-9]{4}-(0[1-9]|1[0-2])\.[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?"
                     r"(?::[A-Za-z0-9._:-]{1,200})?")
_EUI_RE = re.compile(r"eui\.[0-9A-Fa-f]{16}")


def parse_nfs_export(text: str) -> NfsExport:
    """An NFS export, server:/path ("nas1:/export/vms", "10.0.0.5:/vms", "fd00::5:/vms")."""
    check_safe(text)
    if not text:
        raise ValueError("an NFS export such as nas1:/export/vms is required")
    # an IPv6 server has ':' in it too: the path starts at the first ':/'
    server, sep, path = text.partition(":/")
    if not sep:
        raise ValueError(f"{quote(text)} is not an NFS export such as nas1:/export/vms")
    server, path = validate_address(server), "/" + path
    bad = next((ch for ch in path if not (ch.isascii() and ch.isalnum()) and ch not in
                DEVICE_CHARS), None)
    if bad is not None:
        raise ValueError(f"contains {describe_char(bad)} which is not allowed in an export path")
    if ".." in path.split("/"):
        raise ValueError("contains '..' which is not allowed in an export path")
    return NfsExport(server, path)


def parse_iscsi_portal(text: str) -> tuple[str, int]:
    """An iSCSI portal, address[:port] ("10.0.0.5", "san1:3260"); an IPv6 address is given
    without a port (brackets are shell characters) and uses 3260."""
    check_safe(text)
    if not text:
        raise ValueError("an iSCSI portal such as 10.0.0.5:3260 is required")
    if text.count(":") > 1:
        return validate_address(text), ISCSI_PORT
    address, sep, port = text.partition(":")
    if sep and not port:
        raise ValueError(f"{quote(text)}: a port number is expected after ':'")
    return validate_address(address), (validate_port(port) if port else ISCSI_PORT)


def validate_iqn(text: str) -> str:
    """An iSCSI target name: iqn.2003-01.org.example:target1 or eui.0123456789ABCDEF."""
    check_safe(text)
    if not text:
        raise ValueError("an iSCSI target name such as iqn.2003-01.org.example:vms is required")
    if not (_IQN_RE.fullmatch(text) or _EUI_RE.fullmatch(text)) or len(text) > 223:
        raise ValueError(f"{quote(text)} is not an iSCSI name such as "
                         "iqn.2003-01.org.example:vms")
    return text


# --------------------------------------------------------------------------- credentials


def validate_key_file(text: str) -> str:
    """An SSH private key file: an absolute path or one under '~/'; '' means ssh's defaults."""
    rest = text.removeprefix("~/")
    check_safe(rest)  # no '~' but the leading one, no other shell character
    if text and not (text.startswith("~/") or text.startswith("/")):
        raise ValueError(f"{quote(text)} is not an absolute path such as ~/.ssh/id_ed25519")
    if text and not rest.strip("/"):
        raise ValueError(f"{quote(text)} is a directory, not a key file")
    return text


def validate_password(secret: SecretStr) -> SecretStr:
    """A login password: required, no control characters. Messages never show it."""
    value = secret.get_secret_value()
    if not value:
        raise ValueError("a password is required (or log in with a key)")
    for ch in value:
        if ch in SHELL_METACHARACTERS and ch != "\n":
            continue  # a password never reaches a shell: shell characters are fine in it
        try:
            check_safe(ch)
        except ValueError:
            raise ValueError(f"contains {describe_char(ch)} which is not allowed in a "
                             "password") from None
    return secret
