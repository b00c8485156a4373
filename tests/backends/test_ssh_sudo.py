"""The sudo path of the SSH pool against a real in-process SSH server and a sudo look-alike
(tests/backends/ssh_server.py: prompts as sudo -S -p does, or not, per mode): the password
reaches sudo only, in every mode; a refused password is a clear AuthFailed, given once.
The real sudo is tested in tests/lab/test_lab_sudo.py."""

from __future__ import annotations

import asyncio

import pytest

from mvm_tui.backends.ssh import AuthFailed, SshOptions, SshPool, SshTarget
from tests.backends.ssh_server import SshTestServer
from tests.backends.test_ssh import target

PASSWORD = "s3cret"


def mode(server: SshTestServer, name: str) -> None:
    (server.tmp / "bin" / "sudo-mode").write_text(name)


def attempts(server: SshTestServer) -> list[str]:
    path = server.tmp / "bin" / "sudo-attempts"
    return path.read_text().splitlines() if path.exists() else []


class Asker:
    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def __call__(self, t: SshTarget, purpose: str) -> str:
        self.asked.append(purpose)
        return self.answers.pop(0)


@pytest.mark.parametrize("sudo_mode", ["default", "global", "nopasswd"])
async def test_the_password_reaches_sudo_only_and_the_command_its_own_stdin(
    server: SshTestServer, sudo_mode: str
) -> None:
    mode(server, sudo_mode)
    ask = Asker(PASSWORD)
    pool = SshPool([target(server, user="ops")], ask_password=ask)
    lines: list[tuple[str, str]] = []
    sink = lambda name, line: lines.append((name, line))  # noqa: E731
    for data in ("first\n", "second\nno newline at the end"):
        result = await pool.run("h1", ["cat"], sudo=True, stdin=data, on_line=sink)
        assert result.stdout == data
        assert result.stderr == ""
        assert result.command == "cat"
    script = 'printf "ran with %s\\n" "$1"\n'
    result = await pool.run("h1", ["sh", "-s", "--", "x y"], sudo=True, stdin=script)
    assert result.stdout == "ran with x y\n"
    assert result.stderr == ""
    # an empty stdin and none at all: the command sees its end at once
    assert (await pool.run("h1", ["cat"], sudo=True, stdin="")).stdout == ""
    assert (await pool.run("h1", ["cat"], sudo=True)).stdout == ""
    expected_asks = {"default": ["sudo"], "global": ["sudo"], "nopasswd": []}[sudo_mode]
    assert ask.asked == expected_asks
    prompts = {"default": 5, "global": 1, "nopasswd": 0}[sudo_mode]
    assert attempts(server) == [PASSWORD] * prompts
    assert pool.sudo_prompts["h1"] == prompts
    assert lines == [("stdout", "first"), ("stdout", "second"),
                     ("stdout", "no newline at the end")]
    assert all(PASSWORD not in c for c in server.commands)
    assert all(c.startswith("sudo -S -p ") for c in server.commands)
    await pool.close()


async def test_a_cached_password_never_reaches_a_command_sudo_runs_without_asking(
    server: SshTestServer,
) -> None:
    # the operator gave the password once; then sudo stops asking (a global timestamp, or
    # NOPASSWD): the old way (password first on every sudo command's stdin) fed it to `cat`
    ask = Asker(PASSWORD)
    pool = SshPool([target(server, user="ops")], ask_password=ask)
    assert (await pool.run("h1", ["id", "-un"], sudo=True)).exit_status == 0
    mode(server, "nopasswd")
    out = server.tmp / "keyring"
    await pool.run("h1", ["install", "-m", "600", "/dev/stdin", str(out)], sudo=True,
                   stdin="[client.admin]\n\tkey = AQ==\n")
    assert out.read_text() == "[client.admin]\n\tkey = AQ==\n"
    assert ask.asked == ["sudo"]
    assert attempts(server) == [PASSWORD]
    await pool.close()


async def test_a_wrong_password_is_given_once_refused_and_forgotten(
    server: SshTestServer,
) -> None:
    ask = Asker("nope", PASSWORD)
    pool = SshPool([target(server, user="ops")], ask_password=ask)
    flag = server.tmp / "ran"
    with pytest.raises(AuthFailed, match=r"h1 \(127.0.0.1:\d+\): sudo refused the password "
                                         r"of ops$"):
        await pool.run("h1", ["touch", str(flag)], sudo=True, stdin="never sent")
    assert attempts(server) == ["nope"]  # sudo asked again: nothing was written a second time
    assert not flag.exists()
    # forgotten: the next command asks again
    await pool.run("h1", ["touch", str(flag)], sudo=True)
    assert flag.exists()
    assert ask.asked == ["sudo", "sudo"]
    assert attempts(server) == ["nope", PASSWORD]
    await pool.close()


