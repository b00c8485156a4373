"""The ready mvm-tui config.toml the lab writes, checked with mvm-tui's own loader."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import tomli_w

from mvm_tui.config import load_config
from mvm_tui.lab.ceph import PROVISION_EXTRA_CONF
from mvm_tui.lab.model import LabHost, LabInfo
from mvm_tui.lab.netns import OSD_DEVICE
from mvm_tui.paths import write_private

CLUSTER_NAME = "mvmlab"
POOL = "vms"  # the lab's RBD pool
SELF_FENCE_AFTER = 4.0  # a cut-off lab host kills its VMs after this (grace period: 10 s)


def _s(value: str | Path) -> str:
    """A TOML basic string (JSON's escaping is valid TOML)."""
    return json.dumps(str(value))


def render(info: LabInfo) -> str:
    layout = "hci" if len(info.hosts) >= 3 else "external"
    lines = [
        "# mvm-tui config for the lab (python -m mvm_tui.lab up): config.example.toml documents",
        "# every key. Written by the lab; rewritten at every `lab up`.",
        "",
        "[timers]",
        "poll_interval = 2.0",
        "poll_timeout = 8.0",
        "slow_threshold = 3.0",
        "ha_check_interval = 2",
        "ha_grace_period = 10",
        "",
        "[[clusters]]",
        f"name = {_s(CLUSTER_NAME)}",
        f"layout = {_s(layout)}",
        f"# Inside every lab host {OSD_DEVICE} is that host's own loop device (a sparse file).",
        f"data_devices = [{_s(OSD_DEVICE)}]",
        "# OVS in userspace on every host: bridge br-compute, ports vlan100, vlan101, a trunk.",
        'compute_vlans = "100-101"',
        'cpu_type = "x86_64"',
        "# Nested KVM here: BIOS-only guests run under KVM, Linux guests need TCG (see lab docs):",
        "# the VMs mvm-tui creates (Linux cloud images) are emulated.",
        'cpu_model = "host-model"',
        'vm_virt_type = "qemu"',
        "# No openvswitch kernel module here; packages come from the machine (no mirror).",
        'ovs_datapath = "netdev"',
        "install_packages = false",
        "# What Ceph provisioned on lab hosts needs (daemons under the lab's systemctl).",
        f"ceph_extra_conf = {json.dumps(list(PROVISION_EXTRA_CONF))}",
        f"known_hosts = {_s(info.known_hosts)}",
        "",
        "[clusters.ha]",
        "# every lab host runs mvm-selffence with this value (lab up and restore start it)",
        f"self_fence_after = {SELF_FENCE_AFTER:g}",
        f"lock_pool = {_s(POOL)}",
        "# the lab's BMCs (IPMI_PASSWORD=lab); set ipmi = true to fence with them too",
        f"ipmitool = {_s(info.directory / 'ipmitool')}",
        "",
        "# Every role on the lab's single link.",
        "[clusters.interfaces]",
        'management = "eth0"',
        'storage = "eth0"',
        'compute = "eth0"',
    ]
    for h in info.hosts:
        lines += _host(h)
    return "\n".join(lines) + "\n"


def _host(h: LabHost) -> list[str]:
    return [
        "",
        "[[clusters.hosts]]",
        f"# netns {h.netns}, hostname {h.hostname}",
        f"name = {_s(h.name)}",
        f"address = {_s(h.address)}",
        f"port = {h.port}",
        f"user = {_s(h.user)}",
        f"key_file = {_s(h.key_file)}",
        "password_auth = false",
        f"ipmi_address = {_s(h.address)}",
        'ipmi_user = "lab"',
    ]


def write_config(info: LabInfo) -> Path:
    """Write info.config_path (mode 0600) and load it back with mvm_tui.config.load_config."""
    bmc = info.directory / "ipmitool"  # the lab's BMCs, as ipmitool (mvm_tui.lab.bmc)
    bmc.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m mvm_tui.lab.bmc \"$@\"\n")
    bmc.chmod(0o755)
    write_private(info.config_path, render(info).encode())
    load_config(info.config_path)  # ConfigError if the lab wrote something mvm-tui refuses
    return info.config_path


def new_cluster_file(info: LabInfo, path: Path, name: str, layout: str, **keys: Any) -> Path:
    """A file for `mvm-tui cluster create --from` that builds a cluster on every lab host, as
    the lab allows (userspace OVS on the spare NIC tr-compute, packages from the machine; for
    HCI an OSD on each host's loop device and the lab's Ceph settings), with `keys` added."""
    cluster: dict[str, Any] = {
        "name": name, "layout": layout, "compute_vlans": "100-101", "ovs_datapath": "netdev",
        "install_packages": False, "known_hosts": str(info.known_hosts),
        "interfaces": {"management": "eth0", "storage": "eth0", "compute": "tr-compute"},
        "hosts": [{"name": h.name, "address": h.address, "port": h.port, "user": h.user,
                   "key_file": str(h.key_file)} for h in info.hosts],
    }
    if layout == "hci":
        cluster |= {"data_devices": [OSD_DEVICE], "ceph_extra_conf": list(PROVISION_EXTRA_CONF)}
    path.write_text(tomli_w.dumps({"clusters": [cluster | keys]}))
    return path

