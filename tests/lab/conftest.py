"""The real lab for end-to-end tests: built once per test session, torn down at its end.

Without root the lab tests skip and say why; in CI (CI=true) a lab that cannot be built is a
failure, never a skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from mvm_tui import lab
from mvm_tui.config import load_config
from mvm_tui.session import Session, open_session

IN_CI = os.environ.get("CI", "").lower() == "true"
GUESTS = {
    "tiny-a": ("h1", "rbd"), "tiny-b": ("h2", "nodisk"), "tiny-linux": ("h3", "linux"),
    "tiny-f": ("h1", "nodisk"), "tiny-p": ("h1", "nodisk"),
}


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"the lab cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"lab tests need the real lab: {reason}")


@pytest.fixture(scope="session")
def lab_info() -> Iterator[lab.LabInfo]:
    if os.geteuid() != 0:
        _unavailable("they must run as root (network namespaces, sshd, libvirtd, Ceph)")
    if not Path("/dev/kvm").exists():
        _unavailable("/dev/kvm is missing")
    try:
        lab.down()  # a lab left by someone else may hold guests of the same names
        info = lab.up()
        for name, (host, kind) in GUESTS.items():
            lab.define_guest(host, name, kind)
    except lab.LabError as exc:
        lab.down()
        _unavailable(f"building it failed: {exc}")
        raise
    yield info
    lab.down()


@pytest.fixture(autouse=True)
def _info_logs(caplog: pytest.LogCaptureFixture) -> None:
    """A lab test that fails shows mvm-tui's INFO log (HA's decisions and checks): a lab
    failure in CI may not come back when run again."""
    caplog.set_level(logging.INFO, logger="mvm_tui")


@pytest.fixture
async def lab_session(lab_info: lab.LabInfo, tmp_path: Path,
                      request: pytest.FixtureRequest) -> AsyncIterator[Session]:
    session = open_session(load_config(lab_info.config_path), demo=False,
                           db_path=tmp_path / "runs.sqlite3")
    marker = request.node.get_closest_marker("timeout")
    seconds = float(marker.args[0]) if marker else LAB_TEST_TIMEOUT_S
    # where each task waits, shortly before the timeout: its own dump shows threads only,
    # and a test that hangs on the event loop waits in select()
    dump = asyncio.get_running_loop().call_later(max(seconds - 30, 1), _print_tasks)
    try:
        yield session
        await session.close()
    finally:
        dump.cancel()


def _print_tasks(why: str = "30 s before the test times out") -> None:
    print(f"--- the event loop's tasks, {why} ---", file=sys.stderr)
    for task in asyncio.all_tasks():
        print(task, file=sys.stderr)
        task.print_stack(file=sys.stderr)


def _print_tasks_on_signal(signum: int, frame: object) -> None:
    with contextlib.suppress(RuntimeError):  # (no event loop runs)
        _print_tasks("asked by SIGUSR1")
        sys.stderr.flush()


# `kill -USR1 <pytest>` prints where each task of a lab test waits (a hang, seen live)
signal.signal(signal.SIGUSR1, _print_tasks_on_signal)


ORDER = {"test_lab_tooling.py": 0, "test_lab_decommission.py": 2,
         "test_lab_provision_ceph.py": 3, "test_lab_wizard.py": 3,
         "test_lab_add_worker.py": 3, "test_lab_provision_external.py": 3}


# A lab test that hangs fails after this long (with every thread's stack) and the suite goes on:
# one CI run hung in a lab test until CI's own limit ended it, saying nothing. It counts the
# test's fixtures too, the first one building the lab.
LAB_TEST_TIMEOUT_S = float(os.environ.get("MVM_LAB_TEST_TIMEOUT", "1200"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The tooling test builds and tears down labs of its own: run it before the shared lab.
    # The decommissions take hosts out of the lab, the Ceph provisioning rebuilds it without
    # Ceph: run them last.
    items.sort(key=lambda item: ORDER.get(item.path.name, 1))
    for item in items:
        if item.get_closest_marker("lab") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(LAB_TEST_TIMEOUT_S))
