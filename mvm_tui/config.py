"""config.toml: timers and the clusters mvm-tui manages, as validated pydantic models.

load_config() turns every problem with the file into a ConfigError whose message names the
file, the key and what is expected, one problem per line; it never shows a traceback.
Secrets are never stored: passwords are asked for when they are needed.
`mvm-tui config example` prints an example that documents every key (config_example.py).
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import tomli_w
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mvm_tui.config_example import COMMAND as EXAMPLE_COMMAND
from mvm_tui.core.form_validation import (
    IscsiTarget,
    NfsExport,
    parse_iscsi_portal,
    parse_nfs_export,
    validate_iqn,
)
from mvm_tui.core.validation import (
    format_vlans,
    parse_devices,
    parse_vlans,
    quote,
    validate_address,
    validate_cpu_model,
    validate_device,
    validate_hostname_label,
    validate_ifname,
    validate_jump_host,
    validate_port,
    validate_user,
)
from mvm_tui.models import Layout
from mvm_tui.paths import known_hosts_path, write_private

__all__ = [
    "MAX_ERROR_LINES", "ClusterConfig", "Config", "ConfigError", "DatastoreConfig", "HostConfig",
    "Interfaces",
    "Timers", "demo_config", "format_validation_error", "load_config", "save_config",
]

MAX_ERROR_LINES = 20

_SECRET_WORDS = frozenset(
    {"password", "passwd", "pass", "pw", "pwd", "passphrase", "secret", "token", "credential",
     "credentials", "apikey", "api_key"}
)
_SECRET_SUFFIXES = ("password", "passwd", "passphrase", "secret", "token")


def _looks_secret(key: str) -> bool:
    k = key.lower().replace("-", "_")
    return bool(_SECRET_WORDS & set(k.split("_"))) or k.endswith(_SECRET_SUFFIXES)


# --------------------------------------------------------------------------- field types


def _path(value: object) -> object:
    """Paths: '~' expanded; control characters and empty strings rejected."""
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("expected a file path, got an empty string")
        for ch in value:
            if ch in "\n\r\t\0" or not ch.isprintable():
                raise ValueError(f"contains {ch!r} which is not allowed in a file path")
        return Path(value).expanduser()
    if isinstance(value, Path):
        return value.expanduser()
    return value


def _devices(value: object) -> tuple[str, ...]:
    if isinstance(value, str | list | tuple):
        return parse_devices(value)
    raise ValueError(
        f"expected a list of device paths such as [\"/dev/sdb\"], got {_describe(value)}"
    )


def _vlans(value: object) -> tuple[int, ...]:
    if isinstance(value, str | int | list | tuple) and not isinstance(value, bool):
        return parse_vlans(value)
    raise ValueError(f"expected VLANs such as \"22-25,30\" or [22, 23], got {_describe(value)}")


Name = Annotated[str, AfterValidator(validate_hostname_label)]
Address = Annotated[str, AfterValidator(validate_address)]
Port = Annotated[int, AfterValidator(validate_port)]
User = Annotated[str, AfterValidator(validate_user)]
JumpHost = Annotated[str, AfterValidator(validate_jump_host)]
IfName = Annotated[str, AfterValidator(validate_ifname)]
CpuModel = Annotated[str, AfterValidator(validate_cpu_model)]
ClusterColor = Literal["blue", "green", "magenta", "cyan", "yellow", "red"]
CLUSTER_COLORS: tuple[str, ...] = get_args(ClusterColor)
FilePath = Annotated[Path, BeforeValidator(_path)]
Devices = Annotated[tuple[Annotated[str, AfterValidator(validate_device)], ...],
                    BeforeValidator(_devices)]
Vlans = Annotated[tuple[int, ...], BeforeValidator(_vlans)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# --------------------------------------------------------------------------- models


def _seconds(default: float, description: str) -> Any:
    return Field(default=default, gt=0, allow_inf_nan=False, description=description)


class Timers(_Model):
    """How often hosts are polled and how long things may take, in seconds."""

    poll_interval: float = _seconds(2.0, "Seconds between two polls of a host.")
    poll_timeout: float = _seconds(
        8.0, "Seconds a poll may take; a host that does not answer within it is unreachable."
    )
    slow_threshold: float = _seconds(3.0, "A poll slower than this shows the host as slow.")
    metrics_window: float = _seconds(600.0, "Seconds of metric history kept for the charts.")
    power_timeout: float = _seconds(120.0, "Seconds a VM power action may take to take effect.")
    ha_check_interval: float = _seconds(5.0, "Seconds between two HA liveness checks of a host.")
    ha_grace_period: float = _seconds(
        30.0, "Seconds a host must fail its HA checks before it is declared lost."
    )
    ha_check_timeout: float | None = Field(
        default=None, gt=0, allow_inf_nan=False,
        description="Seconds one HA liveness check may take, below ha_check_interval "
        "(default: 80% of it, at most 4).",
    )
    ha_blocklist_expiry: float = _seconds(
        3600.0, "Seconds a lost host's Ceph clients stay blocklisted unless let back sooner."
    )

    @property
    def check_timeout(self) -> float:
        if self.ha_check_timeout is not None:
            return self.ha_check_timeout
        return min(4.0, 0.8 * self.ha_check_interval)

    @model_validator(mode="after")
    def _relations(self) -> Timers:
        if self.slow_threshold >= self.poll_timeout:
            raise ValueError(
                f"slow_threshold ({self.slow_threshold:g} s) must be below poll_timeout "
                f"({self.poll_timeout:g} s): a poll slower than the threshold shows a host as "
                "slow, one longer than the timeout as unreachable"
            )
        if self.metrics_window < self.poll_interval:
            raise ValueError(
                f"metrics_window ({self.metrics_window:g} s) must be at least poll_interval "
                f"({self.poll_interval:g} s), or the charts stay empty"
            )
        if self.ha_check_timeout is not None and self.ha_check_timeout >= self.ha_check_interval:
            raise ValueError(
                f"ha_check_timeout ({self.ha_check_timeout:g} s) must be below "
                f"ha_check_interval ({self.ha_check_interval:g} s)"
            )
        if self.ha_blocklist_expiry <= self.ha_grace_period:
            raise ValueError(
                f"ha_blocklist_expiry ({self.ha_blocklist_expiry:g} s) must be longer than "
                f"ha_grace_period ({self.ha_grace_period:g} s)"
            )
        if self.ha_grace_period < self.ha_check_interval:
            raise ValueError(
                f"ha_grace_period ({self.ha_grace_period:g} s) must be at least "
                f"ha_check_interval ({self.ha_check_interval:g} s)"
            )
        return self


CephConfLine = Annotated[str, StringConstraints(
    pattern=r"^(\[[a-z.]+\]|[a-z_][a-z0-9_ ]* = [A-Za-z0-9_./$:,\[\]-]+)$")]


class HostConfig(_Model):
    """One hypervisor host and how to reach it over SSH. No secrets: a password is asked
    for at run time when password_auth is true."""

    name: Name = Field(description="Display name of the host (letters, digits, '-', '_', '.').")
    address: Address = Field(description="IP address or DNS name SSH connects to.")
    port: Port = Field(default=22, description="SSH port.")
    user: User = Field(default="root", description="SSH login user.")
    key_file: FilePath | None = Field(
        default=None, description="SSH private key file ('~' is expanded); default: ssh's."
    )
    password_auth: bool = Field(
        default=False,
        description="Log in with a password, asked for at run time (it is never stored).",
    )
    known_hosts: FilePath | None = Field(
        default=None, description="known_hosts file for this host; default: the cluster's."
    )
    proxy_jump: JumpHost | None = Field(
        default=None,
        description="Bastion to reach the host through, [user@]host[:port] as ssh's "
        "ProxyJump; it is checked against the same known_hosts, with the same key.",
    )
    ipmi_address: Address | None = Field(
        default=None, description="Address of the host's BMC, for IPMI power-off when "
        "[clusters.ha] ipmi is true (its password: IPMI_PASSWORD in mvm-tui's environment)."
    )
    ipmi_user: str = Field(default="ADMIN", pattern=r"^[A-Za-z0-9_.@-]{1,32}$",
                           description="IPMI user of the host's BMC.")


class Interfaces(_Model):
    """The network interface of each network on every host of a cluster."""

    management: IfName = Field(default="eth0", description="Interface of the management network.")
    storage: IfName = Field(default="eth1", description="Interface of the storage network.")
    compute: IfName = Field(
        default="eth2", description="Interface carrying the VMs' VLANs (compute network)."
    )


# mvm-selffence checks its peers every 1.5 s at most and kills its VMs at once (in parallel),
# within a few seconds: a host cut off is clean this long after self_fence_after, which must
# still be before the grace period ends
SELF_FENCE_MARGIN = 5.0


def _nfs_export(text: str) -> str:
    return str(parse_nfs_export(text))


def _iscsi_portal(text: str) -> str:
    address, port = parse_iscsi_portal(text)
    return address if ":" in address else f"{address}:{port}"


class DatastoreConfig(_Model):
    """The shared datastore of an external-storage cluster: a libvirt storage pool of the same
    name on every host, an NFS export (mounted) or an iSCSI target (reached by libvirt and QEMU
    directly, with libiscsi: its LUNs are the volumes)."""

    name: Name = Field(default="external", description="Name of the libvirt storage pool.")
    nfs_export: Annotated[str, AfterValidator(_nfs_export)] | None = Field(
        default=None, description="NFS export, server:/path, e.g. \"nas1:/export/vms\"."
    )
    iscsi_portal: Annotated[str, AfterValidator(_iscsi_portal)] | None = Field(
        default=None, description="iSCSI portal, address[:port] (port 3260 if not given)."
    )
    iscsi_target: Annotated[str, AfterValidator(validate_iqn)] | None = Field(
        default=None, description="iSCSI target name, e.g. \"iqn.2003-01.org.example:vms\"."
    )

    @model_validator(mode="after")
    def _one_kind(self) -> DatastoreConfig:
        if (self.nfs_export is None) == (self.iscsi_portal is None):
            raise ValueError("set either nfs_export (an NFS datastore) or iscsi_portal and "
                             "iscsi_target (an iSCSI datastore)")
        if self.iscsi_portal is not None and self.iscsi_target is None:
            raise ValueError("iscsi_portal is set but iscsi_target is not: add the target's "
                             "name, e.g. iscsi_target = \"iqn.2003-01.org.example:vms\"")
        if self.nfs_export is not None and self.iscsi_target is not None:
            raise ValueError("iscsi_target is set on an NFS datastore: remove it")
        return self

    def target(self) -> NfsExport | IscsiTarget:
        """The export or the target, parsed."""
        if self.nfs_export is not None:
            return parse_nfs_export(self.nfs_export)
        address, port = parse_iscsi_portal(str(self.iscsi_portal))
        return IscsiTarget(address, port, str(self.iscsi_target))


class HaConfig(_Model):
    """How the cluster fails VMs over when a host is lost."""

    failback: Literal["on", "off", "ask"] = Field(
        default="on",
        description="When a lost host returns: move its VMs back (on), leave them (off), or "
        "ask the operator (ask).",
    )
    ipmi: bool = Field(
        default=False, description="Power a lost host off over IPMI as part of fencing (every "
        "host needs ipmi_address; the password is IPMI_PASSWORD in mvm-tui's environment)."
    )
    ipmitool: str = Field(
        default="ipmitool", description="The ipmitool command on the jump box (a name on PATH "
        "or a path).", pattern=r"^[A-Za-z0-9_./+-]+$"
    )
    priorities: dict[Name, int] = Field(
        default_factory=dict,
        description="Restart priority per VM name, higher first when not all fit (default 0).",
    )
    lock_pool: Name = Field(
        default="rbd", description="HCI: the Ceph pool holding the HA lock object "
        "(mvm-tui-ha.CLUSTER), so HA services on two jump boxes take turns."
    )
    lock_lease: float = Field(
        default=30.0, ge=3, description="HCI: seconds the HA lock is held without renewal; "
        "a standby service takes over this long after the active one stops renewing it."
    )
    notify_command: list[str] = Field(
        default_factory=list,
        description="A command run on the jump box (argv, no shell) for every HA notice: a "
        "fence, a fence, restart or unfence that failed, VMs left down. The notice is in its "
        "environment: MVM_CLUSTER, MVM_EVENT, MVM_LEVEL, MVM_HOST, MVM_VM, MVM_MESSAGE. "
        "Killed after 30 s; its failure is logged, HA goes on.",
    )
    self_fence_after: float | None = Field(
        default=None, gt=0,
        description="Seconds after which a host cut off from the majority of the cluster kills "
        "its own VMs (mvm-selffence runs on every host with this value). Real clusters restart "
        "a lost host's VMs only when it is set; at most ha_grace_period - "
        f"{SELF_FENCE_MARGIN:g}.",
    )


class BalanceConfig(_Model):
    """Automatic balancing of Auto VMs."""

    enabled: bool = Field(default=False, description="Move Auto VMs off loaded hosts.")
    threshold_pct: float = Field(
        default=80.0, gt=0, le=100, description="A host above this load (CPU or memory %) "
        "sheds Auto VMs."
    )
    max_total: int = Field(default=2, ge=1, description="Migrations at once in the cluster.")
    max_per_host: int = Field(default=1, ge=1, description="Migrations at once per host.")


class ClusterConfig(_Model):
    """One cluster of hypervisor hosts."""

    name: Name = Field(description="Name of the cluster (letters, digits, '-', '_', '.').")
    layout: Layout = Field(
        description="'hci' (Ceph on the hypervisor hosts) or 'external' (NFS, iSCSI)."
    )
    hosts: list[HostConfig] = Field(
        description="The hosts: at least one, at least three for an HCI cluster."
    )
    interfaces: Interfaces = Field(
        default_factory=Interfaces, description="Network interface names on the hosts."
    )
    data_devices: Devices = Field(
        default=(), description="Block devices for storage (Ceph OSDs on HCI), e.g. /dev/sdb."
    )
    compute_vlans: Vlans = Field(
        default=(), description="VLANs of the VM networks: \"22-25,30\", 22 or a list."
    )
    ovs_datapath: Literal["system", "netdev"] = Field(
        default="system", description="Open vSwitch datapath of the compute bridge: system (the "
        "kernel's), or netdev (userspace, where the kernel module is missing)."
    )
    install_packages: bool = Field(
        default=True, description="Provisioning installs missing packages with apt-get; false "
        "where hosts have no package mirror (they must have them already)."
    )
    ceph_extra_conf: list[CephConfLine] = Field(
        default_factory=list, description="Lines added to the ceph.conf provisioning writes "
        "(\"key = value\", or a \"[section]\" header), for tuning."
    )
    cpu_type: CpuModel = Field(default="x86_64", description="CPU architecture of the VMs.")
    cpu_model: CpuModel = Field(
        default="host-model",
        description="libvirt CPU model of the VMs: host-model, host-passthrough or a named model.",
    )
    known_hosts: FilePath | None = Field(
        default=None, description="known_hosts file for the cluster; default ~/.ssh/known_hosts."
    )
    datastore: DatastoreConfig | None = Field(
        default=None, description="External storage only: the shared datastore provisioning "
        "defines on every host."
    )
    ha: HaConfig = Field(default_factory=HaConfig, description="Failover when a host is lost.")
    color: ClusterColor | None = Field(
        default=None, description="Colour of the cluster's name bar in the TUI (red, green, "
        "yellow, blue, magenta or cyan), so two clusters never look alike; default: one "
        "picked from its name."
    )
    balance: BalanceConfig = Field(
        default_factory=BalanceConfig, description="Automatic balancing of Auto VMs."
    )

    @field_validator("hosts")
    @classmethod
    def _check_hosts(cls, hosts: list[HostConfig], info: ValidationInfo) -> list[HostConfig]:
        if not hosts:
            raise ValueError("a cluster needs at least one host: add a [[clusters.hosts]] table")
        layout = info.data.get("layout")
        # a new HCI cluster is built with 3 hosts at least (3 monitors); one that lost a host
        # to a decommission goes on with 2 (2 monitors still make a quorum)
        if layout is Layout.HCI and len(hosts) < 2:
            raise ValueError(
                f"an HCI cluster needs at least 2 hosts (Ceph keeps each object's copies on "
                f"different hosts), this one has {len(hosts)}: add hosts or use "
                f"layout = \"external\""
            )
        _check_unique([h.name for h in hosts], "hosts", "host name")
        _check_unique([h.address.lower() for h in hosts], "hosts", "address")
        return hosts

    @model_validator(mode="after")
    def _datastore_external(self) -> ClusterConfig:
        if self.datastore is not None and self.layout is Layout.HCI:
            raise ValueError("an HCI cluster keeps its VM disks on its own Ceph: remove "
                             "[clusters.datastore], or use layout = \"external\"")
        return self

    @model_validator(mode="after")
    def _ipmi_addresses(self) -> ClusterConfig:
        missing = [h.name for h in self.hosts if h.ipmi_address is None]
        if self.ha.ipmi and missing:
            raise ValueError(
                f"ha.ipmi is true but host {quote(missing[0])} has no ipmi_address: set the "
                "address of every host's BMC, or ipmi = false"
            )
        return self

    def host(self, name: str) -> HostConfig:
        """The host called `name`; KeyError if there is none."""
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    def known_hosts_for(self, host: HostConfig) -> Path:
        """The known_hosts file to check `host` against: the host's, the cluster's or the
        user's."""
        return host.known_hosts or self.known_hosts or known_hosts_path()


