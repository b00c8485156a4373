"""Creating and deleting VMs from one library image in a real lab (issue 17): copy-on-write
clones should make a VM cost the same whatever the image's size, and 10 barely more than 1.

Builds a fresh lab (root), imports the lab's Debian 12 cloud image (lab.make_cloud_image) from
the jump box (SFTP to h1, converted there), then times: the import; creating 1 VM (clone,
seed, definition, start) and deleting it; creating 10 one after the other; deleting them;
creating 10 at once (10 Runs in parallel, on the hosts the placement engine chooses) and
deleting them. The 10 are made without being
started: started, their boot (emulated here, 2 cores for 10 guests) slows everything else
down, which is not the creation's cost; the one VM is also timed with its start. Tears the
lab down at the end.
Run: .venv/bin/python bench/workloads.py [--vms 10]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from mvm_tui import lab
from mvm_tui.config import load_config
from mvm_tui.core.cloud_init import CloudInit
from mvm_tui.core.new_vm import NewVm
from mvm_tui.runs import RunState
from mvm_tui.services.cluster import Cluster
from mvm_tui.services.workloads.images import import_params, upload_path
from mvm_tui.session import measure, open_session


def request(name: str, start: bool) -> NewVm:
    return NewVm(name=name, vcpus=1, memory_mb=512, image="debian-12", disk_gb=3,
                 vlans=(100,), cloud=CloudInit(hostname=name), allow_reserve_break=True,
                 start=start)


async def create(cluster: Cluster, names: list[str], at_once: bool,
                 start: bool = False) -> float:
    await measure(cluster, 0)
    t0 = time.perf_counter()
    if at_once:  # each run's host chosen before any is made: the same snapshot for all
        params = [await cluster.new_vm_params(request(n, start)) for n in names]
        done = await asyncio.gather(*(cluster.execute(cluster.create_vm_run(p).id)
                                      for p in params))
    else:
        done = []
        for n in names:
            done.append(await cluster.execute(cluster.create_vm_run(
                await cluster.new_vm_params(request(n, start))).id))
            await measure(cluster, 0)
    took = time.perf_counter() - t0
    assert all(d.state is RunState.DONE for d in done), [d.error for d in done]
    return took


async def delete(cluster: Cluster, names: list[str]) -> float:
    await measure(cluster, 0)
    t0 = time.perf_counter()
    done = await asyncio.gather(*(cluster.execute(cluster.create_delete_run(
        cluster.delete_params(cluster.vm(n))).id) for n in names))
    took = time.perf_counter() - t0
    assert all(d.state is RunState.DONE for d in done), [d.error for d in done]
    return took


async def bench(vms: int) -> None:
    lab.down()
    info = lab.up()
    built = lab.make_cloud_image()
    with tempfile.TemporaryDirectory() as tmp:
        session = open_session(load_config(info.config_path), demo=False,
                               db_path=Path(tmp) / "runs.sqlite3")
        cluster = session.clusters[0]
        try:
            t0 = time.perf_counter()
            imported = await cluster.execute(cluster.create_import_run(import_params(
                "h1", upload_path("debian-12"), "debian-12", "Debian 12", str(built),
                built.stat().st_size)).id)
            assert imported.state is RunState.DONE, imported.error
            print(f"import of a 2 GiB image from the jump box (160 MiB qcow2 copied, 466 MiB "
                  f"of data): "
                  f"{time.perf_counter() - t0:.1f} s")
            started = await create(cluster, ["b-0"], at_once=False, start=True)
            print(f"create 1 VM and start it: {started:.2f} s")
            print(f"delete it (mark, keep, power off, undefine, trash): "
                  f"{await delete(cluster, ['b-0']):.2f} s")
            one = await create(cluster, ["b-1"], at_once=False)
            print(f"create 1 VM (clone, seed, define): {one:.2f} s")
            print(f"delete it: {await delete(cluster, ['b-1']):.2f} s")
            names = [f"s-{i}" for i in range(1, vms + 1)]
            took = await create(cluster, names, at_once=False)
            print(f"create {vms} one after the other: {took:.2f} s ({took / vms:.2f} s each)")
            print(f"delete them at once: {await delete(cluster, names):.2f} s")
            names = [f"p-{i}" for i in range(1, vms + 1)]
            took = await create(cluster, names, at_once=True)
            print(f"create {vms} at once: {took:.2f} s ({took / one:.1f} x one)")
            print(f"delete them at once: {await delete(cluster, names):.2f} s")
        finally:
            await session.close()
    lab.down()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vms", type=int, default=10)
    asyncio.run(bench(parser.parse_args().vms))


if __name__ == "__main__":
    main()