async def test_without_a_way_to_ask_sudo_gets_nothing_and_nothing_runs(
    server: SshTestServer,
) -> None:
    pool = SshPool([target(server, user="ops")])
    flag = server.tmp / "ran"
    with pytest.raises(AuthFailed, match="a sudo password is needed and none can be asked"):
        await pool.run("h1", ["touch", str(flag)], sudo=True)
    assert not flag.exists()
    assert attempts(server) == []
    mode(server, "nopasswd")  # no password needed: no need to ask
    await pool.run("h1", ["touch", str(flag)], sudo=True)
    assert flag.exists()
    await pool.close()


async def test_sudo_that_does_not_run_the_command_says_why(server: SshTestServer) -> None:
    mode(server, "refuse")
    ask = Asker(PASSWORD)
    pool = SshPool([target(server, user="ops")], ask_password=ask)
    with pytest.raises(AuthFailed, match=r"sudo did not run `true` as root: ops is not in the "
                                         r"sudoers file\.$"):
        await pool.run("h1", ["true"], sudo=True, check=False)
    assert ask.asked == []
    await pool.close()


async def test_sudo_that_refuses_after_the_password_says_why_and_forgets_it(
    server: SshTestServer,
) -> None:
    mode(server, "no-rule")
    ask = Asker(PASSWORD, PASSWORD)
    pool = SshPool([target(server, user="ops")], ask_password=ask)
    for _ in range(2):
        with pytest.raises(AuthFailed, match=r"sudo did not run `true` as root after the "
                                             r"password of ops was given: ops is not in the "
                                             r"sudoers file\.$"):
            await pool.run("h1", ["true"], sudo=True)
    assert ask.asked == ["sudo", "sudo"]
    assert attempts(server) == [PASSWORD, PASSWORD]
    await pool.close()


async def test_a_password_with_a_line_break_is_refused_before_sudo_sees_it(
    server: SshTestServer,
) -> None:
    ask = Asker(f"{PASSWORD}\nid", PASSWORD)
    pool = SshPool([target(server, user="ops")], ask_password=ask)
    with pytest.raises(AuthFailed, match="holds a line break or a NUL"):
        await pool.run("h1", ["cat"], sudo=True, stdin="data")
    assert attempts(server) == []
    assert (await pool.run("h1", ["cat"], sudo=True, stdin="data")).stdout == "data"
    await pool.close()


async def test_a_failing_command_is_a_command_failure_not_a_sudo_one(
    server: SshTestServer,
) -> None:
    pool = SshPool([target(server, user="ops")], ask_password=Asker(PASSWORD))
    result = await pool.run("h1", ["sh", "-c", "echo oops >&2; exit 3"], sudo=True,
                            check=False)
    assert (result.exit_status, result.stdout, result.stderr) == (3, "", "oops\n")
    await pool.close()


async def test_concurrent_commands_ask_for_the_password_once(server: SshTestServer) -> None:
    ask = Asker(PASSWORD)
    pool = SshPool([target(server, user="ops")], ask_password=ask)
    results = await asyncio.gather(*(pool.run("h1", ["echo", str(i)], sudo=True)
                                     for i in range(4)))
    assert [r.stdout for r in results] == ["0\n", "1\n", "2\n", "3\n"]
    assert ask.asked == ["sudo"]
    await pool.close()


async def test_the_time_spent_typing_the_password_does_not_count(
    server: SshTestServer,
) -> None:
    async def slow(t: SshTarget, purpose: str) -> str:
        await asyncio.sleep(1.5)  # an operator typing, longer than the command may take
        return PASSWORD

    pool = SshPool([target(server, user="ops")], SshOptions(command_timeout=1.0),
                   ask_password=slow)
    assert (await pool.run("h1", ["echo", "ok"], sudo=True)).stdout == "ok\n"
    await pool.close()


async def test_root_needs_no_sudo(server: SshTestServer) -> None:
    pool = SshPool([target(server)], ask_password=Asker())
    assert (await pool.run("h1", ["cat"], sudo=True, stdin="x")).stdout == "x"
    assert server.commands == ["cat"]
    await pool.close()
