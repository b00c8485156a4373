"""config.toml: timers and the clusters mvm-tui manages, as validated pydantic models.

load_config() turns every problem with the file into a ConfigError whose message names the
file, the key and what is expected, one problem per line; it never shows a traceback.
Secrets are never stored: passwords are asked for when they are needed.
`mvm-tui config example` prints an example that documents every key (config_example.py).

The modules: fields (the field types), timers, cluster, plans and model (the models), errors (the
wording of problems), io (load and save), edits (changes to the file under its lock),
from_form (the config the Add Cluster wizard's form makes).
"""

from __future__ import annotations

from mvm_tui.config.cluster import (
    SELF_FENCE_MARGIN,
    BalanceConfig,
    ClusterConfig,
    DatastoreConfig,
    HaConfig,
    HostConfig,
    Interfaces,
)
from mvm_tui.config.edits import add_cluster, add_hosts, remove_host, update_config
from mvm_tui.config.errors import MAX_ERROR_LINES, ConfigError, format_validation_error
from mvm_tui.config.fields import CLUSTER_COLORS
from mvm_tui.config.from_form import cluster_from_form, host_from_row
from mvm_tui.config.io import load_config, save_config
from mvm_tui.config.model import Config, demo_config
from mvm_tui.config.plans import PlanConfig, default_plans
from mvm_tui.config.timers import Timers

__all__ = [
    "CLUSTER_COLORS", "MAX_ERROR_LINES", "SELF_FENCE_MARGIN", "BalanceConfig", "ClusterConfig",
    "Config", "ConfigError", "DatastoreConfig", "HaConfig", "HostConfig", "Interfaces",
    "PlanConfig", "Timers", "add_cluster", "add_hosts", "cluster_from_form", "default_plans",
    "demo_config",
    "format_validation_error", "host_from_row", "load_config", "remove_host", "save_config",
    "update_config",
]
