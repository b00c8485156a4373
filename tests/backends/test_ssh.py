"""SSH pool against a real in-process SSH server: host keys, auth, quoting, streaming,
timeouts, reconnects (sudo: test_ssh_sudo.py)."""

from __future__ import annotations

import asyncio
import logging
import socket
import stat
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncssh
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mvm_tui.backends.base import HostUnreachable
from mvm_tui.backends.ssh import (
    AuthFailed,
    CommandFailed,
    CommandTimeout,
    HostKeyChanged,
    HostKeyUnknown,
    SshOptions,
    SshPool,
    SshTarget,
    hostkeys,
)
from tests.backends.ssh_server import SshTestServer

HOSTILE = [
    "/dev/sdb; reboot",
    "$(id)",
    "`id`",
    "a'b\"c",
    "new\nline",
    "*",
    "~root",
    "--flag",
    " spaced  out ",
    "",
    "${HOME}",
    "a|b&c>d<e",
    "ü ☃",
]


def target(
    srv: SshTestServer, *, known: bool = True, user: str = "root", **kw: object
) -> SshTarget:
    known_hosts = srv.tmp / "known_hosts"
    if known and not known_hosts.exists():
        known_hosts.write_text(srv.known_hosts_line())
    args: dict[str, object] = {"key_file": srv.key_file, **kw}
    return SshTarget("h1", "127.0.0.1", srv.port, user, known_hosts=known_hosts, **args)  # type: ignore[arg-type]


@pytest.fixture
async def pool(server: SshTestServer) -> AsyncIterator[SshPool]:
    p = SshPool([target(server)], SshOptions(connect_timeout=5, command_timeout=20))
    yield p
    await p.close()


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


# -- commands and quoting -------------------------------------------------------------------


async def test_hostile_arguments_arrive_as_one_literal_word_each(pool: SshPool) -> None:
    result = await pool.run("h1", ["printf", "%s\\0", *HOSTILE])
    assert result.stdout.split("\0")[:-1] == HOSTILE
    assert result.exit_status == 0


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(args=st.lists(st.text(st.characters(blacklist_characters="\0",
                                            blacklist_categories=["Cs"]), max_size=12),
                     min_size=1, max_size=4))
async def test_any_argument_round_trips(pool: SshPool, args: list[str]) -> None:
    result = await pool.run("h1", ["printf", "%s\\0", *args])
    assert result.stdout.split("\0")[:-1] == args


async def test_a_nul_byte_is_refused_before_anything_runs(
    pool: SshPool, server: SshTestServer
) -> None:
    with pytest.raises(ValueError, match="NUL"):
        await pool.run("h1", ["echo", "a\0b"])
    assert pool.connects["h1"] == 0
    assert server.commands == []


async def test_failed_command_carries_status_and_stderr(pool: SshPool) -> None:
    with pytest.raises(CommandFailed) as failed:
        await pool.run("h1", ["sh", "-c", "echo oops >&2; exit 3"])
    assert failed.value.exit_status == 3
    assert "oops" in str(failed.value)
    unchecked = await pool.run("h1", ["sh", "-c", "echo out; exit 4"], check=False)
    assert (unchecked.exit_status, unchecked.stdout) == (4, "out\n")


async def test_output_streams_line_by_line_while_the_command_runs(pool: SshPool) -> None:
    lines: list[tuple[str, str]] = []
    task = asyncio.create_task(pool.run(
        "h1", ["sh", "-c", "echo one; echo err >&2; sleep 30"],
        on_line=lambda stream, line: lines.append((stream, line)),
    ))
    await wait_for(lambda: len(lines) == 2)
    assert sorted(lines) == [("stderr", "err"), ("stdout", "one")]
    assert not task.done()
    task.cancel()


async def test_stdin_reaches_the_command(pool: SshPool) -> None:
    result = await pool.run("h1", ["cat"], stdin="line 1\nline 2\n")
    assert result.stdout == "line 1\nline 2\n"


