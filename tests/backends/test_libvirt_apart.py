"""libvirt in a process of its own (backends/libvirt/apart.py), on libvirt's test driver: the
calls, the events and the state named by Residents work there as in this process; a crash
of that process (a real SIGSEGV) fails the calls in flight with a clear message, is logged,
and the next call starts it again, while this process lives on."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import re
import signal
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from mvm_tui.backends.base import BackendError, HostUnreachable, NotFound
from mvm_tui.backends.libvirt import LibvirtNode, LifecycleEvent
from mvm_tui.backends.libvirt import failover as lv
from mvm_tui.backends.libvirt.apart import LibvirtApart
from mvm_tui.backends.libvirt.resident import Resident
from mvm_tui.clock import within
from mvm_tui.models import PowerAction, PowerState

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "libvirt" / "node.xml"
URI = f"test://{FIXTURE}"
WAIT = 10.0


def crash(conn: Any) -> None:
    """What a bug in libvirt's C client does to the process it runs in."""
    ctypes.string_at(0)


def pid(conn: Any) -> int:
    return os.getpid()


def counted(conn: Any, counter: Resident[list[int]]) -> int:
    counter.get().append(1)
    return len(counter.get())


@pytest.fixture
async def apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[LibvirtApart]:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # (its crash traces)
    apart = LibvirtApart("lab")
    yield apart
    await apart.close()


async def test_calls_run_in_another_process_and_state_stays_there(apart: LibvirtApart) -> None:
    node = LibvirtNode(apart.host("hv1", URI))
    poll = await node.poll()
    assert {v.name for v in poll.vms} == {"web-01", "web-02", "db-01"}
    assert await node.host.run(pid) != os.getpid()
    counter: Resident[list[int]] = Resident(list)
    assert [await node.host.run(partial(counted, counter=counter)) for _ in range(3)] == [1, 2, 3]
    with pytest.raises(NotFound, match="hv1: look up nope"):
        await node.vm_info("nope")


async def test_events_come_back_from_the_other_process(apart: LibvirtApart) -> None:
    events: asyncio.Queue[LifecycleEvent] = asyncio.Queue()
    node = LibvirtNode(apart.host("hv1", URI, on_event=events.put))
    await node.power("db-01", PowerAction.START)
    ev = await within(events.get(), WAIT)
    assert (ev.host, ev.vm, ev.kind, ev.power) == ("hv1", "db-01", "started", PowerState.RUNNING)


async def test_a_crash_of_libvirt_fails_the_call_and_the_next_one_works(
    apart: LibvirtApart, caplog: pytest.LogCaptureFixture, tmp_path: Path,
) -> None:
    node = LibvirtNode(apart.host("hv1", URI))
    before = await node.host.run(pid)
    ended = re.escape("hv1: libvirt's client ended (signal SIGSEGV)")
    with pytest.raises(HostUnreachable, match=ended):
        await node.host.run(crash, "check")
    assert apart.crashes == 1
    assert any("libvirt's process ended (signal SIGSEGV)" in r.getMessage()
               and r.levelno == logging.ERROR for r in caplog.records)
    traces = list((tmp_path / "mvm-tui" / "crash").glob("*.trace"))
    assert any("Segmentation fault" in t.read_text() for t in traces), traces
    # started again, with its connections
    assert await node.host.run(pid) != before
    assert len((await node.poll()).vms) == 3


async def test_calls_in_flight_when_it_dies_fail_and_none_hangs(apart: LibvirtApart) -> None:
    node = LibvirtNode(apart.host("hv1", URI))
    child = await node.host.run(pid)
    calls = [asyncio.ensure_future(node.poll()) for _ in range(5)]
    os.kill(child, signal.SIGKILL)
    done = await within(asyncio.gather(*calls, return_exceptions=True), WAIT)
    assert all(isinstance(r, HostUnreachable) if isinstance(r, BaseException)
               else len(r.vms) == 3 for r in done), done
    assert len((await node.poll()).vms) == 3


async def test_light_checks_hand_back_each_definition_until_received(
    apart: LibvirtApart,
) -> None:
    host = apart.host("hv1", URI)
    state = Resident(lv.CheckState)
    first = await host.run(partial(lv.checked, host="hv1", now=1.0, state=state))
    assert sorted(k.vm for _, k in first.taken) == ["db-01", "web-01", "web-02"]
    # the caller gave up on that one: the next check hands them back again
    again = await host.run(partial(lv.checked, host="hv1", now=2.0, state=state))
    assert again.taken == first.taken
    got = (again.life, again.taken[-1][0])
    after = await host.run(partial(lv.checked, host="hv1", now=3.0, state=state, received=got))
    assert after.taken == []


async def test_closing_ends_the_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    apart = LibvirtApart("lab")
    child = await apart.host("hv1", URI).run(pid)
    await apart.close()
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


class Awkward(Exception):
    """An exception pickle can write but not read back (its constructor wants two
    arguments, its args hold one)."""

    def __init__(self, what: str, code: int) -> None:
        super().__init__(f"{what} ({code})")


def raise_awkward(conn: Any) -> None:
    raise Awkward("nothing here", 7)


class Unreadable:
    """A result that pickles but fails to unpickle where it arrives."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (int, ("not a number",))


def unreadable(conn: Any) -> Unreadable:
    return Unreadable()


async def test_an_error_that_does_not_unpickle_arrives_as_a_backend_error(
        apart: LibvirtApart) -> None:
    node = LibvirtNode(apart.host("hv1", URI))
    with pytest.raises(BackendError, match=r"Awkward: nothing here \(7\)"):
        await within(node.host.run(raise_awkward), WAIT)
    assert {v.name for v in (await node.poll()).vms} == {"web-01", "web-02", "db-01"}


async def test_a_reply_that_cannot_be_read_fails_the_call_and_the_next_one_works(
        apart: LibvirtApart, caplog: pytest.LogCaptureFixture) -> None:
    node = LibvirtNode(apart.host("hv1", URI))
    before = await node.host.run(pid)
    with pytest.raises(HostUnreachable, match="libvirt's client ended"):
        await within(node.host.run(unreadable), WAIT)
    assert "could not be read" in caplog.text
    assert await within(node.host.run(pid), WAIT) != before  # started again
