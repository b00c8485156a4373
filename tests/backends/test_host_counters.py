"""A host's own network and disk counters (backends/host_counters.py): the lab's real output
(tests/fixtures/figures/counters-h1-*.txt, made by capture.py there: h1 read before and after
32 MB went to the jump box over its SSH connection) and a hypervisor's layout written out."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path, PurePosixPath

from mvm_tui.backends import host_counters as hc

FIGURES = Path(__file__).resolve().parents[1] / "fixtures" / "figures"

# A hypervisor: two NICs bonded, a VLAN on the bond, Open vSwitch (kernel datapath), libvirt's
# default bridge, a VM's tap on OVS, docker with one container: only eno1 and eno2 count.
HYPERVISOR = """# net
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets ...
    lo: 9000 10 0 0 0 0 0 0 9000 10 0 0 0 0 0 0
  eno1: 1000000 900 0 0 0 0 0 0 2000000 800 0 0 0 0 0 0
  eno2: 500000 400 0 0 0 0 0 0 100000 300 0 0 0 0 0 0
 bond0: 1500000 1300 0 0 0 0 0 0 2100000 1100 0 0 0 0 0 0
bond0.100: 700000 600 0 0 0 0 0 0 800000 500 0 0 0 0 0 0
ovs-system: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
br-compute: 300000 200 0 0 0 0 0 0 400000 300 0 0 0 0 0 0
 vnet0: 400000 300 0 0 0 0 0 0 300000 200 0 0 0 0 0 0
virbr0: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
docker0: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0
vethab12: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0
# disk
   8       0 sda 100 0 2000 0 50 0 4000 0 0 0 0 0 0 0 0 0 0
   8       1 sda1 90 0 1800 0 40 0 3000 0 0 0 0 0 0 0 0 0 0
 259       0 nvme0n1 10 0 800 0 20 0 1600 0 0 0 0 0 0 0 0 0 0
 259       1 nvme0n1p1 10 0 800 0 20 0 1600 0 0 0 0 0 0 0 0 0 0
 253       0 dm-0 90 0 1800 0 40 0 3000 0 0 0 0 0 0 0 0 0 0
   7       0 loop0 5 0 10 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 252       0 rbd0 100 0 1000 0 100 0 1000 0 0 0 0 0 0 0 0 0 0
