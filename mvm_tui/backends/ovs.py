"""Open vSwitch on a host: its bridges, their ports and VLAN port groups, from `ovs-vsctl`.

Commands are argv lists, names validated first (ValueError). Every one carries `--timeout`, so a
dead ovsdb-server makes it fail instead of hang, and `--format=json --data=json`: OVSDB's own
JSON, never the human text. In it a uuid is ["uuid", "..."], a set ["set", [...]] (a set of one
element is that bare element) and a map ["map", [[key, value], ...]].
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.ssh.pool import SshPool

DEFAULT_TIMEOUT = 10
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,14}"  # a Linux interface name (at most 15 chars)
_NAME = re.compile(NAME_PATTERN)
_SPACE = re.compile(r"\s*")
Table = Literal["Bridge", "Port", "Interface"]
TABLES: tuple[Table, ...] = ("Bridge", "Port", "Interface")
COLUMNS: dict[Table, tuple[str, ...]] = {
    "Bridge": ("_uuid", "name", "datapath_type", "ports", "external_ids"),
    "Port": ("_uuid", "name", "tag", "trunks", "vlan_mode", "interfaces", "external_ids"),
    "Interface": ("_uuid", "name", "type"),
}
Row = dict[str, Any]  # a decoded row: column -> value (see parse_rows)


class OvsParseError(BackendError):
    """ovs-vsctl's output is not the OVSDB JSON expected from it."""

    def __init__(self, command: str, reason: str) -> None:
        super().__init__(f"`ovs-vsctl {command}`: {reason}")
        self.command = command