async def test_timeout_stops_the_command_and_the_connection_stays_usable(
    pool: SshPool,
) -> None:
    started = time.monotonic()
    with pytest.raises(CommandTimeout, match=r"did not end within 0\.5 s"):
        await pool.run("h1", ["sleep", "30"], timeout=0.5)
    assert time.monotonic() - started < 5
    assert (await pool.run("h1", ["echo", "still here"])).stdout == "still here\n"
    assert pool.connects["h1"] == 1


# -- one connection per host ------------------------------------------------------------------


async def test_one_connection_serves_every_command(pool: SshPool, server: SshTestServer) -> None:
    for i in range(5):
        assert (await pool.run("h1", ["echo", str(i)])).stdout == f"{i}\n"
    results = await asyncio.gather(*(pool.run("h1", ["echo", str(i)]) for i in range(10)))
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(10)]
    assert pool.connects["h1"] == 1
    assert len(server.connections) == 1


async def test_reconnects_after_the_connection_dropped(
    pool: SshPool, server: SshTestServer
) -> None:
    await pool.run("h1", ["true"])
    server.drop_connections()
    conn = await pool.connection("h1")
    await wait_for(conn.is_closed)
    assert (await pool.run("h1", ["echo", "back"])).stdout == "back\n"
    assert pool.connects["h1"] == 2


# -- host keys ------------------------------------------------------------------------------


async def test_unknown_host_key_is_shown_and_saved_only_when_accepted(
    server: SshTestServer,
) -> None:
    known_hosts = server.tmp / "known_hosts"
    known_hosts.write_text("")
    pool = SshPool([target(server)])
    with pytest.raises(HostKeyUnknown) as unknown:
        await pool.run("h1", ["true"])
    assert unknown.value.fingerprint == server.fingerprint
    assert unknown.value.fingerprint.startswith("SHA256:")
    assert server.commands == []
    assert known_hosts.read_text() == ""
    hostkeys.accept(unknown.value)
    assert known_hosts.read_text() == server.known_hosts_line()
    assert stat.S_IMODE(known_hosts.stat().st_mode) == 0o600
    assert (await pool.run("h1", ["echo", "ok"])).stdout == "ok\n"
    await pool.close()


async def test_changed_host_key_is_refused(server: SshTestServer) -> None:
    known_hosts = server.tmp / "known_hosts"
    other = asyncssh.generate_private_key("ssh-ed25519")
    known_hosts.write_text(server.known_hosts_line(other))
    pool = SshPool([target(server)])
    with pytest.raises(HostKeyChanged, match="HOST KEY CHANGED") as changed:
        await pool.run("h1", ["true"])
    assert changed.value.fingerprint == server.fingerprint
    assert server.commands == []
    assert known_hosts.read_text() == server.known_hosts_line(other)


# -- authentication --------------------------------------------------------------------------


async def test_wrong_key_fails_authentication(server: SshTestServer) -> None:
    wrong = server.tmp / "wrong_key"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(wrong))
    wrong.chmod(0o600)
    pool = SshPool([target(server, key_file=wrong)])
    with pytest.raises(AuthFailed, match=r"authentication as root with key .*wrong_key failed"):
        await pool.run("h1", ["true"])
    assert server.commands == []


