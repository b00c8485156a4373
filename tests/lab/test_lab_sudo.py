"""A non-root user with real sudo 1.9 over a real sshd (lab host h1, mvm_tui.lab.sudo_user),
in each sudoers setup: the sudo password reaches sudo only. Commands that read stdin through
sudo (a keyring written from /dev/stdin as Ceph provisioning does, cat, a bash -s script that
reads on) get exactly their stdin and never the password, also when sudo no longer asks (a
global timestamp, NOPASSWD); the password is in no command line and no output line. A wrong
password is refused once, clearly, and forgotten."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator

import asyncssh
import pytest

from mvm_tui import lab
from mvm_tui.backends.ssh import AuthFailed, SshPool, SshTarget
from mvm_tui.backends.ssh.pool import Purpose
from mvm_tui.clock import within
from mvm_tui.lab import sudo_user
from mvm_tui.lab.netns import hx
from mvm_tui.services.preflight import PreflightHost, PreflightSpec, run_preflight

pytestmark = pytest.mark.lab
PASSWORD = "lab-" + secrets.token_urlsafe(12)
KEYRING = "/run/mvm-tui/sudo-test/ceph.client.admin.keyring"  # a per-host directory
# bash -s reads its script line by line: `read` takes the script's next line as its data
SCRIPT = 'echo "ran as $(id -u) with $1"\nread -r line\nthe next line\necho "then read: $line"\n'


class RecordingPool(SshPool):
    """The pool, keeping every command line it sends (to prove the password is in none)."""

    sent: list[str]

    async def _start(self, t: SshTarget, cmd: str) -> asyncssh.SSHClientProcess[str]:
        self.sent = [*getattr(self, "sent", []), cmd]
        return await super()._start(t, cmd)


class Asker:
    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def __call__(self, t: SshTarget, purpose: Purpose) -> str:
        self.asked.append(purpose)
        return self.answers.pop(0)


def on_host(index: int, *cmd: str) -> str:
    return subprocess.run(hx(index, *cmd), capture_output=True, text=True, timeout=30,
                          check=True).stdout


@pytest.fixture
def h1(lab_info: lab.LabInfo) -> Iterator[lab.LabHost]:
    h = lab_info.host("h1")
    yield h
    sudo_user.disable(h.index)
    subprocess.run(hx(h.index, "rm", "-rf", "/run/mvm-tui/sudo-test"), check=False)


def pool_as_operator(h: lab.LabHost, ask: Asker) -> RecordingPool:
    return RecordingPool([SshTarget(h.name, h.address, h.port, sudo_user.USER, h.key_file,
                                    h.known_hosts)], ask_password=ask)


# prompts over the 8 sudo commands of the test: NOPASSWD for some commands does not spare
# one, as sudo runs `sh` (the wrapper that prints the success marker), which it does not name
PROMPTS = {"default": 8, "global": 1, "nopasswd-some": 8, "nopasswd-all": 0}


@pytest.mark.parametrize("setup", sudo_user.SETUPS)
async def test_the_sudo_password_reaches_sudo_only(h1: lab.LabHost, setup: str) -> None:
    sudo_user.enable(h1.index, setup, PASSWORD)
    ask = Asker(PASSWORD)
    pool = pool_as_operator(h1, ask)
    lines: list[tuple[str, str]] = []
    outputs: list[str] = []
    expected_stdout: list[str] = []

    def sink(stream: str, line: str) -> None:
        lines.append((stream, line))

    try:
        assert (await pool.run(h1.name, ["id", "-un"])).stdout == f"{sudo_user.USER}\n"
        for _ in range(2):  # the second time sudo's timestamp is fresh
            who = await pool.run(h1.name, ["id", "-u"], sudo=True, on_line=sink)
            assert who.stdout == "0\n"
            keyring = f"[client.admin]\n\tkey = {secrets.token_hex(20)}==\n"
            await pool.run(h1.name, ["install", "-D", "-m", "600", "/dev/stdin", KEYRING],
                           sudo=True, stdin=keyring, on_line=sink)
            assert on_host(h1.index, "cat", KEYRING) == keyring
            assert on_host(h1.index, "stat", "-c", "%U %a", KEYRING) == "root 600\n"
            echoed = await pool.run(h1.name, ["cat"], sudo=True, stdin=keyring, on_line=sink)
            assert echoed.stdout == keyring
            ran = await pool.run(h1.name, ["bash", "-s", "--", "x y"], sudo=True,
                                 stdin=SCRIPT, on_line=sink)
            assert ran.stdout == "ran as 0 with x y\nthen read: the next line\n"
            assert "command not found" not in ran.stderr
            outputs += [who.stdout, who.stderr, echoed.stderr, ran.stderr]
            expected_stdout += ["0", *keyring.splitlines(), "ran as 0 with x y",
                                "then read: the next line"]
    finally:
        await pool.close()
    assert pool.sudo_prompts[h1.name] == PROMPTS[setup]
    assert ask.asked == ([] if setup == "nopasswd-all" else ["sudo"])
    assert not any(PASSWORD in c for c in pool.sent)
    assert all(c.startswith("sudo -S -p ") for c in pool.sent[1:])
    assert not any(PASSWORD in text for _, text in lines)
    assert not any(PASSWORD in text for text in outputs)
    # only the commands' own output came through: no marker, no prompt
    assert [text for stream, text in lines if stream == "stdout"] == expected_stdout


async def test_a_wrong_sudo_password_is_refused_once_and_forgotten(h1: lab.LabHost) -> None:
    sudo_user.enable(h1.index, "default", PASSWORD)
    ask = Asker("not-the-password", PASSWORD)
    pool = pool_as_operator(h1, ask)
    try:
        with pytest.raises(AuthFailed, match=r"h1 \(10\.213\.0\.11:22\): sudo refused the "
                                             r"password of mvmlab-op$"):
            await pool.run(h1.name, ["install", "-D", "-m", "600", "/dev/stdin", KEYRING],
                           sudo=True, stdin="never sent\n")
        assert pool.sudo_prompts[h1.name] == 1
        assert on_host(h1.index, "sh", "-c", f"test -e {KEYRING} && echo there || echo absent"
                       ) == "absent\n"
        done = await within(
            pool.run(h1.name, ["install", "-D", "-m", "600", "/dev/stdin", KEYRING],
                     sudo=True, stdin="sent now\n"), 30)
        assert done.exit_status == 0
        assert on_host(h1.index, "cat", KEYRING) == "sent now\n"
        assert ask.asked == ["sudo", "sudo"]
    finally:
        await pool.close()


@pytest.mark.parametrize(("setup", "status"), [("nopasswd-some", "ok"), ("global", "ok"),
                                                (sudo_user.NO_RULE, "fail")])
async def test_preflight_checks_sudo_of_a_non_root_user(h1: lab.LabHost, setup: str,
                                                        status: str) -> None:
    sudo_user.enable(h1.index, setup, PASSWORD)
    spec = PreflightSpec((PreflightHost(h1.name, h1.address, h1.port, sudo_user.USER,
                                        h1.key_file, password=PASSWORD),),
                         (), ("eth0",), h1.known_hosts)
    [report] = await run_preflight(spec)
    sudo = next(i for i in report.items if i.check == "sudo")
    assert sudo.status == status, sudo
    if status == "ok":
        assert sudo.detail == "works"
    else:
        assert sudo.detail.endswith(
            "sudo did not run `true` as root after the password of mvmlab-op was given: "
            "mvmlab-op is not in the sudoers file."), sudo.detail
        assert PASSWORD not in sudo.detail
