"""config.toml: the example, round trips, and the messages bad files give."""

from __future__ import annotations

import copy
import os
import re
import stat
import textwrap
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from mvm_tui.config import (
    ClusterConfig,
    Config,
    ConfigError,
    DatastoreConfig,
    HostConfig,
    Interfaces,
    PlanConfig,
    Timers,
    default_plans,
    demo_config,
    format_validation_error,
    load_config,
    save_config,
)
from mvm_tui.models import Layout

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"

HOSTS = """
[[clusters.hosts]]
name = "hv1"
address = "10.0.0.1"

[[clusters.hosts]]
name = "hv2"
address = "10.0.0.2"

[[clusters.hosts]]
name = "hv3"
address = "10.0.0.3"
"""


def cluster_toml(extra: str = "", hosts: str = HOSTS, layout: str = "hci") -> str:
    return f'[[clusters]]\nname = "prod"\nlayout = "{layout}"\n{extra}\n{hosts}'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(text))
    return path


def error_for(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    message = str(exc.value)
    assert "Traceback" not in message
    for line in message.splitlines():
        assert line.startswith(f"{path}: "), line
    return message


# --------------------------------------------------------------------------- good files


def test_example_loads() -> None:
    config = load_config(EXAMPLE)
    assert [c.name for c in config.clusters] == ["prod", "branch"]
    prod, branch = config.clusters
    assert prod.layout is Layout.HCI
    assert [h.name for h in prod.hosts] == ["hv1", "hv2", "hv3"]
    assert prod.compute_vlans == (22, 23, 24, 25, 30)
    assert prod.data_devices[0] == "/dev/sdb"
    assert prod.hosts[0].key_file == Path("~/.ssh/id_ed25519").expanduser()
    assert branch.layout is Layout.EXTERNAL
    assert len(branch.hosts) == 1
    assert branch.hosts[0].password_auth is True
    assert branch.data_devices == ("/dev/nvme1n1",)


def test_example_documents_every_key() -> None:
    lines = EXAMPLE.read_text().splitlines()
    models: list[type[BaseModel]] = [Config, Timers, HostConfig, Interfaces, ClusterConfig,
                                     DatastoreConfig, PlanConfig]
    for model in models:
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
            # a key may be shown commented out, as the other choice ("# key = ...")
            key = rf"(# )?({name}\s*=|\[+(clusters\.)?{name}\]+)"
            index = next((i for i, line in enumerate(lines) if re.match(key, line)), None)
            assert index is not None, f"{name} is not in config.example.toml"
            assert lines[index - 1].startswith("#"), f"{name} has no comment above it"


def test_empty_file_is_an_empty_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config.clusters == []
    assert config.timers == Timers()
    assert config.plans == default_plans()


def test_plans_replace_the_default_ones(tmp_path: Path) -> None:
    config = load_config(EXAMPLE)
    assert config.plans == {"small": PlanConfig(vcpus=1, memory_mb=2048, disk_gb=20),
                            "db": PlanConfig(vcpus=8, memory_mb=32768, disk_gb=200)}


@pytest.mark.parametrize(("table", "named"), [
    ("[plans.tiny]\nvcpus = 0\nmemory_mb = 512\ndisk_gb = 10", "plans.tiny.vcpus"),
    ("[plans.tiny]\nvcpus = 1\nmemory_mb = 32\ndisk_gb = 10", "plans.tiny.memory_mb"),
    ("[plans.tiny]\nvcpus = 1\nmemory_mb = 512", "plans.tiny.disk_gb"),
    ("[plans.\"a b\"]\nvcpus = 1\nmemory_mb = 512\ndisk_gb = 10", "plans"),
])
def test_a_bad_plan_is_refused_with_its_key(tmp_path: Path, table: str, named: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, table))
    assert named in str(exc.value)


def test_round_trip_example(tmp_path: Path) -> None:
    config = load_config(EXAMPLE)
    path = tmp_path / "saved.toml"
    save_config(config, path)
    assert load_config(path) == config


