"""The real poll (backends/libvirt: collect, in libvirt's own process) on libvirt's test
driver: 64 hosts of 78 domains each, with every domain's XML read and parsed and every VM
sent at each poll (--no-reuse: as before issue 16), or only what changed (the default).

Prints, per host poll: the CPU of libvirt's process (the child: its threads' run time from
/proc, ns) and of this process (the parent: receiving and unpickling the poll, the event
loop), median and p95, polls made one at a time, when nothing changed and when a few domains
changed (3 placement writes per host before each poll); the wall time and CPU of a round of
every host polled at once; and unpickling one host's whole poll alone (what the parent did at
every poll before, now only for the VMs that changed: poll_reply.py).
Run: .venv/bin/python bench/real_poll.py [--hosts 64] [--domains 78] [--rounds 10] [--no-reuse]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import pickle
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from mvm_tui.backends.libvirt import LibvirtNode
from mvm_tui.backends.libvirt.apart import LibvirtApart
from mvm_tui.models import Placement

DOMAIN = """
  <domain type='test'>
    <name>vm-{i:03d}</name>
    <uuid>8f0c6a52-1b7e-4b8e-9d55-0a{i:010d}</uuid>
    <metadata>
      <mvm:placement xmlns:mvm="https://mvm-tui.dev/xmlns/placement/1" strategy="{strategy}"
                     home="hv1"/>
    </metadata>
    <memory unit='MiB'>{mem}</memory>
    <currentMemory unit='MiB'>{mem}</currentMemory>
    <vcpu>{vcpus}</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
    <devices>
      <disk type='network' device='disk'>
        <driver name='qemu' type='raw'/>
        <source protocol='rbd' name='vms/vm-{i:03d}'><host name='192.0.2.11' port='6789'/></source>
        <target dev='vda' bus='virtio'/>
      </disk>
      <disk type='file' device='disk'>
        <driver name='qemu' type='qcow2'/>
        <source file='/var/lib/libvirt/images/vm-{i:03d}-data.qcow2'/>
        <target dev='vdb' bus='virtio'/>
      </disk>
      <disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk>
      <interface type='bridge'>
        <mac address='52:54:00:aa:{hi:02x}:{lo:02x}'/>
        <source bridge='br-vm'/>
        <vlan><tag id='100'/></vlan>
        <model type='virtio'/>
      </interface>
    </devices>
  </domain>"""


def node_xml(domains: int) -> str:
    body = "".join(
        DOMAIN.format(i=i, strategy=("auto", "failover", "pinned")[i % 3], mem=512 * (1 + i % 8),
                      vcpus=1 + i % 4, hi=i // 256, lo=i % 256)
        for i in range(domains))
    return f"""<node>
  <cpu><mhz>2400</mhz><model>x86_64</model><nodes>1</nodes><sockets>2</sockets>
    <cores>16</cores><threads>2</threads><active>64</active></cpu>
  <memory>536870912</memory>{body}
</node>"""


def child_cpu_ns(pid: int) -> int:
    """The run time of every thread of a process so far (sum of /proc/.../schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, IndexError, ValueError):  # (a thread that ended)
            total += int((task / "schedstat").read_text().split()[0])
    return total


def figures(label: str, ms: list[float]) -> str:
    p95 = statistics.quantiles(ms, n=20)[-1] if len(ms) > 1 else ms[0]
    return f"{label}: median {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms"


async def one_at_a_time(nodes: list[LibvirtNode], pid: int, rounds: int,
                        before: Callable[[LibvirtNode, int], Awaitable[None]] | None
                        ) -> tuple[list[float], list[float]]:
    child: list[float] = []
    parent: list[float] = []
    for r in range(rounds):
        for node in nodes:
            if before is not None:
                await before(node, r)
            c0, p0 = child_cpu_ns(pid), time.process_time()
            await node.poll()
            parent.append((time.process_time() - p0) * 1000)
            child.append((child_cpu_ns(pid) - c0) / 1e6)
    return child, parent


async def change_a_few(node: LibvirtNode, r: int) -> None:
    for i in range(3):
        vm = f"vm-{(r * 3 + i) * 7 % 78:03d}"
        await node.set_placement(vm, (Placement.AUTO, Placement.FAILOVER)[r % 2], "hv1")


async def bench(hosts: int, domains: int, rounds: int, reuse: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "node.xml"
        path.write_text(node_xml(domains))
        apart = LibvirtApart("bench")
        nodes = [LibvirtNode(apart.host(f"hv{i}", f"test://{path}"), incremental=reuse)
                 for i in range(hosts)]
        try:
            for _ in range(2):  # connect, first rates, the XML kept
                await asyncio.gather(*(n.poll() for n in nodes))
            assert apart._proc is not None
            pid = apart._proc.pid
            mode = ("only what changed read and sent" if reuse
                    else "every XML read, every VM sent at every poll (--no-reuse)")
            print(f"{hosts} hosts x {domains} domains, libvirt's test driver; {mode}")
            child, parent = await one_at_a_time(nodes, pid, rounds, None)
            print(figures("  nothing changed, child CPU per host poll ", child))
            print(figures("  nothing changed, parent CPU per host poll", parent))
            child, parent = await one_at_a_time(nodes, pid, rounds, change_a_few)
            print(figures("  3 changed, child CPU per host poll       ", child))
            print(figures("  3 changed, parent CPU per host poll      ", parent))
            wall: list[float] = []
            cpu: list[float] = []
            for _ in range(rounds):
                c0, p0, t0 = child_cpu_ns(pid), time.process_time(), time.perf_counter()
                await asyncio.gather(*(n.poll() for n in nodes))
                wall.append((time.perf_counter() - t0) * 1000)
                cpu.append((child_cpu_ns(pid) - c0) / 1e6 + (time.process_time() - p0) * 1000)
            print(figures(f"  a round of {hosts} hosts at once, wall  ", wall))
            print(figures(f"  a round of {hosts} hosts, CPU (both)    ", cpu))
            data = pickle.dumps(await nodes[0].poll(), protocol=pickle.HIGHEST_PROTOCOL)
            times = []
            for _ in range(50):
                t0 = time.perf_counter()
                pickle.loads(data)
                times.append((time.perf_counter() - t0) * 1000)
            print(figures(f"  parent: unpickling one host's whole poll ({len(data) // 1024} KiB, "
                          "what crossed at every poll before)", times))
        finally:
            await apart.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=64)
    parser.add_argument("--domains", type=int, default=78)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--no-reuse", action="store_true")
    args = parser.parse_args()
    asyncio.run(bench(args.hosts, args.domains, args.rounds, not args.no_reuse))


if __name__ == "__main__":
    main()
