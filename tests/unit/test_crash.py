"""Crash traces: a fatal signal in an mvm-tui process leaves its Python stacks in a file of its
own in the state directory (0600); a normal exit leaves nothing."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

TIMEOUT = 60.0


def child_env(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONFAULTHANDLER", "PYTHONDEVMODE")}
    env["XDG_STATE_HOME"] = str(state)
    return env


def run(code: str, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], env=child_env(state), text=True,
                          capture_output=True, timeout=TIMEOUT, check=False)


@pytest.mark.parametrize("crash", ["faulthandler._sigsegv()",
                                   "os.kill(os.getpid(), signal.SIGSEGV)"])
def test_a_fatal_signal_in_the_command_leaves_a_trace(tmp_path: Path, crash: str) -> None:
    # the real entry point (cli.main) up to the point where it builds its parser, which dies
    code = ("import faulthandler, os, signal, threading\n"
            "import mvm_tui.cli as cli\n"
            "def die():\n"
            f"    {crash}\n"
            "def build_parser():\n"
            "    t = threading.Thread(target=die, name='libvirt-h2')\n"
            "    t.start(); t.join()\n"
            "cli.build_parser = build_parser\n"
            "cli.main(['ha', '--config', 'x.toml'])\n")
    proc = subprocess.Popen([sys.executable, "-c", code], env=child_env(tmp_path), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == -signal.SIGSEGV, err
    crash_dir = tmp_path / "mvm-tui" / "crash"
    traces = list(crash_dir.iterdir())
    assert [t.name.endswith(f"-{proc.pid}.trace") for t in traces] == [True]
    assert stat.S_IMODE(traces[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(crash_dir.stat().st_mode) == 0o700
    text = traces[0].read_text()
    header = text.splitlines()[:2]
    assert header[0].startswith("mvm-tui ")
    assert f" pid {proc.pid} started " in header[0]
    assert header[1] == "command: mvm-tui ha --config x.toml"
    assert "Fatal Python error: Segmentation fault" in text
    assert "in main" in text  # the main thread, in cli.main
    if "_sigsegv" in crash:  # a fault in that thread (kill: the signal may go to another)
        assert "in die" in text  # the crashing thread's stack too

    # the next mvm-tui says so, once
    again = "import sys, mvm_tui.cli as cli; sys.exit(cli.main(['ha', '--config', 'no.toml']))"
    told = run(again, tmp_path)
    assert told.returncode == 2  # (no such config file)
    seen = traces[0].with_name(traces[0].name.replace(".trace", ".seen.trace"))
    assert (f"mvm-tui: an earlier mvm-tui process died: Fatal Python error: Segmentation "
            f"fault ({header[0]}); its trace, to send with a report: {seen}\n") in told.stderr
    assert seen.exists()
    assert "earlier mvm-tui process" not in run(again, tmp_path).stderr


def test_a_normal_exit_leaves_no_trace(tmp_path: Path) -> None:
    proc = run("import sys, mvm_tui.cli as cli; sys.exit(cli.main(['--help']))", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "usage: mvm-tui" in proc.stdout
    assert list((tmp_path / "mvm-tui" / "crash").iterdir()) == []


def test_traces_of_gone_processes_stay_and_empty_ones_go(tmp_path: Path) -> None:
    crash_dir = tmp_path / "mvm-tui" / "crash"
    crash_dir.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    kept = crash_dir / f"20261206T170000Z-{dead}.trace"
    kept.write_text("mvm-tui 1 pid 1 started\n\nFatal Python error: Segmentation fault\n")
    empty = crash_dir / f"20261206T170001Z-{dead}.trace"
    empty.write_text("mvm-tui 1 pid 1 started\ncommand: mvm-tui ha\n\n")  # killed: no trace
    proc = run("import sys, mvm_tui.cli as cli; sys.exit(cli.main(['--help']))", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(crash_dir.iterdir()) == [kept]
