"""Console sessions on the simulator, below the UI: a VM's console follows the VM across a
live migration and a stop and start (saying so in the stream), a console another client holds
is not taken over by a reopening, and every session is a run in History with who, how and
where, never what was typed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mvm_tui.backends.base import ConsoleBusy
from mvm_tui.backends.sim import SimBackend
from mvm_tui.clock import VirtualClock, settle, within
from mvm_tui.config import demo_config
from mvm_tui.models import PowerAction, PowerState
from mvm_tui.runs import RunState
from mvm_tui.services.consoles.sessions import RecordedChannel
from mvm_tui.session import Session, open_session


def demo(tmp_path: Path) -> tuple[Session, SimBackend, VirtualClock]:
    clock = VirtualClock()
    session = open_session(demo_config(), demo=True, clock=clock, db_path=tmp_path / "runs.db")
    sim = session.clusters[0].backend
    assert isinstance(sim, SimBackend)
    return session, sim, clock


async def a_running_vm(sim: SimBackend) -> tuple[str, str]:
    for host in sim.hosts:
        for vm in (await sim.poll_host(host.name)).vms:
            if vm.power is PowerState.RUNNING and vm.host is not None:
                return vm.name, vm.host
    raise AssertionError("no running VM in the demo")


async def read_until(channel: RecordedChannel, text: bytes) -> bytes:
    out = b""
    while text not in out:
        data = await within(channel.read(), 5)
        assert data, f"ended ({channel.why}) having written {out!r}"
        out += data
    return out


async def test_a_console_follows_its_vm_and_its_session_is_in_history(tmp_path: Path) -> None:
    session, sim, clock = demo(tmp_path)
    cluster = session.clusters[0]
    name, host = await a_running_vm(sim)
    console = await cluster.consoles.open_console(name, force=False, via="test")
    await read_until(console, f"root@{name}".encode())
    dest = next(h.name for h in sim.hosts if h.name != host)
    migration = asyncio.create_task(sim.migrate(name, dest))
    while not migration.done():
        await clock.advance(1.0)
    await migration
    await sim.poll_host(dest)  # (what libvirt does at once: the old stream ends)
    said = await read_until(console, f"the console of {name} is open again, on {dest}".encode())
    assert f"{name} left {host}".encode() in said
    await console.write(b"hostname\r")
    await read_until(console, f"\r\n{name}\r\n".encode())

    vm = await sim.vm_info(name)
    await sim.vm_power(vm, PowerAction.POWEROFF)
    await sim.poll_host(dest)
    await read_until(console, f"{name} is shut off: the console opens again when it "
                              "starts".encode())
    reading = asyncio.create_task(read_until(console, b"open again"))
    await settle()
    await sim.vm_power(await sim.vm_info(name), PowerAction.START)
    while not reading.done():  # (the session looks again every RECHECK_S of the clock)
        await clock.advance(1.0)
    await reading
    await console.write(b"secret-typed\r")
    await read_until(console, b"secret-typed: command not found")
    await console.close()

    assert console.run_id is not None
    for _ in range(50):
        if session.store.get_run(console.run_id).finished:
            break
        await settle()
    run = session.store.get_run(console.run_id)
    assert (run.state, run.targets.vm, run.params["via"]) == (RunState.DONE, name, "test")
    lines = [line.text for line in session.store.log(run.id)]
    assert sum("open again" in line for line in lines) == 2, lines
    assert any(line.endswith("ended: the operator left it") for line in lines), lines
    assert not any("secret" in line for line in lines)
    await session.close()


async def test_a_reopening_never_takes_a_console_over(tmp_path: Path) -> None:
    session, sim, _clock = demo(tmp_path)
    cluster = session.clusters[0]
    name, _host = await a_running_vm(sim)
    console = await cluster.consoles.open_console(name, force=False, via="test")
    other = await sim.consoles().open_console(name, force=True)  # a colleague takes it
    said = await read_until(console, b"not taken over")
    assert f"another client took the console of {name} over".encode() in said
    assert await console.read() == b""
    assert "not taken over" in console.why
    await other.write(b"x")  # (still the colleague's)
    with pytest.raises(ConsoleBusy):  # (nobody took it from the colleague)
        await sim.consoles().open_console(name)
    await console.close()
    await session.close()
