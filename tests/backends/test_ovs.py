"""Open vSwitch: the exact ovs-vsctl argv (names validated), and parsing its real JSON output
(tests/fixtures/ovs, captured from the lab) into bridges, ports and VLAN port groups."""

from __future__ import annotations

import copy
import json
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mvm_tui.backends import ovs
from mvm_tui.backends.base import BackendError
from mvm_tui.backends.ssh.pool import CommandResult, SshPool

FIXTURES = Path(__file__).parent.parent / "fixtures" / "ovs"
SNAPSHOTS = sorted(FIXTURES.glob("snapshot-*.json"))
HEAD = ["ovs-vsctl", "--timeout=10", "--format=json", "--data=json"]
BRIDGE_COLS = "--columns=_uuid,name,datapath_type,ports,external_ids"
PORT_COLS = "--columns=_uuid,name,tag,trunks,vlan_mode,interfaces,external_ids"
IFACE_COLS = "--columns=_uuid,name,type"


def text(name: str) -> str:
    return (FIXTURES / name).read_text()


def bridge(name: str, fixture: str) -> ovs.OvsBridge:
    (found,) = [b for b in ovs.parse_snapshot(text(fixture)) if b.name == name]
    return found


def groups(b: ovs.OvsBridge) -> dict[int, list[str]]:
    return {vlan: [p.name for p in ports] for vlan, ports in b.port_groups().items()}


def ports(b: ovs.OvsBridge) -> dict[str, ovs.OvsPort]:
    return {p.name: p for p in b.ports}


# -- parsing real output


def test_the_samples_are_there() -> None:
    assert {p.name for p in SNAPSHOTS} >= {
        "snapshot-lab-h1.json", "snapshot-edge-cases.json", "snapshot-vlan-modes.json",
        "snapshot-no-bridges.json"}


@pytest.mark.parametrize("path", SNAPSHOTS, ids=lambda p: p.name)
def test_every_snapshot_parses(path: Path) -> None:
    bridges = ovs.parse_snapshot(path.read_text())
    assert [b.name for b in bridges] == sorted(b.name for b in bridges)
    for b in bridges:
        assert all(isinstance(p, ovs.OvsPort) for p in b.ports)


def test_the_lab_bridge_and_its_vlan_port_groups() -> None:
    (b,) = ovs.parse_snapshot(text("snapshot-lab-h1.json"))
    assert (b.name, b.datapath_type, b.external_ids) == ("br-compute", "netdev", {})
    assert [p.name for p in b.ports] == ["br-compute", "tr-compute", "vlan100", "vlan101"]
    p = ports(b)
    assert (p["vlan100"].tag, p["vlan100"].trunks, p["vlan100"].type) == (100, (), "internal")
    assert (p["vlan101"].tag, p["vlan101"].interfaces) == (101, ("vlan101",))
    assert (p["tr-compute"].tag, p["tr-compute"].trunks) == (None, (100, 101))
    assert p["tr-compute"].type == "system"  # a veth: type "" in OVSDB
    assert p["br-compute"].type == "internal"
    assert p["br-compute"].vlans() == ()
    assert groups(b) == {100: ["tr-compute", "vlan100"], 101: ["tr-compute", "vlan101"]}


def test_the_three_lists_join_like_the_snapshot() -> None:
    rows = [ovs.parse_table(t, text(f"list-{t.lower()}-lab-h2.json")) for t in ovs.TABLES]
    (b,) = ovs.join(*rows)
    assert b.name == "br-compute"
    assert b.datapath_type == "netdev"
    assert groups(b) == {100: ["tr-compute", "vlan100"], 101: ["tr-compute", "vlan101"]}
    port_rows = rows[1]
    assert all(len(r["_uuid"]) == 36 for r in port_rows)  # uuids decoded to their string


def test_bonds_single_trunks_native_vlans_and_maps() -> None:
    b = bridge("br-edge", "snapshot-edge-cases.json")
    assert b.external_ids == {"owner": "lab"}
    p = ports(b)
    assert (p["bond0"].type, p["bond0"].interfaces) == ("bond", ("bd-a", "bd-b"))
    assert p["bond0"].trunks == (101,)  # OVSDB wrote a bare 101, a set of one
    t1 = p["t1"]
    assert (t1.vlan_mode, t1.tag, t1.trunks) == ("native-untagged", 200, (100, 300))
    assert t1.external_ids == {"role": "uplink"}
    assert groups(b) == {100: ["t1"], 101: ["bond0"], 200: ["t1"], 300: ["t1"]}