def _key_list(text: str) -> str:
    keys = [key.strip() for key in text.split(",")]
    if not all(keys):
        raise ValueError(f"{quote(text)} is not a key or a comma-separated list of keys, such "
                         'as "v" or "3,v"')
    return ",".join(keys)


KeyList = Annotated[str, AfterValidator(_key_list)]


class Config(_Model):
    """The whole config.toml."""

    timers: Timers = Field(default_factory=Timers, description="Polling and timeout settings.")
    # Which binding ids exist is known to the UI only (the config never imports Textual): the
    # TUI checks them when it starts (mvm_tui/keymap.py), the loader checks the keys' form.
    keys: dict[str, KeyList] = Field(
        default_factory=dict,
        description="The TUI's keys, by binding id: a key or comma-separated keys that replace "
        "the binding's default.",
    )
    clusters: list[ClusterConfig] = Field(
        default_factory=list, description="The clusters mvm-tui manages (may be empty)."
    )

    @field_validator("keys", mode="before")
    @classmethod
    def _dotted_ids(cls, keys: object) -> object:
        """`go.vms = "v"` (a TOML dotted key: table go, key vms) is the id "go.vms" too."""
        if not isinstance(keys, dict):
            return keys
        flat: dict[str, object] = {}
        for key, value in keys.items():
            if isinstance(value, dict):
                flat |= {f"{key}.{sub}": v for sub, v in value.items()}
            else:
                flat[key] = value
        return flat

    @field_validator("clusters")
    @classmethod
    def _unique_clusters(cls, clusters: list[ClusterConfig]) -> list[ClusterConfig]:
        _check_unique([c.name for c in clusters], "clusters", "cluster name")
        return clusters

    @model_validator(mode="after")
    def _self_fence_before_grace(self) -> Config:
        grace = self.timers.ha_grace_period
        for c in self.clusters:
            after = c.ha.self_fence_after
            if after is not None and after + SELF_FENCE_MARGIN > grace:
                raise ValueError(
                    f"clusters {quote(c.name)}: ha.self_fence_after ({after:g} s) must be at "
                    f"most timers.ha_grace_period - {SELF_FENCE_MARGIN:g} ({grace:g} - "
                    f"{SELF_FENCE_MARGIN:g} s): a cut-off host must have killed its VMs before "
                    "they restart elsewhere"
                )
        return self

    def cluster(self, name: str) -> ClusterConfig:
        """The cluster called `name`; KeyError if there is none."""
        for c in self.clusters:
            if c.name == name:
                return c
        raise KeyError(name)