class OvsPort(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    tag: int | None = None  # access VLAN (the native VLAN with vlan_mode native-*)
    trunks: tuple[int, ...] = ()  # empty on a trunk port: every VLAN
    vlan_mode: str | None = None  # access, trunk, native-tagged, ...; None: implied by tag
    interfaces: tuple[str, ...] = ()
    type: str = "system"  # internal, system (a kernel device), patch, ...; bond: > 1 interface
    external_ids: dict[str, str] = {}

    def vlans(self) -> tuple[int, ...]:
        """The VLANs whose group lists it: an access port's tag, a trunk port's trunks (none if
        it carries every VLAN), both for native-tagged/untagged ports."""
        mode = self.vlan_mode or ("access" if self.tag is not None else "trunk")
        tag = () if self.tag is None else (self.tag,)
        if mode in ("access", "dot1q-tunnel"):
            return tag
        return tuple(sorted({*(tag if mode.startswith("native") else ()), *self.trunks}))


class OvsBridge(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    datapath_type: str  # "netdev": userspace datapath; "" or "system": the kernel module
    ports: tuple[OvsPort, ...] = ()
    external_ids: dict[str, str] = {}

    def port_groups(self) -> dict[int, tuple[OvsPort, ...]]:
        """VLAN -> its ports (access ports by tag, trunk ports under each trunk VLAN)."""
        groups: dict[int, list[OvsPort]] = {}
        for port in self.ports:
            for vlan in port.vlans():
                groups.setdefault(vlan, []).append(port)
        return {v: tuple(groups[v]) for v in sorted(groups)}


# -- commands


def check_name(value: object, what: str = "name") -> str:
    """A bridge, port or interface name: ^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$, whole string."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ValueError(f"invalid {what} {value!r}: must match ^{NAME_PATTERN}$")
    return value


def _head(timeout: object) -> list[str]:
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
        raise ValueError(f"invalid timeout {timeout!r}: must be a positive integer (seconds)")
    return ["ovs-vsctl", f"--timeout={timeout}", "--format=json", "--data=json"]


def _list(table: Table) -> list[str]:
    if table not in COLUMNS:
        raise ValueError(f"invalid table {table!r}: one of {', '.join(COLUMNS)}")
    return [f"--columns={','.join(COLUMNS[table])}", "list", table]


def list_argv(table: Table, names: Sequence[str] = (), *,
              timeout: int = DEFAULT_TIMEOUT) -> list[str]:
    """`ovs-vsctl --timeout=N --format=json --data=json --columns=... list TABLE [NAME...]`
    (Bridge, Port or Interface); its output is parsed by parse_table()."""
    if isinstance(names, str):
        raise ValueError(f"names must be a list of names, not the string {names!r}")
    checked = [check_name(n, f"{str(table).lower()} name") for n in names]
    return [*_head(timeout), *_list(table), *checked]


def snapshot_argv(*, timeout: int = DEFAULT_TIMEOUT) -> list[str]:
    """The Bridge, Port and Interface lists in one ovs-vsctl run, so from one transaction (their
    uuids always join): three JSON documents, parsed by parse_snapshot()."""
    return [*_head(timeout), *(w for t in TABLES for w in ["--", *_list(t)])]


# -- parsers


class _Uuid(str):
    """A uuid atom, told apart from a string atom."""


# column -> (type of its atoms, how many: "one", "optional" (0 or 1), "set" or "map")
_KINDS: dict[str, tuple[type, str]] = {
    "_uuid": (_Uuid, "one"), "name": (str, "one"), "datapath_type": (str, "one"),
    "type": (str, "one"), "ports": (_Uuid, "set"), "interfaces": (_Uuid, "set"),
    "trunks": (int, "set"), "tag": (int, "optional"), "vlan_mode": (str, "optional"),
    "external_ids": (str, "map"),
}


def _atom(value: Any, kind: type, where: str) -> Any:
    if isinstance(value, list) and len(value) == 2 and value[0] == "uuid":
        try:
            value = _Uuid(uuid.UUID(value[1]))
        except (TypeError, ValueError, AttributeError):
            raise ValueError(f"{where}: bad uuid {value[1]!r}") from None
    if not isinstance(value, kind) or isinstance(value, bool) or (
            kind is str and isinstance(value, _Uuid)):
        raise ValueError(f"{where}: expected {kind.__name__.strip('_').lower()}, got "
                         f"{json.dumps(value)[:60]}")
    return value


def _decode(column: str, value: Any, where: str) -> Any:
    kind, how = _KINDS[column]
    tagged = isinstance(value, list) and len(value) == 2 and isinstance(value[1], list)
    if how == "map":
        if not (tagged and value[0] == "map" and all(
                isinstance(p, list) and len(p) == 2 for p in value[1])):
            raise ValueError(f"{where}: expected a map, got {json.dumps(value)[:60]}")
        return {_atom(k, kind, where): _atom(v, kind, where) for k, v in value[1]}
    if isinstance(value, list) and value[:1] == ["set"]:
        if not tagged:
            raise ValueError(f"{where}: malformed set {json.dumps(value)[:60]}")
        items = [_atom(v, kind, where) for v in value[1]]
    else:
        items = [_atom(value, kind, where)]
    if how != "set" and (len(items) > 1 or (how == "one" and not items)):
        raise ValueError(f"{where}: expected {'one' if how == 'one' else 'at most one'} "
                         f"value, got {len(items)}")
    return items if how == "set" else next(iter(items), None)


def parse_rows(table: Table, doc: Any) -> list[Row]:
    """The rows of one `list TABLE` document (already loaded from JSON), decoded and checked:
    column -> value, uuids as str, sets as lists, maps as dicts."""
    command = f"list {table}"
    if not (isinstance(doc, dict) and isinstance(doc.get("data"), list)
            and isinstance(doc.get("headings"), list)):
        raise OvsParseError(command, 'expected {"data": [...], "headings": [...]}, got '
                                     f"{json.dumps(doc)[:60]}")
    heads = doc["headings"]
    missing = [c for c in COLUMNS[table] if c not in heads]
    if missing:
        raise OvsParseError(command, f"column {', '.join(missing)} missing from the output")
    out = []
    for i, values in enumerate(doc["data"]):
        try:
            if not isinstance(values, list) or len(values) != len(heads):
                raise ValueError(f"row {i}: expected {len(heads)} values, got {str(values)[:60]}")
            raw = dict(zip(heads, values, strict=True))
            out.append({c: _decode(c, raw[c], f"row {i} {c}") for c in COLUMNS[table]})
        except ValueError as e:
            raise OvsParseError(command, str(e)) from None
    return out


def parse_documents(text: str, tables: Sequence[Table]) -> list[list[Row]]:
    """The rows of each table from ovs-vsctl's stdout: one JSON document per `list TABLE`."""
    command = " -- ".join(f"list {t}" for t in tables)
    docs, decoder, pos = [], json.JSONDecoder(), 0
    while (pos := _SPACE.match(text, pos).end()) < len(text):  # type: ignore[union-attr]
        try:
            doc, pos = decoder.raw_decode(text, pos)
        except ValueError as e:
            raise OvsParseError(command, f"output is not JSON ({e}): {text[pos:pos + 60]!r}") \
                from None
        docs.append(doc)
    if len(docs) != len(tables):
        raise OvsParseError(command, f"expected {len(tables)} JSON document(s), got {len(docs)}")
    return [parse_rows(t, d) for t, d in zip(tables, docs, strict=True)]


def parse_table(table: Table, text: str) -> list[Row]:
    """The stdout of list_argv(table, ...)."""
    return parse_documents(text, (table,))[0]


def join(bridges: list[Row], ports: list[Row], interfaces: list[Row]) -> tuple[OvsBridge, ...]:
    """Bridges with their ports and the ports' interfaces, joined by uuid, sorted by name."""
    by_port, by_iface = {p["_uuid"]: p for p in ports}, {i["_uuid"]: i for i in interfaces}

    def port(uid: str, bridge: str) -> OvsPort:
        if uid not in by_port:
            raise OvsParseError("list Port", f"port {uid} of bridge {bridge} is not listed")
        p = by_port[uid]
        for u in p["interfaces"]:
            if u not in by_iface:
                raise OvsParseError("list Interface",
                                    f"interface {u} of port {p['name']} is not listed")
        ifaces = sorted((by_iface[u] for u in p["interfaces"]), key=lambda i: str(i["name"]))
        kind = (ifaces[0]["type"] or "system") if len(ifaces) == 1 else "bond"
        return OvsPort(name=p["name"], tag=p["tag"], trunks=tuple(sorted(p["trunks"])),
                       vlan_mode=p["vlan_mode"], interfaces=tuple(i["name"] for i in ifaces),
                       type=kind, external_ids=p["external_ids"])

    return tuple(OvsBridge(
        name=b["name"], datapath_type=b["datapath_type"], external_ids=b["external_ids"],
        ports=tuple(sorted((port(u, b["name"]) for u in b["ports"]), key=lambda p: p.name)),
    ) for b in sorted(bridges, key=lambda b: str(b["name"])))


def parse_snapshot(text: str) -> tuple[OvsBridge, ...]:
    """The stdout of snapshot_argv(): every bridge with its ports and their interfaces."""
    bridges, ports, interfaces = parse_documents(text, TABLES)
    return join(bridges, ports, interfaces)


async def list_bridges(pool: SshPool, host: str, *,
                       timeout: float = DEFAULT_TIMEOUT) -> tuple[OvsBridge, ...]:
    """Every OVS bridge on `host` with its ports, from one ovs-vsctl run as root. ovs-vsctl
    gives up after `timeout` s (rounded up; CommandFailed); SSH errors as SshPool.run raises."""
    argv = snapshot_argv(timeout=max(1, math.ceil(timeout)))
    result = await pool.run(host, argv, sudo=True, timeout=timeout + 5)
    return parse_snapshot(result.stdout)
