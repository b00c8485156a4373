"""A non-root login with real sudo on a lab host, under one of four sudoers setups.

`enable(index, setup, password)` gives lab host hN the user mvmlab-op (the lab's SSH key logs
it in, like root) whose sudo password is `password`, with the sudoers rules of `setup`:

- "default": `ALL` with the password (sudo's default: the timestamp is per terminal, and
  with no terminal per parent process, so every command over SSH asks);
- "global": the same with `timestamp_type=global` (one password, then no prompt for a while);
- "nopasswd-some": `ALL` with the password, and `NOPASSWD` for cat, install, bash and tee;
- "nopasswd-all": `NOPASSWD: ALL`;
- "none" (NO_RULE): no rule at all (sudo refuses the user).

Only the host's own mount namespace changes: copies of /etc/passwd and /etc/shadow with the
user added, and a directory of its own for /etc/sudoers.d, are bind-mounted there; sudo keeps
its timestamps and lecture records in the host's own /run/mvmlab. The machine's files are never
touched. `enable` again switches the setup (and forgets sudo's timestamps); `disable` removes
it all. A host that is powered off and restored comes back without the user.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from mvm_tui.lab.model import LabError, host_dir
from mvm_tui.lab.netns import hx

USER = "mvmlab-op"
GROUP_ID = 100  # users
SETUPS = ("default", "global", "nopasswd-some", "nopasswd-all")
NO_RULE = "none"  # a user that sudo knows no rule for
NOPASSWD_SOME = ("/usr/bin/cat", "/usr/bin/install", "/usr/bin/bash", "/usr/bin/tee")
_MOUNTS = ("/etc/passwd", "/etc/shadow", "/etc/sudoers.d")


def _dir(index: int) -> Path:
    """Its files, as the jump box sees them: in the host's own /run/mvmlab (IN_HOST there;
    the rest of the lab directory is hidden from the host)."""
    return host_dir(index) / "run-lab" / "sudo-user"


IN_HOST = Path("/run/mvmlab/sudo-user")


def _anchor(index: int) -> str:
    return (host_dir(index) / "anchor.pid").read_text().strip()


def _sh(index: int, *cmd: str | Path, stdin: str | None = None) -> str:
    done = subprocess.run(hx(index, *cmd), input=stdin, capture_output=True, text=True,
                          timeout=30, check=False)
    if done.returncode != 0:
        raise LabError(f"h{index}: {' '.join(map(str, cmd))} failed: {done.stderr.strip()}")
    return done.stdout


def _free_uid() -> int:
    used = {int(line.split(":")[2]) for line in Path("/etc/passwd").read_text().splitlines()
            if line.count(":") >= 2 and line.split(":")[2].isdigit()}
    return next(uid for uid in range(4213, 60000) if uid not in used)


def sudoers(setup: str, index: int) -> str:
    """The sudoers rules of a setup for lab host hN."""
    if setup not in (*SETUPS, NO_RULE):
        raise LabError(f"unknown sudoers setup {setup!r}: one of {', '.join(SETUPS)}, "
                       f"{NO_RULE}")
    d = IN_HOST  # (sudo reads these paths inside the host)
    rules = [
        f"Defaults:{USER} timestampdir={d / 'ts'}, lecture_status_dir={d / 'lectured'}",
        f"Defaults:{USER} lecture=always",  # sudo's own text on stderr before every prompt
    ]
    if setup == "global":
        rules.append(f"Defaults:{USER} timestamp_type=global")
    if setup == "nopasswd-all":
        rules.append(f"{USER} ALL=(ALL:ALL) NOPASSWD: ALL")
    elif setup != NO_RULE:
        rules.append(f"{USER} ALL=(ALL:ALL) ALL")
    if setup == "nopasswd-some":  # the last rule that matches wins
        rules.append(f"{USER} ALL=(ALL:ALL) NOPASSWD: {', '.join(NOPASSWD_SOME)}")
    return "\n".join(rules) + "\n"


def _mounted(index: int) -> set[str]:
    info = Path(f"/proc/{_anchor(index)}/mountinfo").read_text().splitlines()
    points = {line.split()[4] for line in info}
    return {m for m in _MOUNTS if m in points}


def _hash(password: str) -> str:
    done = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password + "\n",
                          capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.strip()


def enable(index: int, setup: str, password: str) -> None:
    """Give hN the user mvmlab-op with sudo as `setup` says (see the module)."""
    rules = sudoers(setup, index)
    if "\n" in password or ":" in password:
        raise LabError("the lab sudo password must be one line without ':'")
    d = _dir(index)
    for sub in ("sudoers.d", "ts", "lectured"):
        (d / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    uid_file = d / "uid"
    if not uid_file.exists():
        uid_file.write_text(f"{_free_uid()}\n")
    uid = int(uid_file.read_text())
    (d / "sudoers.d").chmod(0o755)
    # written in place (never replaced): a bind-mounted file shows its inode's new content
    passwd = Path("/etc/passwd").read_text()
    (d / "passwd").write_text(
        passwd + ("" if passwd.endswith("\n") else "\n")
        # home "/": the lab directory is root's only, and sshd and bash need none
        + f"{USER}:x:{uid}:{GROUP_ID}:mvm-tui lab operator:/:/bin/bash\n")
    shadow = d / "shadow"
    shadow.touch(mode=0o600)
    shadow.write_text(Path("/etc/shadow").read_text()
                      + f"{USER}:{_hash(password)}:{int(time.time() // 86400)}:0:99999:7:::\n")
    rules_file = d / "sudoers.d" / USER
    rules_file.touch(mode=0o440)
    rules_file.write_text(rules)
    check = subprocess.run(["visudo", "-c", "-q", "-f", str(rules_file)], capture_output=True,
                           text=True, timeout=30, check=False)
    if check.returncode != 0:
        raise LabError(f"sudoers of setup {setup} refused: {check.stdout}{check.stderr}")
    forget_timestamps(index)
    for mount_point in _MOUNTS:
        if mount_point not in _mounted(index):
            source = IN_HOST / ("sudoers.d" if mount_point == "/etc/sudoers.d" else
                                Path(mount_point).name)
            _sh(index, "mount", "--bind", source, mount_point)
    got = _sh(index, "id", "-u", USER).strip()
    if got != str(uid):
        raise LabError(f"h{index}: {USER} has uid {got!r}, expected {uid}")


def forget_timestamps(index: int) -> None:
    """sudo asks again (its timestamp records of mvmlab-op are gone)."""
    ts = _dir(index) / "ts"
    if ts.is_dir():
        for entry in ts.iterdir():
            entry.unlink()


def disable(index: int) -> None:
    """Remove the user and its sudoers from hN (nothing left in its namespace)."""
    try:
        mounted = _mounted(index)
    except OSError:  # the host is down: its namespace, and the mounts, are gone
        mounted = set()
    for mount_point in mounted:
        _sh(index, "umount", mount_point)
    shutil.rmtree(_dir(index), ignore_errors=True)