def _check_unique(values: list[str], table: str, what: str) -> None:
    seen: dict[str, int] = {}
    for i, v in enumerate(values):
        if v in seen:
            raise ValueError(
                f"{what} {quote(v)} is used twice ({table}[{seen[v]}] and {table}[{i}]); "
                f"each must be unique"
            )
        seen[v] = i


def demo_config() -> Config:
    """The built-in demo cluster used by `mvm-tui --demo`."""
    hosts = [
        HostConfig(name=f"hv{i}", address=f"192.0.2.{10 + i}", port=22, user="root")
        for i in (1, 2, 3)
    ]
    cluster = ClusterConfig(
        name="demo",
        layout=Layout.HCI,
        hosts=hosts,
        interfaces=Interfaces(management="eth0", storage="eth1", compute="eth2"),
        data_devices=("/dev/sdb",),
        compute_vlans=parse_vlans("22-25"),
        cpu_model="host-model",
    )
    return Config(clusters=[cluster])


# --------------------------------------------------------------------------- load and save


class ConfigError(Exception):
    """config.toml cannot be used; str() is the whole message for the operator, one problem
    per line, each starting with the file's path."""

    def __init__(self, path: Path, problems: list[str] | str) -> None:
        self.path = path
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(f"{path}: {p}" for p in self.problems))


