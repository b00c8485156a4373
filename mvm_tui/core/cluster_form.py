"""The Add Cluster wizard's form: its fields as typed and their validation.

Pure, no I/O. The form keeps every field as the text the operator typed (plus the switches:
layout, storage kind, each host's way to log in), so the wizard can show a reason next to a
field as it is typed; errors() gives one reason per field key, field checks first, then the
checks across fields (duplicate host names or addresses, too few hosts for HCI). A valid form
becomes a config.ClusterConfig with config.cluster_from_form() (core knows no config).

Every text field is checked for control characters and shell metacharacters first
(validation.check_safe), so a reason always names the character. Two exceptions, both
values that never reach a shell: a password may contain shell characters (not control
characters), and a key file path may start with '~/'.

Passwords are kept in the form only (pydantic SecretStr, left out of repr()), never in the
config made from it: config.cluster_from_form() sets password_auth and passwords() hands
them over.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import SecretStr

from mvm_tui.core.form_validation import (
    IscsiTarget,
    NfsExport,
    parse_iscsi_portal,
    parse_nfs_export,
    validate_iqn,
    validate_key_file,
    validate_password,
)
from mvm_tui.core.validation import (
    parse_devices,
    parse_vlans,
    quote,
    validate_address,
    validate_cpu_model,
    validate_hostname_label,
    validate_ifname,
    validate_port,
    validate_user,
)
from mvm_tui.models import Layout
from mvm_tui.units import count

__all__ = [
    "CPU_MODELS", "CPU_TYPES", "DEFAULT_HOST_ROWS", "HCI_MIN_HOSTS", "Auth", "ClusterForm",
    "FormInvalid", "HostRow", "IscsiTarget", "NfsExport", "StorageKind", "check_vlans",
    "describe_key", "host_key", "port_number",
]

DEFAULT_HOST_ROWS = 3
#: A new HCI cluster is built with 3 hosts at least (3 Ceph monitors, 3 copies of each object).
HCI_MIN_HOSTS = 3
CPU_TYPES = ("x86_64",)
#: The CPU models every host offers; named models (EPYC-Rome, ...) come from libvirt.
CPU_MODELS = ("host-model", "host-passthrough")


class StorageKind(StrEnum):
    NFS = "nfs"
    ISCSI = "iscsi"


class Auth(StrEnum):
    KEY = "key"  # a key file, or ssh's default keys and agent when the path is empty
    PASSWORD = "password"  # asked in the wizard, kept in memory only


class FormInvalid(ValueError):
    """The form cannot make a config: `errors` maps each field key to its reason."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{describe_key(k)}: {v}" for k, v in self.errors.items()))


# --------------------------------------------------------------------------- the form


def host_key(index: int, name: str) -> str:
    """The key of a host row's field in errors(): host_key(0, "address") -> "hosts[0].address"."""
    return f"hosts[{index}].{name}"


_LABELS = {
    "name": "cluster name", "layout": "layout", "storage_target": "storage target",
    "iscsi_iqn": "iSCSI target name", "hosts": "hosts", "data_devices": "data devices",
    "management_if": "management interface", "storage_if": "storage interface",
    "compute_if": "compute interface", "compute_vlans": "compute VLANs",
    "cpu_type": "CPU type", "cpu_model": "CPU model", "port": "SSH port",
    "key_file": "key file",
}
_HOST_KEY = re.compile(r"hosts\[(\d+)\]\.(\w+)")


def describe_key(key: str) -> str:
    """How a message names a field: "cluster name", "host 2 address"."""
    m = _HOST_KEY.fullmatch(key)
    if m:
        return f"host {int(m.group(1)) + 1} {_LABELS.get(m.group(2), m.group(2))}"
    return _LABELS.get(key, key)


def _reason(check: Callable[[str], object], value: str) -> str | None:
    try:
        check(value)
    except ValueError as e:
        return str(e)
    return None