def test_round_trip_demo(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    save_config(demo_config(), path)
    assert load_config(path) == demo_config()
    assert 'compute_vlans = "22-25"' in path.read_text()


def test_save_writes_0600_atomically(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("old")
    os.chmod(path, 0o644)
    save_config(demo_config(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]
    assert load_config(path).clusters[0].name == "demo"


def test_save_writes_no_secrets(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    save_config(load_config(EXAMPLE), path)
    assert "password =" not in path.read_text()


def test_demo_config() -> None:
    config = demo_config()
    (cluster,) = config.clusters
    assert cluster.name == "demo"
    assert cluster.layout is Layout.HCI
    assert [(h.name, h.address, h.user, h.port) for h in cluster.hosts] == [
        ("hv1", "192.0.2.11", "root", 22),
        ("hv2", "192.0.2.12", "root", 22),
        ("hv3", "192.0.2.13", "root", 22),
    ]
    assert cluster.interfaces == Interfaces(management="eth0", storage="eth1", compute="eth2")
    assert cluster.data_devices == ("/dev/sdb",)
    assert cluster.compute_vlans == (22, 23, 24, 25)
    assert cluster.cpu_model == "host-model"


def test_flexible_field_forms(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, cluster_toml(
        'data_devices = "/dev/sdb,/dev/sdc"\ncompute_vlans = 22\n')))
    assert config.clusters[0].data_devices == ("/dev/sdb", "/dev/sdc")
    assert config.clusters[0].compute_vlans == (22,)
    config = load_config(write(tmp_path, cluster_toml('compute_vlans = [30, "22-23"]\n')))
    assert config.clusters[0].compute_vlans == (22, 23, 30)


def test_known_hosts_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    cluster = demo_config().clusters[0]
    host = cluster.hosts[0]
    assert cluster.known_hosts_for(host) == tmp_path / ".ssh" / "known_hosts"
    cluster.known_hosts = Path("/etc/ssh/kh")
    assert cluster.known_hosts_for(host) == Path("/etc/ssh/kh")
    host.known_hosts = Path("/etc/ssh/hv1")
    assert cluster.known_hosts_for(host) == Path("/etc/ssh/hv1")


def test_lookup_helpers() -> None:
    config = demo_config()
    assert config.cluster("demo").host("hv2").address == "192.0.2.12"
    with pytest.raises(KeyError):
        config.cluster("nope")


def test_assignment_is_validated() -> None:
    host = demo_config().clusters[0].hosts[0]
    with pytest.raises(ValidationError, match="is not an IP address or a host name"):
        host.address = "10.0.0.300"


# --------------------------------------------------------------------------- bad files


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(exc.value) == (
        f"{path}: no such file; `mvm-tui config example` prints an example to copy there and "
        "edit (every key explained), or pass --config PATH"
    )
    assert exc.value.path == path


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "")

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(exc.value) == f"{path}: cannot read it: permission denied"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"name = '\xff'\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_toml_syntax_error_names_line(tmp_path: Path) -> None:
    message = error_for(tmp_path, "[timers]\npoll_interval = 2\nfoo bar\n")
    assert "line 3, column" in message
    assert "TOML syntax error" in message
    assert "Expected '='" in message


def test_unknown_key_with_suggestion(tmp_path: Path) -> None:
    hosts = HOSTS.replace('address = "10.0.0.2"', 'adress = "10.0.0.2"')
    message = error_for(tmp_path, cluster_toml(hosts=hosts))
    assert "clusters[0].hosts[1].adress: unknown key (did you mean 'address'?)" in message
    assert "required key is missing" not in message  # the suggestion says it already
    assert len(message.splitlines()) == 1
    assert "host 'hv2'" in message


def test_unknown_key_without_suggestion_lists_keys(tmp_path: Path) -> None:
    message = error_for(tmp_path, "[timers]\ncolour = 1\n")
    assert "timers.colour: unknown key; expected one of: poll_interval" in message


def test_unknown_top_level_key(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[[cluster]]\nname = "x"\n')
    assert "cluster: unknown key (did you mean 'clusters'?)" in message


def test_wrong_type(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[timers]\npoll_interval = "fast"\n')
    path = tmp_path / "config.toml"
    assert message == f"{path}: timers.poll_interval: expected a number, got 'fast'"


def test_negative_timer(tmp_path: Path) -> None:
    message = error_for(tmp_path, "[timers]\npoll_timeout = -1\n")
    assert "timers.poll_timeout: must be greater than 0, got -1" in message


def test_timer_relations(tmp_path: Path) -> None:
    message = error_for(tmp_path, "[timers]\nslow_threshold = 10\npoll_timeout = 8\n")
    assert "timers: slow_threshold (10 s) must be below poll_timeout (8 s)" in message


def test_infinite_timer(tmp_path: Path) -> None:
    message = error_for(tmp_path, "[timers]\npower_timeout = inf\n")
    assert "timers.power_timeout: expected a finite number, got inf" in message


def test_bad_address(tmp_path: Path) -> None:
    message = error_for(tmp_path, cluster_toml(hosts=HOSTS.replace("10.0.0.3", "10.0.0.300")))
    assert (
        "clusters[0].hosts[2].address: '10.0.0.300' is not an IP address or a host name"
        in message
    )


def test_vlan_out_of_range(tmp_path: Path) -> None:
    message = error_for(tmp_path, cluster_toml('compute_vlans = "22-25,5000"\n'))
    assert "clusters[0].compute_vlans: VLAN 5000 is out of range 1-4094" in message
    assert "cluster 'prod'" in message


def test_malformed_vlan_range(tmp_path: Path) -> None:
    message = error_for(tmp_path, cluster_toml('compute_vlans = "25-22"\n'))
    assert (
        "clusters[0].compute_vlans: '25-22': the start of a range must not be above its end"
        in message
    )
    message = error_for(tmp_path, cluster_toml('compute_vlans = "22-x"\n'))
    assert "'22-x' is not a VLAN or a range such as 22-25" in message


def test_hci_needs_two_hosts(tmp_path: Path) -> None:
    parts = HOSTS.split("[[clusters.hosts]]")
    one = "[[clusters.hosts]]".join(parts[:2])
    message = error_for(tmp_path, cluster_toml(hosts=one))
    assert "clusters[0].hosts: an HCI cluster needs at least 2 hosts" in message
    assert "this one has 1" in message
    assert 'layout = "external"' in message
    # the same host is fine with external storage; two (what a decommission leaves) with Ceph
    assert len(load_config(write(tmp_path, cluster_toml(hosts=one, layout="external")))
               .clusters[0].hosts) == 1
    two = HOSTS.rsplit("[[clusters.hosts]]", 1)[0]
    assert len(load_config(write(tmp_path, cluster_toml(hosts=two))).clusters[0].hosts) == 2


def test_datastore(tmp_path: Path) -> None:
    table = '[clusters.datastore]\niscsi_portal = "10.0.0.9"\niscsi_target = "{}"\n'
    ok = load_config(write(tmp_path, cluster_toml(
        HOSTS + table.format("iqn.2003-01.org.example:vms"), hosts="", layout="external")))
    datastore = ok.clusters[0].datastore
    assert datastore is not None
    assert datastore.iscsi_portal == "10.0.0.9:3260"
    message = error_for(tmp_path, cluster_toml(HOSTS + table.format("iqn.vms"), hosts="",
                                               layout="external"))
    assert ("clusters[0].datastore.iscsi_target: 'iqn.vms' is not an iSCSI name such as "
            "iqn.2003-01.org.example:vms") in message
    message = error_for(tmp_path, cluster_toml(
        HOSTS + '[clusters.datastore]\nnfs_exprt = "nas1:/vms"\n', hosts="",
        layout="external"))
    assert "clusters[0].datastore.nfs_exprt: unknown key" in message
    assert "nfs_export" in message
    message = error_for(tmp_path, cluster_toml(
        HOSTS + '[clusters.datastore]\nnfs_export = "nas1:/vms"\n', hosts=""))
    assert "an HCI cluster keeps its VM disks on its own Ceph" in message


def test_missing_key(tmp_path: Path) -> None:
    hosts = HOSTS.replace('address = "10.0.0.2"', "")
    message = error_for(tmp_path, cluster_toml(hosts=hosts))
    assert "clusters[0].hosts[1].address: required key is missing" in message


def test_cluster_needs_a_host(tmp_path: Path) -> None:
    message = error_for(tmp_path, cluster_toml(hosts="hosts = []", layout="external"))
    assert "clusters[0].hosts: a cluster needs at least one host" in message


def test_hosts_as_single_table(tmp_path: Path) -> None:
    message = error_for(tmp_path, cluster_toml(
        hosts='[clusters.hosts]\nname = "hv1"\naddress = "10.0.0.1"\n', layout="external"))
    assert "clusters[0].hosts: expected a list, got a table: write [[clusters.hosts]]" in message


def test_duplicate_host_names(tmp_path: Path) -> None:
    message = error_for(tmp_path, cluster_toml(hosts=HOSTS.replace('"hv3"', '"hv1"')))
    assert "clusters[0].hosts: host name 'hv1' is used twice (hosts[0] and hosts[2])" in message


def test_duplicate_host_addresses(tmp_path: Path) -> None:
    message = error_for(tmp_path, cluster_toml(hosts=HOSTS.replace("10.0.0.3", "10.0.0.1")))
    assert "clusters[0].hosts: address '10.0.0.1' is used twice" in message


def test_duplicate_cluster_names(tmp_path: Path) -> None:
    message = error_for(tmp_path, cluster_toml() + "\n" + cluster_toml())
    assert "clusters: cluster name 'prod' is used twice (clusters[0] and clusters[1])" in message


@pytest.mark.parametrize("key", ["password", "sudo_password", "passphrase", "ssh_pass"])
def test_password_key_rejected(tmp_path: Path, key: str) -> None:
    hosts = HOSTS.replace('address = "10.0.0.1"', f'address = "10.0.0.1"\n{key} = "hunter2"')
    message = error_for(tmp_path, cluster_toml(hosts=hosts))
    assert f"clusters[0].hosts[0].{key}: secrets are never stored in the config" in message
    assert "asks for passwords when it needs them" in message
    assert "hunter2" not in message


def test_typo_of_password_auth_is_not_called_a_secret(tmp_path: Path) -> None:
    hosts = HOSTS.replace('address = "10.0.0.1"', 'address = "10.0.0.1"\npassword-auth = true')
    message = error_for(tmp_path, cluster_toml(hosts=hosts))
    assert "unknown key (did you mean 'password_auth'?)" in message


def test_bad_layout(tmp_path: Path) -> None:
    message = error_for(tmp_path, cluster_toml(layout="hcx"))
    assert "clusters[0].layout: expected 'hci' or 'external', got 'hcx'" in message


def test_wrong_type_for_table(tmp_path: Path) -> None:
    message = error_for(tmp_path, "timers = 5\n")
    assert "timers: expected a table, got 5" in message


def test_port_and_bool_types(tmp_path: Path) -> None:
    hosts = HOSTS.replace('address = "10.0.0.1"', 'address = "10.0.0.1"\nport = 70000\n'
                          'password_auth = "maybe"')
    message = error_for(tmp_path, cluster_toml(hosts=hosts))
    assert "clusters[0].hosts[0].port: port 70000 is out of range 1-65535" in message
    assert "clusters[0].hosts[0].password_auth: expected true or false, got 'maybe'" in message


def test_many_problems_are_reported_together(tmp_path: Path) -> None:
    message = error_for(tmp_path, cluster_toml(
        'compute_vlans = "5000"\ncpu_model = "a b"\n',
        hosts=HOSTS.replace("10.0.0.1", "10.0.0.300")))
    assert len(message.splitlines()) == 3


# --------------------------------------------------------------------------- hostile values

HOSTILE = ["/dev/sdb; reboot", "$(id)", "a\nb", "x'y"]


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _host_field(key: str) -> Callable[[str], str]:
    def build(v: str) -> str:
        second = {"name": "hv2", "address": "10.0.0.2"}
        lines = [f"{k} = {v if k == key else _toml_string(val)}" for k, val in second.items()]
        if key not in second:
            lines.append(f"{key} = {v}")
        hosts = HOSTS.replace('name = "hv2"\naddress = "10.0.0.2"', "\n".join(lines))
        return cluster_toml(hosts=hosts)

    return build


def _cluster_field(key: str) -> Callable[[str], str]:
    if key == "name":
        return lambda v: cluster_toml().replace('name = "prod"', f"name = {v}", 1)
    return lambda v: cluster_toml(f"{key} = {v}\n")


def _interface(key: str) -> Callable[[str], str]:
    return lambda v: cluster_toml(f"interfaces = {{ {key} = {v} }}\n")


# location -> (TOML text with the value put there, a harmless value for that place)
HOSTILE_FIELDS: dict[str, tuple[Callable[[str], str], str]] = {
    "clusters[0].hosts[1].address": (_host_field("address"), "10.0.0.9"),
    "clusters[0].hosts[1].name": (_host_field("name"), "hv9"),
    "clusters[0].hosts[1].user": (_host_field("user"), "admin"),
    "clusters[0].name": (_cluster_field("name"), "prod"),
    "clusters[0].data_devices": (_cluster_field("data_devices"), "/dev/sdz"),
    "clusters[0].compute_vlans": (_cluster_field("compute_vlans"), "22"),
    "clusters[0].cpu_model": (_cluster_field("cpu_model"), "EPYC-Rome"),
    "clusters[0].cpu_type": (_cluster_field("cpu_type"), "x86_64"),
    "clusters[0].interfaces.management": (_interface("management"), "eno1"),
    "clusters[0].interfaces.storage": (_interface("storage"), "eno2"),
    "clusters[0].interfaces.compute": (_interface("compute"), "eno3"),
}


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("location", HOSTILE_FIELDS)
def test_hostile_values_rejected(tmp_path: Path, location: str, value: str) -> None:
    build, harmless = HOSTILE_FIELDS[location]
    # the file is fine with a harmless value in that place ...
    assert load_config(write(tmp_path, build(_toml_string(harmless)))).clusters
    # ... and names the place and the character with the hostile one
    message = error_for(tmp_path, build(_toml_string(value)))
    assert f"{location}: " in message
    assert "which is not allowed" in message


def test_hostile_values_rejected_in_python_too() -> None:
    with pytest.raises(ValidationError, match="contains ';' which is not allowed"):
        HostConfig(name="hv1", address="10.0.0.1; reboot")
    with pytest.raises(ValidationError):
        ClusterConfig(name="x", layout=Layout.EXTERNAL,
                      hosts=[HostConfig(name="a", address="10.0.0.1")],
                      data_devices=("/dev/sdb$(id)",))
    with pytest.raises(ValidationError):
        Config.model_validate({"clusters": [], "password": "x"})


# --------------------------------------------------------------------------- property


@st.composite
def configs(draw: st.DrawFn) -> Config:
    names = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
    clusters: list[ClusterConfig] = []
    for cluster_name in draw(st.lists(names, unique=True, max_size=3)):
        host_names = draw(st.lists(names, unique=True, min_size=3, max_size=5))
        hosts = [
            HostConfig(
                name=h,
                address=f"10.{len(clusters)}.0.{i + 1}",
                port=draw(st.integers(1, 65535)),
                user=draw(st.sampled_from(["root", "admin", "_ops"])),
                password_auth=draw(st.booleans()),
                key_file=draw(st.sampled_from([None, Path("/keys/id_ed25519")])),
            )
            for i, h in enumerate(host_names)
        ]
        clusters.append(ClusterConfig(
            name=cluster_name,
            layout=draw(st.sampled_from(list(Layout))),
            hosts=hosts,
            data_devices=tuple(draw(st.lists(st.from_regex(r"/dev/sd[a-z]", fullmatch=True),
                                             unique=True, max_size=3))),
            compute_vlans=tuple(sorted(draw(st.sets(st.integers(1, 4094), max_size=20)))),
            cpu_model=draw(st.sampled_from(["host-model", "host-passthrough", "EPYC-Rome"])),
        ))
    poll_timeout = draw(st.floats(1.0, 60.0))
    timers = Timers(poll_timeout=poll_timeout, slow_threshold=poll_timeout / 2)
    return Config(timers=timers, clusters=clusters)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(configs())
def test_any_valid_config_round_trips(tmp_path: Path, config: Config) -> None:
    path = tmp_path / "config.toml"
    save_config(config, path)
    assert load_config(path) == config


# --------------------------------------------------------------------------- fuzz

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
TOML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(min_size=1, max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _key_paths(node: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every key of the example (tables and their entries, list items of tables)."""
    out: list[tuple[object, ...]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((*path, key))
            out += _key_paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, dict):
                out += _key_paths(value, (*path, i))
    return out


def _without_none(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value if v is not None]
    return value


EXAMPLE_DATA = tomllib.loads(EXAMPLE.read_text())
KEY_PATHS = _key_paths(EXAMPLE_DATA)


@settings(max_examples=int(os.environ.get("MVM_FUZZ_EXAMPLES", "300")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(KEY_PATHS), TOML_VALUES)
def test_any_value_of_any_key_is_a_message_never_a_traceback(
    tmp_path: Path, key: tuple[object, ...], value: object
) -> None:
    """Every key of config.example.toml, given any TOML value (or removed, for None):
    load_config returns a Config or raises ConfigError, whose every line names the file."""
    data = copy.deepcopy(EXAMPLE_DATA)
    node: Any = data
    for part in key[:-1]:
        node = node[part]
    if value is None:
        del node[key[-1]]
    else:
        node[key[-1]] = _without_none(value)
    path = tmp_path / "fuzz.toml"
    path.write_text(tomli_w.dumps(data))
    error = _config_error(path)
    if error is not None:  # else it loaded
        assert error.problems
        assert all(line.startswith(f"{path}: ") for line in str(error).splitlines())


def _config_error(path: Path) -> ConfigError | None:
    """What load_config raises for `path`, or None when it loads."""
    try:
        load_config(path)
    except ConfigError as exc:
        return exc
    return None


def test_a_bad_ipmi_user_is_a_message() -> None:
    """Its pattern holds braces ({1,32}): pydantic's message is not a format template."""
    data = copy.deepcopy(EXAMPLE_DATA)
    data["clusters"][0]["hosts"][0]["ipmi_user"] = "bad user!"
    with pytest.raises(ValidationError) as info:
        Config.model_validate(data)
    lines = format_validation_error(info.value, data)
    assert any("ipmi_user" in line and "{1,32}" in line for line in lines), lines
