"""A shell on a lab host over the pooled, host-key-checked SSH connection (issue 18): a real
sshd gives it a pty of the terminal's size, `hostname` answers the lab host's name, and a
resize reaches the pty (`stty size`)."""

from __future__ import annotations

import pytest

from mvm_tui import lab
from mvm_tui.backends.reach import ssh_target
from mvm_tui.backends.ssh import SshPool
from mvm_tui.backends.ssh.shell import SshShell, SshShells
from mvm_tui.clock import within
from mvm_tui.config import load_config

pytestmark = pytest.mark.lab


async def until_said(shell: SshShell, text: bytes, seconds: float = 30.0) -> bytes:
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


async def until_ended(shell: SshShell) -> None:
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