# links
bond0 6 6 -B bond
bond0.100 7 6 - vlan
br-compute 9 9 - -
docker0 11 11 -b -
eno1 2 2 -dm -
eno2 3 3 -dm -
lo 1 1 - -
ovs-system 8 8 - -
vethab12 13 12 -m -
virbr0 10 10 -b -
vnet0 12 12 -tm -
# blocks
nvme0n1
rbd0
sda
# maintenance
"""


def _advance(text: str, net: dict[str, tuple[int, int]], disk: dict[str, tuple[int, int]]
             ) -> str:
    """The same output with some counters moved on (bytes; disks in sectors)."""
    out = []
    for line in text.splitlines():
        name = line.split(":")[0].strip()
        if ":" in line and name in net:
            f = line.split(":")[1].split()
            f[0], f[8] = str(int(f[0]) + net[name][0]), str(int(f[8]) + net[name][1])
            line = f"{name}: " + " ".join(f)
        f = line.split()
        if len(f) > 10 and f[2] in disk:
            f[5], f[9] = str(int(f[5]) + disk[f[2]][0]), str(int(f[9]) + disk[f[2]][1])
            line = " ".join(f)
        out.append(line)
    return "\n".join(out) + "\n"


def test_a_hypervisor_counts_its_nics_and_whole_disks_only() -> None:
    counters = hc.parse(HYPERVISOR)
    assert hc.counted_interfaces(counters.links) == ["eno1", "eno2"]
    assert hc.counted_disks(counters) == ["nvme0n1", "sda"]
    assert counters.net["eno1"] == (1_000_000, 2_000_000)
    assert counters.disks["sda"] == (2000 * 512, 4000 * 512)
    assert not counters.maintenance


def test_rates_are_the_counted_devices_differences() -> None:
    tracker = hc.CounterTracker()
    first = tracker.rates(10.0, hc.parse(HYPERVISOR))
    assert (first.net_rx_bps, first.net_tx_bps, first.disk_rd_bps, first.disk_wr_bps) == (
        0.0, 0.0, 0.0, 0.0)
    assert first.interfaces == ("eno1", "eno2")
    assert first.disks == ("nvme0n1", "sda")
    # the VM's tap, the bond, the VLAN and the bridge move too: counted once, on the NICs
    later = _advance(HYPERVISOR,
                     net={"eno1": (4000, 2000), "eno2": (2000, 0), "bond0": (6000, 2000),
                          "bond0.100": (6000, 2000), "vnet0": (6000, 2000),
                          "br-compute": (6000, 2000)},
                     disk={"sda": (8, 0), "sda1": (8, 0), "dm-0": (8, 0), "nvme0n1": (0, 16),
                           "rbd0": (1000, 1000)})
    rates = tracker.rates(12.0, hc.parse(later))
    assert (rates.net_rx_bps, rates.net_tx_bps) == (3000.0, 1000.0)
    assert (rates.disk_rd_bps, rates.disk_wr_bps) == (8 * 512 / 2, 16 * 512 / 2)


def test_a_counter_that_went_back_counts_nothing() -> None:
    tracker = hc.CounterTracker()
    tracker.rates(0.0, hc.parse(_advance(HYPERVISOR, net={"eno1": (5000, 5000)}, disk={})))
    # eno1 was reset (driver reloaded); eno2 moved on by 1000 bytes each way
    rates = tracker.rates(1.0, hc.parse(_advance(HYPERVISOR, net={"eno2": (1000, 1000)},
                                                 disk={})))
    assert (rates.net_rx_bps, rates.net_tx_bps) == (1000.0, 1000.0)
    assert tracker.rates(1.0, hc.parse(HYPERVISOR)).net_rx_bps == 0.0  # no time passed


def test_the_lab_host_counts_its_link_out_and_sees_the_traffic() -> None:
    before = hc.parse((FIGURES / "counters-h1-before.txt").read_text())
    after = hc.parse((FIGURES / "counters-h1-after.txt").read_text())
    meta = json.loads((FIGURES / "counters-h1.json").read_text())
    # h1 is a network namespace: no NIC, its eth0 (a veth to the lab's bridge) is its link;
    # OVS's ports (taps in userspace mode), the veth pair inside it and lo are not counted
    assert hc.counted_interfaces(after.links) == ["eth0"]
    assert {"br-compute", "tr-compute", "tr-compute-p", "lo"} <= set(after.links)
    tracker = hc.CounterTracker()
    tracker.rates(meta["t_before"], before)
    rates = tracker.rates(meta["t_after"], after)
    sent = rates.net_tx_bps * (meta["t_after"] - meta["t_before"])
    # what went to the jump box, plus SSH's own framing: not a sum of VMs (it has none)
    assert meta["sent_to_jump_box_bytes"] <= sent < 1.2 * meta["sent_to_jump_box_bytes"]
    assert rates.net_rx_bps > 0  # the jump box's acknowledgements and requests


def test_the_maintenance_marker_and_the_command_runs_here(tmp_path: Path) -> None:
    marker = tmp_path / "maintenance"
    argv = hc.command(PurePosixPath(marker))
    assert argv[:2] == ["sh", "-c"]
    assert argv[-1] == str(marker)  # the path is an argument
    assert not hc.parse(subprocess.run(argv, capture_output=True, text=True).stdout).maintenance
    marker.touch()
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    counters = hc.parse(out)
    assert counters.maintenance
    assert "lo" in counters.links
    assert "lo" in counters.net
    assert "lo" not in hc.counted_interfaces(counters.links)