async def test_password_is_asked_once_and_kept_in_memory_only(
    server: SshTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.password = "correct horse"
    asked: list[str] = []

    async def ask(t: SshTarget, purpose: str) -> str:
        asked.append(purpose)
        return "correct horse"

    caplog.set_level(logging.DEBUG)
    t = target(server, key_file=None, password_auth=True)
    pool = SshPool([t], ask_password=ask)
    for _ in range(3):
        assert (await pool.run("h1", ["echo", "in"])).stdout == "in\n"
    server.drop_connections()
    await wait_for((await pool.connection("h1")).is_closed)
    await pool.run("h1", ["true"])
    assert asked == ["login"]
    assert "correct horse" not in caplog.text
    assert not any(b"correct horse" in p.read_bytes() for p in server.tmp.rglob("*") if p.is_file())
    await pool.close()


async def test_wrong_password_fails_and_is_forgotten(server: SshTestServer) -> None:
    server.password = "right"
    answers = iter(["wrong", "right"])

    async def ask(t: SshTarget, purpose: str) -> str:
        return next(answers)

    pool = SshPool([target(server, key_file=None, password_auth=True)],
                   ask_password=ask)
    with pytest.raises(AuthFailed, match="with password failed"):
        await pool.run("h1", ["true"])
    assert (await pool.run("h1", ["echo", "second try"])).stdout == "second try\n"
    await pool.close()


# -- unreachable hosts -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_missing_key_file_is_named(server: SshTestServer) -> None:
    pool = SshPool([target(server, key_file=server.tmp / "absent")])
    with pytest.raises(AuthFailed, match=r"key file .*absent does not exist"):
        await pool.run("h1", ["true"])


async def test_nothing_listening_is_unreachable(tmp_path: Path) -> None:
    t = SshTarget("h9", "127.0.0.1", free_port(), known_hosts=tmp_path / "kh")
    pool = SshPool([t])
    with pytest.raises(HostUnreachable, match=r"h9 \(127.0.0.1:\d+\): connection refused"):
        await pool.run("h9", ["true"])


async def test_a_host_that_never_answers_times_out(tmp_path: Path) -> None:
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    pool = SshPool([SshTarget("h9", "127.0.0.1", port, known_hosts=tmp_path / "kh")],
                   SshOptions(connect_timeout=0.5))
    started = time.monotonic()
    with pytest.raises(HostUnreachable, match="timed out"):
        await pool.run("h9", ["true"])
    assert time.monotonic() - started < 5
    silent.close()


async def test_a_key_the_policy_accepts_is_saved_and_used(server: SshTestServer) -> None:
    known_hosts = server.tmp / "known_hosts"
    known_hosts.write_text("")
    shown: list[str] = []

    async def trust(unknown: HostKeyUnknown) -> bool:
        shown.append(unknown.fingerprint)
        return True

    pool = SshPool([target(server)], unknown_key=trust)
    assert (await pool.run("h1", ["echo", "hi"])).stdout == "hi\n"
    assert shown == [server.fingerprint]
    assert known_hosts.read_text() == server.known_hosts_line()
    await pool.close()


async def test_a_key_the_policy_refuses_stops_everything(server: SshTestServer) -> None:
    (server.tmp / "known_hosts").write_text("")

    async def refuse(unknown: HostKeyUnknown) -> bool:
        return False

    pool = SshPool([target(server)], unknown_key=refuse)
    with pytest.raises(HostKeyUnknown):
        await pool.run("h1", ["true"])
    assert server.commands == []
    assert (server.tmp / "known_hosts").read_text() == ""


async def test_proxy_jump_goes_through_the_bastion(server: SshTestServer) -> None:
    # the in-process server is both the bastion and, through it, the host
    pool = SshPool([target(server, proxy_jump=f"root@127.0.0.1:{server.port}")])
    assert (await pool.run("h1", ["echo", "behind"])).stdout == "behind\n"
    await pool.run("h1", ["true"])
    assert server.forwards == [("127.0.0.1", server.port)]  # one tunnel, reused
    assert len(server.connections) == 2  # the bastion's and the host's, through it
    await pool.close()


async def test_an_unreachable_bastion_is_named(server: SshTestServer) -> None:
    port = free_port()
    pool = SshPool([target(server, proxy_jump=f"127.0.0.1:{port}")])
    with pytest.raises(HostUnreachable, match=rf"bastion 127.0.0.1 of h1 \(127.0.0.1:{port}\)"):
        await pool.run("h1", ["true"])