def _cpu_type(text: str) -> str:
    validate_cpu_model(text)
    if text not in CPU_TYPES:
        raise ValueError(f"{quote(text)} is not supported; CPU type: {', '.join(CPU_TYPES)}")
    return text


def check_vlans(text: str) -> tuple[int, ...]:
    """The compute VLANs typed, at least one."""
    vlans = parse_vlans(text)
    if not vlans:
        raise ValueError("at least one VLAN is required, e.g. 22 or 22-25")
    return vlans


def port_number(text: str) -> int:
    """The SSH port typed (required)."""
    if not text:
        raise ValueError("an SSH port is required (22 by default)")
    return validate_port(text)


@dataclass
class HostRow:
    """One row of the hosts table, as typed."""

    name: str = ""
    address: str = ""
    port: str = "22"
    user: str = "root"
    auth: Auth = Auth.KEY
    key_file: str = ""
    password: SecretStr = field(default_factory=lambda: SecretStr(""), repr=False)

    TEXT_FIELDS = ("name", "address", "port", "user", "key_file")

    def field_errors(self) -> dict[str, str]:
        """The reason per field of this row (keys: "name", "address", ...), each on its own."""
        checks: dict[str, tuple[Callable[[str], object], str]] = {
            "name": (validate_hostname_label, self.name),
            "address": (validate_address, self.address),
            "port": (port_number, self.port),
            "user": (validate_user, self.user),
        }
        if self.auth is Auth.KEY:
            checks["key_file"] = (validate_key_file, self.key_file)
        errors = {k: r for k, (check, value) in checks.items() if (r := _reason(check, value))}
        if self.auth is Auth.PASSWORD:
            try:
                validate_password(self.password)
            except ValueError as e:
                errors["password"] = str(e)
        return errors


def _default_rows() -> list[HostRow]:
    return [HostRow() for _ in range(DEFAULT_HOST_ROWS)]