def load_config(path: Path) -> Config:
    """Read and validate config.toml. Raises ConfigError on any problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            path, f"no such file; `{EXAMPLE_COMMAND}` prints an example to copy there and "
            "edit (every key explained), or pass --config PATH"
        ) from None
    except IsADirectoryError:
        raise ConfigError(path, "is a directory, not a config file; pass --config PATH") from None
    except PermissionError:
        raise ConfigError(path, "cannot read it: permission denied") from None
    except OSError as e:
        raise ConfigError(path, f"cannot read it: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(path, f"not UTF-8 text (bad byte at offset {e.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(path, _toml_message(e)) from None
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(path, format_validation_error(e, data)) from None


def save_config(config: Config, path: Path) -> None:
    """Write `config` to `path` as TOML, atomically and with mode 0600."""
    data = config.model_dump(mode="json", exclude_none=True)
    for cluster, model in zip(data["clusters"], config.clusters, strict=True):
        cluster["compute_vlans"] = format_vlans(model.compute_vlans)
    header = f"# mvm-tui configuration; `{EXAMPLE_COMMAND}` documents every key.\n\n"
    write_private(Path(path), (header + tomli_w.dumps(data)).encode("utf-8"))


_TOML_POS = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$")


def _toml_message(e: tomllib.TOMLDecodeError) -> str:
    """ "line 3, column 5: TOML syntax error: Expected '=' after a key ..." """
    # Python 3.11's tomllib puts the position at the end of the message: "(at line 3, column 5)"
    msg = str(e)
    line: object = getattr(e, "lineno", None)
    col: object = getattr(e, "colno", None)
    m = _TOML_POS.search(msg)
    if m is not None:
        msg = msg[: m.start()]
        if line is None and m.group(1):
            line, col = int(m.group(1)), int(m.group(2))
        elif line is None:
            return f"at the end of the file: TOML syntax error: {msg}"
    if line is not None:
        return f"line {line}, column {col}: TOML syntax error: {msg}"
    return f"TOML syntax error: {msg}"


# --------------------------------------------------------------------------- error messages

def format_validation_error(error: ValidationError, data: object = None) -> list[str]:
    """One line per problem: "clusters[0].hosts[1].adress: unknown key (did you mean ...)".

    `data` is the raw input (the parsed TOML): it is used to add the names of the cluster and
    host a problem is in.
    """
    errors = error.errors(include_url=False)
    # A misspelt key makes the right one "missing" too: the suggestion says it all.
    suggested = {
        (tuple(e["loc"][:-1]), _suggestion(tuple(e["loc"]))[0])
        for e in errors
        if e["type"] == "extra_forbidden"
    }
    lines: list[str] = []
    seen: set[str] = set()
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "missing" and (loc[:-1], loc[-1]) in suggested:
            continue
        msg = _message(err, loc)
        line = f"{_format_loc(loc) or '(top level)'}: {msg}{_names(loc, data)}"
        if line not in seen:
            seen.add(line)
            lines.append(line)
    if len(lines) > MAX_ERROR_LINES:
        more = len(lines) - MAX_ERROR_LINES
        lines = [*lines[:MAX_ERROR_LINES], f"... and {more} more problems"]
    return lines


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            # a key that is not a bare TOML key is shown quoted, escaped (no control character
            # reaches the terminal)
            key = part if _BARE_KEY.fullmatch(part) else json.dumps(part)
            out += f".{key}" if out else key
    return out


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _names(loc: tuple[int | str, ...], data: object) -> str:
    """" (in cluster 'prod', host 'hv2')" for a location inside named list items."""
    found: list[str] = []
    node = data
    for i, part in enumerate(loc):
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            node = node[part]
            name = node.get("name") if isinstance(node, dict) else None
            table = loc[i - 1] if i else ""
            if isinstance(name, str) and isinstance(table, str):
                try:
                    validate_hostname_label(name)
                except ValueError:
                    continue
                found.append(f"{table.removesuffix('s')} {name!r}")
        elif isinstance(part, str) and isinstance(node, dict):
            node = node.get(part)
        else:
            break
    return f" (in {', '.join(found)})" if found else ""


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model whose table `loc` points into (for the field names of an unknown key)."""
    model: type[BaseModel] | None = Config
    for part in loc:
        if model is None:
            return None
        if isinstance(part, str):
            field = model.model_fields.get(part)
            model = _find_model(field.annotation) if field else None
    return model


