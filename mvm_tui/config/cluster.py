"""[[clusters]]: a cluster's hosts, interfaces, datastore, HA and balancing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mvm_tui.config.fields import (
    Address,
    ClusterColor,
    CpuModel,
    Devices,
    FilePath,
    IfName,
    JumpHost,
    Name,
    Port,
    StrictModel,
    User,
    Vlans,
    check_unique,
)
from mvm_tui.core.form_validation import (
    IscsiTarget,
    NfsExport,
    parse_iscsi_portal,
    parse_nfs_export,
    validate_iqn,
)
from mvm_tui.core.validation import quote
from mvm_tui.models import Layout
from mvm_tui.paths import known_hosts_path

CephConfLine = Annotated[str, StringConstraints(
    pattern=r"^(\[[a-z.]+\]|[a-z_][a-z0-9_ ]* = [A-Za-z0-9_./$:,\[\]-]+)$")]


class HostConfig(StrictModel):
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


class Interfaces(StrictModel):
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


class DatastoreConfig(StrictModel):
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


class HaConfig(StrictModel):
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


class BalanceConfig(StrictModel):
    """Automatic balancing of Auto VMs."""

    enabled: bool = Field(default=False, description="Move Auto VMs off loaded hosts.")
    threshold_pct: float = Field(
        default=80.0, gt=0, le=100, description="A host above this load (CPU or memory %) "
        "sheds Auto VMs."
    )
    max_total: int = Field(default=2, ge=1, description="Migrations at once in the cluster.")
    max_per_host: int = Field(default=1, ge=1, description="Migrations at once per host.")


class ClusterConfig(StrictModel):
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
    vm_virt_type: Literal["kvm", "qemu"] = Field(
        default="kvm", description="libvirt domain type of the VMs mvm-tui creates: kvm, or "
        "qemu (emulated, slow: for a test lab whose nested KVM cannot run them)."
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
        check_unique([h.name for h in hosts], "hosts", "host name")
        check_unique([h.address.lower() for h in hosts], "hosts", "address")
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