def test_vlan_modes() -> None:
    b = bridge("br-modes", "snapshot-vlan-modes.json")
    p = ports(b)
    assert p["p-patch"].type == "patch"
    assert p["vlan0"].type == "internal"
    assert p["p-trunk-tag"].vlans() == (7,)  # a trunk port's tag is ignored
    assert p["p-native-all"].vlans() == (8,)  # native VLAN; no trunks: every VLAN besides
    assert p["p-all"].vlans() == ()  # no tag, no trunks: carries every VLAN
    assert groups(b) == {0: ["vlan0"], 7: ["p-trunk-tag"], 8: ["p-native-all"],
                         300: ["p-tunnel"]}


def test_no_bridges() -> None:
    assert ovs.parse_snapshot(text("snapshot-no-bridges.json")) == ()


# -- malformed output


def lab_docs() -> list[dict[str, Any]]:
    return [json.loads(line) for line in text("snapshot-lab-h1.json").splitlines()]


def dump(docs: Sequence[object]) -> str:
    return "\n".join(json.dumps(d) for d in docs) + "\n"


def edit(table: int, column: str, value: Any, row: int = 0) -> str:
    docs = copy.deepcopy(lab_docs())
    doc = docs[table]
    doc["data"][row][doc["headings"].index(column)] = value
    return dump(docs)


def drop_column(table: int, column: str) -> str:
    docs = copy.deepcopy(lab_docs())
    i = docs[table]["headings"].index(column)
    del docs[table]["headings"][i]
    for row in docs[table]["data"]:
        del row[i]
    return dump(docs)


def drop_row(table: int, name: str) -> str:
    docs = copy.deepcopy(lab_docs())
    docs[table]["data"] = [r for r in docs[table]["data"] if r[1] != name]
    return dump(docs)


UUID = ["uuid", "0b5c76fe-dbb3-40ee-8900-4c137ec5bb76"]
MALFORMED: dict[str, tuple[Callable[[], str], str]] = {
    "empty": (lambda: "", "expected 3 JSON document(s), got 0"),
    "not json": (lambda: "ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection "
                 "failed", "output is not JSON"),
    "truncated": (lambda: text("snapshot-lab-h1.json")[:-40], "output is not JSON"),
    "two documents": (lambda: dump(lab_docs()[:2]), "expected 3 JSON document(s), got 2"),
    "a list": (lambda: dump([[], [], []]), 'expected {"data"'),
    "no headings": (lambda: dump([{"data": []}, *lab_docs()[1:]]), 'expected {"data"'),
    "column missing": (lambda: drop_column(1, "tag"), "column tag missing"),
    "columns missing": (lambda: dump([{"data": [[UUID]], "headings": ["_uuid"]},
                                      *lab_docs()[1:]]), "column name, datapath_type, ports"),
    "short row": (lambda: edit_row([UUID, "br-compute"]), "row 0: expected 5 values"),
    "row not a list": (lambda: edit_row({"name": "br-compute"}), "expected 5 values"),
    "bad uuid": (lambda: edit(0, "_uuid", ["uuid", "not-a-uuid"]), "bad uuid"),
    "uuid not a string": (lambda: edit(0, "_uuid", ["uuid", 7]), "bad uuid"),
    "named-uuid": (lambda: edit(0, "_uuid", ["named-uuid", "row1"]), "expected uuid"),
    "string for a uuid": (lambda: edit(0, "_uuid", UUID[1]), "expected uuid"),
    "no uuid": (lambda: edit(0, "_uuid", ["set", []]), "expected one value, got 0"),
    "name a number": (lambda: edit(0, "name", 5), "expected str"),
    "name a uuid": (lambda: edit(0, "name", UUID), "expected str"),
    "name null": (lambda: edit(0, "name", None), "expected str"),
    "two names": (lambda: edit(0, "name", ["set", ["a", "b"]]), "expected one value, got 2"),
    "tag a string": (lambda: edit(1, "tag", "100"), "expected int"),
    "tag a bool": (lambda: edit(1, "tag", True), "expected int"),
    "two tags": (lambda: edit(1, "tag", ["set", [1, 2]]), "at most one value"),
    "trunks a float": (lambda: edit(1, "trunks", ["set", [100.5]]), "expected int"),
    "malformed set": (lambda: edit(1, "trunks", ["set", 5]), "malformed set"),
    "nested set": (lambda: edit(1, "trunks", ["set", [["set", [1]]]]), "expected int"),
    "map a set": (lambda: edit(1, "external_ids", ["set", []]), "expected a map"),
    "map entry short": (lambda: edit(1, "external_ids", ["map", [["a"]]]), "expected a map"),
    "map value a number": (lambda: edit(1, "external_ids", ["map", [["a", 1]]]),
                           "expected str"),
    "port not listed": (lambda: drop_row(1, "vlan100"), "is not listed"),
    "interface not listed": (lambda: drop_row(2, "tr-compute"), "of port tr-compute is not"),
}