@dataclass
class ClusterForm:
    """The Add Cluster wizard's fields, as typed. Text fields are set by key with set()."""

    name: str = ""
    layout: Layout = Layout.HCI
    storage_kind: StorageKind = StorageKind.NFS
    storage_target: str = ""  # NFS: server:/export; iSCSI: the portal, address[:port]
    iscsi_iqn: str = ""
    hosts: list[HostRow] = field(default_factory=_default_rows)
    data_devices: str = ""
    management_if: str = ""
    storage_if: str = ""
    compute_if: str = ""
    compute_vlans: str = ""
    cpu_type: str = "x86_64"
    cpu_model: str = "host-model"

    TEXT_FIELDS = ("name", "storage_target", "iscsi_iqn", "data_devices", "management_if",
                   "storage_if", "compute_if", "compute_vlans", "cpu_type", "cpu_model")

    # ------------------------------------------------------------------ editing

    def add_host(self, row: HostRow | None = None) -> HostRow:
        """Append a row (an empty one by default) and return it."""
        row = row if row is not None else HostRow()
        self.hosts.append(row)
        return row

    def remove_host(self, index: int) -> HostRow:
        """Remove the row at `index` and return it (IndexError if there is none)."""
        return self.hosts.pop(index)

    def set(self, key: str, value: str) -> None:
        """Set a text field by key: "name", "compute_vlans", "hosts[1].address", ...
        (a host's password too: "hosts[0].password")."""
        target, name = self._resolve(key)
        setattr(target, name, SecretStr(value) if name == "password" else value)

    def get(self, key: str) -> str:
        """The text of a field by key (a password is not given out: use passwords())."""
        target, name = self._resolve(key)
        if name == "password":
            raise KeyError(f"{key}: passwords are not read back by key")
        value = getattr(target, name)
        return str(value)

    def _resolve(self, key: str) -> tuple[HostRow | ClusterForm, str]:
        m = _HOST_KEY.fullmatch(key)
        if m:
            index, name = int(m.group(1)), m.group(2)
            if index < len(self.hosts) and name in (*HostRow.TEXT_FIELDS, "password"):
                return self.hosts[index], name
        elif key in self.TEXT_FIELDS:
            return self, key
        raise KeyError(key)

    # ------------------------------------------------------------------ validation

    def field_errors(self) -> dict[str, str]:
        """The reason per field, each field checked on its own (with the switches it
        depends on: a storage target only for external storage, a password only to log in
        with one)."""
        checks: dict[str, tuple[Callable[[str], object], str]] = {
            "name": (validate_hostname_label, self.name),
        }
        if self.layout is Layout.EXTERNAL:
            if self.storage_kind is StorageKind.NFS:
                checks["storage_target"] = (parse_nfs_export, self.storage_target)
            else:
                checks["storage_target"] = (parse_iscsi_portal, self.storage_target)
                checks["iscsi_iqn"] = (validate_iqn, self.iscsi_iqn)
        checks |= {
            "data_devices": (parse_devices, self.data_devices),
            "management_if": (validate_ifname, self.management_if),
            "storage_if": (validate_ifname, self.storage_if),
            "compute_if": (validate_ifname, self.compute_if),
            "compute_vlans": (check_vlans, self.compute_vlans),
            "cpu_type": (_cpu_type, self.cpu_type),
            "cpu_model": (validate_cpu_model, self.cpu_model),
        }
        errors = {k: r for k, (check, value) in checks.items() if (r := _reason(check, value))}
        for i, row in enumerate(self.hosts):
            errors |= {host_key(i, k): r for k, r in row.field_errors().items()}
        return errors

    def cross_errors(self) -> dict[str, str]:
        """Checks across fields: the number of hosts for the layout, HCI without data
        devices, a host name or address used by two rows (reported on the later row)."""
        errors: dict[str, str] = {}
        n = len(self.hosts)
        if self.layout is Layout.HCI and n < HCI_MIN_HOSTS:
            errors["hosts"] = (f"an HCI cluster needs at least {count(HCI_MIN_HOSTS, 'host')} "
                               f"(Ceph keeps 3 copies on different hosts), this one has {n}: "
                               "add hosts or choose external storage")
        elif n < 1:
            errors["hosts"] = "a cluster needs at least 1 host: add one"
        if self.layout is Layout.HCI and not self.data_devices.strip():
            errors["data_devices"] = ("an HCI cluster needs data devices for Ceph, "
                                      "e.g. /dev/sdb,/dev/sdc")
        names: dict[str, int] = {}
        addresses: dict[str, int] = {}
        for i, row in enumerate(self.hosts):
            if _reason(validate_hostname_label, row.name) is None:
                first = names.setdefault(row.name, i)
                if first != i:
                    errors[host_key(i, "name")] = (f"host name {quote(row.name)} is already "
                                                   f"used by host {first + 1}")
            if _reason(validate_address, row.address) is None:
                address = validate_address(row.address).lower()
                first = addresses.setdefault(address, i)
                if first != i:
                    errors[host_key(i, "address")] = (f"address {quote(row.address)} is "
                                                      f"already used by host {first + 1}")
        return errors

    def errors(self) -> dict[str, str]:
        """Every reason the form cannot be used yet, one per field key; {} when it is valid."""
        errors = self.field_errors()
        for key, reason in self.cross_errors().items():
            errors.setdefault(key, reason)
        return errors

    @property
    def is_valid(self) -> bool:
        return not self.errors()

    # ------------------------------------------------------------------ results

    def external_storage(self) -> NfsExport | IscsiTarget | None:
        """The external datastore (None for HCI); raises ValueError if it is not valid."""
        if self.layout is Layout.HCI:
            return None
        if self.storage_kind is StorageKind.NFS:
            return parse_nfs_export(self.storage_target)
        portal, port = parse_iscsi_portal(self.storage_target)
        return IscsiTarget(portal, port, validate_iqn(self.iscsi_iqn))

    def passwords(self) -> dict[str, SecretStr]:
        """Login password per host name, for the hosts that log in with one."""
        return {row.name: row.password for row in self.hosts if row.auth is Auth.PASSWORD}
