"""A new VM's cloud-init NoCloud seed (issue 17): its meta-data, user-data and network-config,
checked field by field first. Pure.

What mvm-tui writes is JSON, which YAML reads as it is: no value the operator typed can change
the document's shape. The operator's own user-data (a #cloud-config mapping) is kept, with the
host name, the user and its SSH keys added from the form: a user-data that sets those itself is
refused, naming them (one place for each, no surprise).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from mvm_tui.core.validation import validate_user

KEY_TYPES = frozenset({
    "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
})
FROM_THE_FORM = frozenset({"hostname", "fqdn", "users", "user", "ssh_authorized_keys"})
_HOSTNAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", re.IGNORECASE)


@dataclass(frozen=True)
class StaticAddress:
    address: str  # with its prefix: "10.0.22.15/24"
    gateway: str = ""
    dns: tuple[str, ...] = ()


@dataclass(frozen=True)
class CloudInit:
    hostname: str
    user: str = "mvm"
    ssh_keys: tuple[str, ...] = ()
    static: StaticAddress | None = None  # None: DHCP on every NIC
    user_data: str = ""  # the operator's own #cloud-config, if any


def problems(ci: CloudInit) -> dict[str, str]:
    """field -> what is wrong with it (empty when the seed can be made)."""
    out: dict[str, str] = {}
    if not _HOSTNAME.fullmatch(ci.hostname):
        out["hostname"] = (f"{ci.hostname!r} is not a host name: letters, digits and '-', "
                           "1-63 characters, not starting or ending with '-'")
    try:
        validate_user(ci.user)
    except ValueError as exc:
        out["user"] = str(exc)
    for i, key in enumerate(ci.ssh_keys):
        why = ssh_key_problem(key)
        if why:
            out[f"ssh_keys[{i}]"] = why
    if ci.static is not None:
        out |= _static_problems(ci.static)
    if ci.user_data:
        try:
            taken = sorted(FROM_THE_FORM & set(operator_config(ci.user_data)))
        except ValueError as exc:
            out["user_data"] = str(exc)
        else:
            if taken:
                out["user_data"] = (f"user-data sets {', '.join(taken)}: the host name, user "
                                    "and SSH keys come from the form; remove them from the "
                                    "file (its other keys are kept)")
    return out


def ssh_key_problem(line: str) -> str:
    """"" when `line` is an OpenSSH public key (type, base64 blob naming the same type,
    optional comment on one line), else what is wrong."""
    if "\n" in line.strip() or "\r" in line:
        return "a public key is one line"
    parts = line.split(maxsplit=2)
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        return ("not an OpenSSH public key: it starts with its type (ssh-ed25519, ssh-rsa, "
                "ecdsa-sha2-...), then the key")
    try:
        blob = base64.b64decode(parts[1], validate=True)
        (size,) = struct.unpack(">I", blob[:4])
        named = blob[4:4 + size].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError):
        return "its key part is not base64 of an OpenSSH key"
    if named != parts[0]:
        return f"its key is a {named} key, not {parts[0]}"
    return ""


def _static_problems(static: StaticAddress) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        iface = ipaddress.ip_interface(static.address)
    except ValueError:
        return {"static.address": f"{static.address!r} is not an address with its prefix, "
                                  "such as 10.0.22.15/24"}
    if "/" not in static.address:
        out["static.address"] = f"{static.address!r} needs its prefix, such as /24"
    if static.gateway:
        try:
            gateway = ipaddress.ip_address(static.gateway)
        except ValueError:
            out["static.gateway"] = f"{static.gateway!r} is not an address"
        else:
            if gateway not in iface.network:
                out["static.gateway"] = f"{static.gateway} is not in {iface.network}"
    for i, dns in enumerate(static.dns):
        try:
            ipaddress.ip_address(dns)
        except ValueError:
            out[f"static.dns[{i}]"] = f"{dns!r} is not an address"
    return out


def operator_config(text: str) -> dict[str, Any]:
    """The operator's user-data as a mapping; ValueError saying why it is not one."""
    if not text.startswith("#cloud-config"):
        raise ValueError("user-data must start with the line #cloud-config")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"user-data is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError("user-data must be a YAML mapping (key: value lines)")
    return data


def seed_files(ci: CloudInit, instance_id: str, macs: Sequence[str] = ()) -> dict[str, str]:
    """meta-data, user-data and network-config of the seed (call problems() first). `macs`:
    the NICs' (the static address goes on the first), so every renderer finds them (cloud-init's
    ifupdown renderer ignores name globs); none: every NIC whose name starts with "e"."""
    meta = {"instance-id": instance_id, "local-hostname": ci.hostname}
    config = operator_config(ci.user_data) if ci.user_data else {}
    ours: dict[str, Any] = {
        "hostname": ci.hostname,
        "users": [{"name": ci.user, "groups": ["sudo"], "shell": "/bin/bash",
                   "sudo": "ALL=(ALL) NOPASSWD:ALL", "lock_passwd": True,
                   "ssh_authorized_keys": list(ci.ssh_keys)}],
        "ssh_pwauth": False,
    }
    for key, value in ours.items():
        config.setdefault(key, value)
    return {"meta-data": json.dumps(meta, indent=2) + "\n",
            "user-data": "#cloud-config\n" + json.dumps(config, indent=2) + "\n",
            "network-config": json.dumps(_network(ci.static, macs), indent=2) + "\n"}


def clone_seed(files: Mapping[str, str], instance_id: str, hostname: str,
               macs: Sequence[str], static: StaticAddress | None) -> dict[str, str]:
    """The seed of a clone from its source's (made by seed_files): a new instance-id (so
    cloud-init runs again: new host keys, its host name), the clone's name, its own MACs and
    address (DHCP when None); the users, keys and the operator's config as they were.
    ValueError when the source's seed was not made by mvm-tui."""
    head, _, body = files.get("user-data", "").partition("\n")
    try:
        config = json.loads(body) if head.strip() == "#cloud-config" else None
    except ValueError:
        config = None
    if not isinstance(config, dict):
        raise ValueError("its seed was not made by mvm-tui (its user-data is not the JSON "
                         "cloud-config mvm-tui writes)")
    config["hostname"] = hostname
    meta = {"instance-id": instance_id, "local-hostname": hostname}
    return {"meta-data": json.dumps(meta, indent=2) + "\n",
            "user-data": "#cloud-config\n" + json.dumps(config, indent=2) + "\n",
            "network-config": json.dumps(_network(static, macs), indent=2) + "\n"}


def _network(static: StaticAddress | None, macs: Sequence[str]) -> dict[str, Any]:
    matches = [{"macaddress": mac} for mac in macs] or [{"name": "e*"}]
    nics: dict[str, Any] = {f"nic{i}": {"match": m, "dhcp4": True}
                            for i, m in enumerate(matches)}
    if static is None:
        return {"version": 2, "ethernets": nics}
    nic: dict[str, Any] = {"match": matches[0], "addresses": [static.address]}
    if static.gateway:
        nic["routes"] = [{"to": "default", "via": static.gateway}]
    if static.dns:
        nic["nameservers"] = {"addresses": list(static.dns)}
    return {"version": 2, "ethernets": {**nics, "nic0": nic}}
