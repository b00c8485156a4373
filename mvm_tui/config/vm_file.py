"""The file `mvm-tui vm create --from FILE` reads: one new VM, in TOML. Its values are checked
against the cluster by core/new_vm (each wrong one named by its field); here only their types.

    name = "web-1"
    plan = "medium"            # or vcpus, memory_mb and disk_gb (each overrides the plan's)
    image = "debian-12"        # `mvm-tui image list` shows the library
    vlans = [22]
    [cloud_init]
    user = "ops"
    ssh_keys = ["ssh-ed25519 AAAA... ops@laptop"]
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import Field

from mvm_tui.config.fields import StrictModel
from mvm_tui.config.plans import PlanConfig
from mvm_tui.core.cloud_init import CloudInit, StaticAddress
from mvm_tui.core.new_vm import NewVm
from mvm_tui.models import Placement


class CloudInitFile(StrictModel):
    """The NoCloud seed: without this table, the VM gets none."""

    hostname: str | None = Field(default=None, description="Its host name; default: its name.")
    user: str = Field(default="mvm", description="The user made, with sudo and the SSH keys.")
    ssh_keys: list[str] = Field(default_factory=list, description="SSH public keys of the user.")
    address: str | None = Field(
        default=None, description="A static address with its prefix, 10.0.22.15/24, on the "
        "first NIC; default: DHCP on every NIC.")
    gateway: str = Field(default="", description="The default gateway, with a static address.")
    dns: list[str] = Field(default_factory=list, description="Name servers, with a static "
                           "address.")
    user_data_file: Path | None = Field(
        default=None, description="Your own #cloud-config (on this machine), merged: it may "
        "not set the host name, the users or their keys (these keys do).")


class VmFile(StrictModel):
    """One new VM."""

    name: str = Field(description="Unique in the cluster: letters, digits, '-', '_', '.'.")
    cluster: str | None = Field(default=None, description="Its cluster; default: the only one.")
    plan: str | None = Field(default=None, description="A named size of the config's [plans].")
    vcpus: int | None = Field(default=None, description="Virtual CPUs (overrides the plan's).")
    memory_mb: int | None = Field(default=None, description="Memory in MiB (overrides the "
                                  "plan's).")
    disk_gb: int | None = Field(default=None, description="The root disk in GiB (overrides the "
                                "plan's), at least the image's size.")
    image: str = Field(description="The library image its root disk is a clone of.")
    volumes_gb: list[int] = Field(default_factory=list, description="Extra empty disks, GiB.")
    vlans: list[int] = Field(default_factory=list, description="A NIC on each of these VLAN "
                             "port groups of the cluster's compute network.")
    host: str | None = Field(default=None, description="Its host; default: the placement "
                             "engine's choice (the least full host that keeps the failover "
                             "reserve).")
    placement: Placement = Field(default=Placement.AUTO, description="auto, failover or "
                                 "pinned (pinned needs a host).")
    restart_priority: int = Field(default=0, description="After a host loss, VMs of higher "
                                  "priority restart first when not all fit (-1000 to 1000; "
                                  "[clusters.ha] priorities overrides it).")
    headroom: int = Field(default=4, description="Its maximum vCPUs and memory are this many "
                          "times its size, so a later resize within them is done live.")
    start: bool = Field(default=True, description="Start it once made.")
    allow_reserve_break: bool = Field(
        default=False, description="Make it even where the failover reserve no longer holds "
        "with it (some VMs of a lost host would stay down).")
    cloud_init: CloudInitFile | None = Field(default=None, description="Its cloud-init seed.")

    def request(self, plans: Mapping[str, PlanConfig]) -> NewVm:
        """The request this makes, its plan's size applied (its user-data file read);
        ValueError naming the field at fault."""
        plan = None
        if self.plan is not None:
            plan = plans.get(self.plan)
            if plan is None:
                raise ValueError(f"plan: no plan named {self.plan!r} (the config's: "
                                 f"{', '.join(sorted(plans)) or 'none'})")
        size: dict[str, int] = {}
        for key in ("vcpus", "memory_mb", "disk_gb"):
            value = getattr(self, key) if getattr(self, key) is not None else getattr(
                plan, key, None)
            if value is None:
                raise ValueError(f"{key}: give a plan or a value")
            size[key] = value
        ci, cloud = self.cloud_init, None
        if ci is not None:
            user_data = ""
            if ci.user_data_file is not None:
                try:
                    user_data = ci.user_data_file.expanduser().read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise ValueError(f"cloud_init.user_data_file: cannot read "
                                     f"{ci.user_data_file}: {exc}") from None
            static = (StaticAddress(ci.address, ci.gateway, tuple(ci.dns))
                      if ci.address is not None else None)
            cloud = CloudInit(ci.hostname or self.name, ci.user, tuple(ci.ssh_keys), static,
                              user_data)
        return NewVm(name=self.name, vcpus=size["vcpus"], memory_mb=size["memory_mb"],
                     image=self.image, disk_gb=size["disk_gb"],
                     volumes_gb=tuple(self.volumes_gb), vlans=tuple(self.vlans),
                     host=self.host, placement=self.placement,
                     priority=self.restart_priority, headroom=self.headroom,
                     cloud=cloud, allow_reserve_break=self.allow_reserve_break,
                     start=self.start)
