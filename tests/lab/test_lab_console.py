"""Consoles on the lab (issue 18).

A shell on a lab host over the pooled, host-key-checked SSH connection: a real sshd gives it a
pty of the terminal's size, `hostname` answers the lab host's name, and a resize reaches the
pty (`stty size`).

A VM's serial console over its host's libvirt connection (libvirt's process apart): a typed
command's output comes back; a second client is refused unless it takes the console over,
which ends the first; a guest reboot keeps the stream, and the boot messages appear on it; a
live migration ends the stream on the old host, and the session opens it again on the new one
(and says so), recorded in History with who and how, not what was typed."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mvm_tui import lab
from mvm_tui.backends.base import ConsoleBusy
from mvm_tui.backends.capabilities import ConsoleChannel
from mvm_tui.backends.reach import ssh_target
from mvm_tui.backends.real import RealBackend
from mvm_tui.backends.ssh import SshPool
from mvm_tui.backends.ssh.shell import SshShells
from mvm_tui.clock import within
from mvm_tui.config import load_config
from mvm_tui.core.graphics_tunnel import JumpBox, graphics_access
from mvm_tui.lab.guests import guest_xml
from mvm_tui.lab.netns import hx
from mvm_tui.runs import RunChanged, RunState, RunStore
from mvm_tui.session import Session
from mvm_tui.widgets.graphics import host_route
from tests.lab.placing import put_running_on

pytestmark = pytest.mark.lab


async def until_said(shell: ConsoleChannel, text: bytes, seconds: float = 30.0) -> bytes:
    """What the shell wrote, read until `text` is in it."""
    out = b""

    async def read() -> None:
        nonlocal out
        while text not in out:
            data = await shell.read()
            assert data, f"the shell ended, having written {out!r}"
            out += data

    try:
        await within(read(), seconds)
    except TimeoutError:
        raise AssertionError(f"{text!r} not written in {seconds:g} s; written: {out!r}") from None
    return out


async def until_prompt(console: ConsoleChannel) -> None:
    """The guest's shell prompt, once it has booted (what is typed before its shell runs is
    lost: Enter again every 2 s)."""
    for _ in range(60):
        await console.write(b"\r")
        try:
            await until_said(console, b"/ # ", 2)
        except AssertionError:
            continue
        return
    raise AssertionError("no shell prompt on the guest's console in 120 s")


async def until_ended(shell: ConsoleChannel) -> None:
    while await shell.read():
        pass


async def test_a_shell_on_a_lab_host(lab_info: lab.LabInfo) -> None:
    cluster = load_config(lab_info.config_path).clusters[0]
    pool = SshPool([ssh_target(cluster, "h1")])
    try:
        name = (await pool.run("h1", ["hostname"])).stdout.strip()
        shell = await SshShells(pool).open_shell("h1", 100, 30)
        try:
            await shell.write(b"echo $TERM; hostname\r")
            out = await until_said(shell, f"\n{name}\r\n".encode())
            assert b"xterm-256color" in out
            await shell.write(b"stty size\r")
            await until_said(shell, b"30 100\r\n")  # (after the echoed command)
            await shell.resize(120, 40)
            await shell.write(b"stty size\r")
            await until_said(shell, b"40 120\r\n")
            await shell.write(b"exit\r")
            await within(until_ended(shell), 10)  # (else TimeoutError)
        finally:
            await shell.close()
        assert pool.connects["h1"] == 1  # the pooled connection: the shell opened none
    finally:
        await pool.close()


async def test_a_vm_console_follows_its_vm(lab_session: Session, lab_info: lab.LabInfo) -> None:
    cluster = lab_session.clusters[0]
    backend = cluster.backend
    await put_running_on(backend, "tiny-linux", "h3")
    consoles = backend.consoles()
    assert consoles is not None
    first = await consoles.open_console("tiny-linux")
    try:
        await until_prompt(first)
        await first.write(b"echo mvm-$((6*7))\r")  # (the echo shows the command, not 42)
        await until_said(first, b"\nmvm-42")
        with pytest.raises(ConsoleBusy):
            await consoles.open_console("tiny-linux")
        second = await consoles.open_console("tiny-linux", force=True)
        await within(until_ended(first), 30)  # taken over: it ended
    finally:
        await first.close()
    assert "tiny-linux" in first.why
    try:
        await second.write(b"reboot -f\r")  # the same QEMU process: the stream goes on
        booted = await until_said(second, b"mvmlab-guest: shell on ttyS0", 120)
        assert b"Linux version" in booted
    finally:
        await second.close()
    kept = await consoles.boot_log("tiny-linux")  # (the host's serial log, read over SSH)
    assert kept.source == "h3:/var/log/libvirt/qemu/tiny-linux-serial.log"
    assert kept.text.count("mvmlab-guest: shell on ttyS0") >= 2  # (both boots)

    dest = "h1"
    session = await cluster.consoles.open_console("tiny-linux", force=False, via="lab test")
    await until_prompt(session)
    run_id = session.run_id
    assert run_id is not None
    recorded = asyncio.Event()
    cluster.executor.subscribe(lambda e: recorded.set() if isinstance(e, RunChanged)
                               and e.run.id == run_id and e.run.finished else None)
    try:
        await session.write(b"echo on-$((40+3))\r")
        await until_said(session, b"on-43")
        await backend.migrate("tiny-linux", dest)
        await until_said(session, f"the console of tiny-linux is open again, on {dest}"
                         .encode(), 60)
        await session.write(b"echo moved-$((6*8))\r")
        await until_said(session, b"moved-48")
    finally:
        await session.close()
        await put_running_on(backend, "tiny-linux", "h3")
    await within(recorded.wait(), 10)
    run = lab_session.store.get_run(run_id)
    assert (run.state, run.targets.vm, run.params["via"]) == (RunState.DONE, "tiny-linux",
                                                              "lab test")
    lines = [line.text for line in lab_session.store.log(run.id)]
    assert any(f"open again, on {dest}" in line for line in lines), lines
    assert any("ended: the operator left it" in line for line in lines), lines
    assert not any("moved-" in line for line in lines)  # (never what was typed)


async def test_a_vm_vnc_display_is_where_vm_detail_says(lab_session: Session,
                                                      lab_info: lab.LabInfo) -> None:
    """A guest with VNC on its host's 127.0.0.1 (libvirt's default; a transient one, gone
    when destroyed): the port the poll read from its live XML answers as a VNC server there
    (reached over the host's pooled SSH connection, as the tunnel VM detail shows would reach
    it), and the tunnel logs in to that host and forwards to that port."""
    backend = lab_session.clusters[0].backend
    assert isinstance(backend, RealBackend)
    xml = guest_xml("vnc-1", "nodisk").replace(
        "</devices>", "<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>"
        "</devices>")
    h3 = lab_info.host("h3").index
    virsh = ("virsh", "-q", "-c", "qemu:///system")
    await asyncio.to_thread(subprocess.run, hx(h3, *virsh, "create", "/dev/stdin"), input=xml,
                            text=True, check=True, capture_output=True, timeout=60)
    try:
        await _vnc_reached(lab_session, backend)
    finally:
        await asyncio.to_thread(subprocess.run, hx(h3, *virsh, "destroy", "vnc-1"),
                                capture_output=True, timeout=60)


async def _vnc_reached(lab_session: Session, backend: RealBackend) -> None:
    vm = await backend.vm_info("vnc-1")
    (vnc,) = vm.graphics
    assert (vnc.kind, vnc.listen) == ("vnc", "127.0.0.1")
    assert vnc.port is not None
    assert vnc.port >= 5900
    conn = await backend.ssh.connection("h3")
    reader, writer = await conn.open_connection(vnc.listen, vnc.port)
    try:
        assert (await within(reader.readexactly(12), 10)).startswith(b"RFB 003.")
    finally:
        writer.close()
    config = lab_session.clusters[0].config
    route = host_route(config, "h3")
    assert route is not None
    access = graphics_access(vnc, route, JumpBox("jump.example", "ops"))
    assert access.command is not None
    assert f"-L {vnc.port + 10000}:127.0.0.1:{vnc.port}" in access.command
    assert access.command.endswith(f"root@{route.address}")
    assert access.uri == f"vnc://localhost:{vnc.port + 10000}"


async def test_headless_console_and_shell_on_the_lab(lab_session: Session,
                                                     lab_info: lab.LabInfo,
                                                     tmp_path: Path) -> None:
    """`mvm-tui shell HOST` and `mvm-tui console VM` from a script, on the lab's real hosts:
    commands piped in, their answers printed, each session in History."""
    backend = lab_session.clusters[0].backend
    await put_running_on(backend, "tiny-linux", "h3")
    consoles = backend.consoles()
    assert consoles is not None
    booted = await consoles.open_console("tiny-linux")  # (what is typed while it boots is lost)
    try:
        await until_prompt(booted)
    finally:
        await booted.close()
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path)}
    base = [sys.executable, "-m", "mvm_tui.cli", "--config", str(lab_info.config_path)]

    def run(*args: str, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([*base, *args], input=stdin, capture_output=True, timeout=120,
                              env=env)

    shell = await asyncio.to_thread(run, "shell", "h1", "--wait", "3",
                                    stdin=b"hostname; echo sum-$((2+3))\r")
    assert shell.returncode == 0, shell.stderr
    assert b"mvmlab-h1\r\nsum-5\r\n" in shell.stdout  # (after bash's bracketed-paste mark)
    console = await asyncio.to_thread(run, "console", "tiny-linux", "--wait", "5",
                                      stdin=b"echo vm-$((6*7))\r")
    assert console.returncode == 0, console.stderr
    assert b"\nvm-42\r\n" in console.stdout, console.stdout[-400:]
    store = RunStore(tmp_path / "mvm-tui" / "runs.sqlite3")
    titles = {r.title: r.params["via"] for r in store.list_runs()}
    store.close()
    assert titles == {"Shell on host h1": "CLI", "Console of VM tiny-linux": "CLI"}