def _find_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _find_model(arg)
        if found is not None:
            return found
    return None


def _describe(value: object) -> str:
    """How a message shows a TOML value it did not expect."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value, 40)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "nothing"
    return f"a {type(value).__name__}"


def _message(err: Any, loc: tuple[int | str, ...]) -> str:
    kind: str = err["type"]
    ctx: dict[str, Any] = err.get("ctx") or {}
    got = _describe(err.get("input"))
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{str(err['msg']).replace('Input should be', 'must be')}, got {got}"
    if kind in ("list_type", "tuple_type") and isinstance(err.get("input"), dict):
        table = ".".join(p for p in loc if isinstance(p, str))
        return f"expected a list, got a table: write [[{table}]] for each entry"
    if kind == "enum":
        return f"expected {ctx.get('expected', 'one of the listed values')}, got {got}"
    # (pydantic's own message is never a template: it may hold braces, as a pattern does)
    template = _TEMPLATES.get(kind)
    return template.format(got=got) if template else f"{err['msg']}, got {got}"


_TEMPLATES = {
    kind: expected + ", got {got}"
    for kinds, expected in (
        ("float_type float_parsing", "expected a number"),
        ("int_type int_parsing int_from_float", "expected a whole number"),
        ("finite_number", "expected a finite number"),
        ("bool_type bool_parsing", "expected true or false"),
        ("string_type", "expected a string in quotes"),
        ("list_type tuple_type", "expected a list"),
        ("model_type model_attributes_type dict_type", "expected a table"),
        ("path_type", "expected a file path in quotes"),
    )
    for kind in kinds.split()
} | {"missing": "required key is missing"}


def _suggestion(loc: tuple[int | str, ...]) -> tuple[str | None, list[str]]:
    """For an unknown key: the close field name (if any) and the table's field names."""
    model = _model_at(loc[:-1])
    fields = list(model.model_fields) if model else []
    close = difflib.get_close_matches(str(loc[-1]), fields, n=1) if loc else []
    return (close[0] if close else None), fields


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    key = str(loc[-1]) if loc else ""
    suggestion, fields = _suggestion(loc)
    near = suggestion is not None and difflib.SequenceMatcher(None, key, suggestion).ratio() >= 0.85
    if _looks_secret(key) and not near:
        return (
            "secrets are never stored in the config: remove this key; mvm-tui asks for "
            "passwords when it needs them (set password_auth = true on a host to log in "
            "with a password)"
        )
    if suggestion:
        return f"unknown key (did you mean {suggestion!r}?)"
    if fields:
        return f"unknown key; expected one of: {', '.join(fields)}"
    return "unknown key"
