"""The whole config.toml (Config), and the built-in demo's."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from mvm_tui.config.cluster import SELF_FENCE_MARGIN, ClusterConfig, HostConfig, Interfaces
from mvm_tui.config.fields import KeyList, Name, StrictModel, check_unique
from mvm_tui.config.plans import PlanConfig, default_plans
from mvm_tui.config.timers import Timers
from mvm_tui.core.validation import parse_vlans, quote
from mvm_tui.models import Layout


class Config(StrictModel):
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
    plans: dict[Name, PlanConfig] = Field(
        default_factory=default_plans,
        description="Named VM sizes offered when a VM is created, by name (a custom size can "
        "always be given). Without the table: small, medium, large and xlarge.",
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
        check_unique([c.name for c in clusters], "clusters", "cluster name")
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