def edit_row(row: object) -> str:
    docs = copy.deepcopy(lab_docs())
    docs[0]["data"][0] = row
    return dump(docs)


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_output_raises_a_typed_error(case: str) -> None:
    make, fragment = MALFORMED[case]
    with pytest.raises(ovs.OvsParseError) as info:
        ovs.parse_snapshot(make())
    assert isinstance(info.value, BackendError)
    assert str(info.value).startswith("`ovs-vsctl list ")
    assert fragment in str(info.value)


def test_a_single_list_wants_one_document() -> None:
    with pytest.raises(ovs.OvsParseError, match="expected 1 JSON document"):
        ovs.parse_table("Port", text("snapshot-lab-h1.json"))
    with pytest.raises(ovs.OvsParseError, match="column datapath_type"):
        ovs.parse_table("Bridge", text("list-port-lab-h2.json"))


# -- commands


def test_list_argv() -> None:
    assert ovs.list_argv("Bridge") == [*HEAD, BRIDGE_COLS, "list", "Bridge"]
    assert ovs.list_argv("Port", ["vlan100", "tr-compute"], timeout=3) == [
        "ovs-vsctl", "--timeout=3", "--format=json", "--data=json", PORT_COLS, "list", "Port",
        "vlan100", "tr-compute"]
    assert ovs.list_argv("Interface", ("br-compute",)) == [
        *HEAD, IFACE_COLS, "list", "Interface", "br-compute"]


def test_snapshot_argv_is_one_transaction() -> None:
    assert ovs.snapshot_argv(timeout=2) == [
        "ovs-vsctl", "--timeout=2", "--format=json", "--data=json",
        "--", BRIDGE_COLS, "list", "Bridge", "--", PORT_COLS, "list", "Port",
        "--", IFACE_COLS, "list", "Interface"]


HOSTILE = [
    "br0; reboot", "$(id)", "`id`", "br0 && rm -rf /", "br0\n", "br\n0", "with space", "it's",
    '"q"', "-h", "--timeout=0", ".hidden", "_x", "", "brë", "a|b", "a>/etc/passwd", "a/b", "*",
    "a:b", "a" * 16, "br-compute-trunk0",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="invalid"):
        ovs.list_argv("Port", [name])
    with pytest.raises(ValueError, match="invalid name"):
        ovs.check_name(name)


@pytest.mark.parametrize("names", ["br-compute", b"br0", [None], [5]])
def test_names_must_be_a_list_of_strings(names: Any) -> None:
    with pytest.raises(ValueError, match=r"names must be a list of names|invalid bridge name"):
        ovs.list_argv("Bridge", names)


@pytest.mark.parametrize("timeout", [0, -1, True, 1.5, "10", None])
def test_timeout_must_be_a_positive_int(timeout: Any) -> None:
    with pytest.raises(ValueError, match="timeout"):
        ovs.list_argv("Bridge", timeout=timeout)
    with pytest.raises(ValueError, match="timeout"):
        ovs.snapshot_argv(timeout=timeout)


def test_unknown_table_is_refused() -> None:
    with pytest.raises(ValueError, match="table"):
        ovs.list_argv(cast(Any, "Open_vSwitch"))


@given(st.text(max_size=20))
def test_an_accepted_name_is_one_plain_word(name: str) -> None:
    try:
        argv = ovs.list_argv("Bridge", [name])
    except ValueError:
        return
    assert argv[-1] == name
    assert shlex.quote(name) == name
    assert len(name) <= 15
    assert not name.startswith("-")


# -- over a pool


class FakePool:
    def __init__(self, stdout: str) -> None:
        self.stdout = stdout
        self.calls: list[tuple[str, list[str], bool, float | None]] = []

    async def run(self, host: str, argv: Sequence[str], *, sudo: bool = False,
                  timeout: float | None = None) -> CommandResult:
        self.calls.append((host, list(argv), sudo, timeout))
        return CommandResult(shlex.join(argv), 0, self.stdout, "")


async def test_list_bridges_runs_one_snapshot_as_root() -> None:
    pool = FakePool(text("snapshot-lab-h1.json"))
    (b,) = await ovs.list_bridges(cast(SshPool, pool), "h1", timeout=2.5)
    assert b.name == "br-compute"
    assert set(b.port_groups()) == {100, 101}
    ((host, argv, sudo, timeout),) = pool.calls
    assert (host, sudo) == ("h1", True)
    assert argv == ovs.snapshot_argv(timeout=3)  # ovs-vsctl's own limit, rounded up
    assert timeout is not None
    assert timeout > 3  # the SSH limit leaves it room to report


async def test_list_bridges_raises_on_garbage() -> None:
    with pytest.raises(ovs.OvsParseError):
        await ovs.list_bridges(cast(SshPool, FakePool("Bridge br0\n")), "h1")
