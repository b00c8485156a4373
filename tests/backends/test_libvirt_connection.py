"""LibvirtHost: calls off the event loop, connect timeout, reconnects, errors, events."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import libvirt  # type: ignore[import-untyped]
import pytest

from mvm_tui.backends.base import BackendError, HostUnreachable, NotFound
from mvm_tui.backends.libvirt import KeepAlive, LibvirtHost, LibvirtNode, LifecycleEvent
from mvm_tui.backends.libvirt.uri import build_uri
from mvm_tui.clock import within
from mvm_tui.models import PowerAction, PowerState

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "libvirt" / "node.xml"
URI = f"test://{FIXTURE}"
WAIT = 10.0  # the most any condition below is waited for


def libvirt_error(code: int, domain: int, message: str) -> libvirt.libvirtError:
    exc = libvirt.libvirtError(message)
    exc.err = (code, domain, message, libvirt.VIR_ERR_ERROR, None, None, None, -1, -1)
    return exc


RESET = (libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_FROM_RPC, "Cannot recv data: Connection reset")


class FakeConn:
    """Just enough of a virConnect for the connection machinery."""

    def __init__(self, fail_with: libvirt.libvirtError | None = None) -> None:
        self.fail_with = fail_with
        self.alive = 1
        self.closed = threading.Event()
        self.keepalive: tuple[int, int] | None = None
        self.close_cb: Any = None

    def setKeepAlive(self, interval: int, count: int) -> int:
        self.keepalive = (interval, count)
        return 0

    def registerCloseCallback(self, cb: Any, opaque: object) -> int:
        self.close_cb = cb
        return 0

    def unregisterCloseCallback(self) -> int:
        return 0

    def domainEventRegisterAny(self, *args: object) -> int:
        return 7

    def domainEventDeregisterAny(self, eid: int) -> int:
        return 0

    def isAlive(self) -> int:
        return self.alive

    def close(self) -> int:
        self.closed.set()
        return 0

    def getHostname(self) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        return "fake"


class Opener:
    def __init__(self, *conns: FakeConn) -> None:
        self.conns = list(conns)
        self.opened: list[FakeConn] = []

    def __call__(self, uri: str) -> FakeConn:
        conn = self.conns.pop(0)
        self.opened.append(conn)
        return conn


def hostname(conn: Any) -> str:
    return str(conn.getHostname())


async def test_calls_do_not_block_the_event_loop() -> None:
    host = LibvirtHost("hv1", URI)
    ticked = threading.Event()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            if ticks >= 20:
                ticked.set()
            await asyncio.sleep(0)

    def slow(conn: Any) -> str:
        # blocks the worker until the event loop has gone round 20 more times: would
        # deadlock (and time out) if the call ran on the event loop
        if not ticked.wait(WAIT):
            raise AssertionError("the event loop did not run while a call was in progress")
        return threading.current_thread().name

    task = asyncio.create_task(ticker())
    try:
        assert await host.run(slow) == "libvirt-hv1"
    finally:
        task.cancel()
        await host.close()
    assert ticks >= 20


async def test_calls_of_a_host_run_one_at_a_time_in_order() -> None:
    host = LibvirtHost("hv1", URI)
    seen: list[int] = []
    try:

        def call(i: int) -> Callable[[Any], None]:
            return lambda conn: seen.append(i)

        await asyncio.gather(*(host.run(call(i)) for i in range(20)))
    finally:
        await host.close()
    assert seen == list(range(20))


async def test_a_file_that_is_not_there_cannot_connect() -> None:
    host = LibvirtHost("hv1", "test:///nonexistent-file.xml")
    with pytest.raises(HostUnreachable) as err:
        await host.run(hostname)
    msg = str(err.value)
    assert msg.startswith("hv1: cannot connect to libvirt (test:///nonexistent-file.xml): ")
    assert "nonexistent-file.xml" in msg.split(": ", 2)[2]
    assert not host.connected
    await host.close()


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no ssh client")
async def test_a_refused_ssh_connection_is_unreachable() -> None:
    uri = build_uri("nobody", "127.0.0.1", port=1)
    host = LibvirtHost("hv1", uri, connect_timeout=WAIT)
    with pytest.raises(HostUnreachable) as err:
        await host.connect()
    # the host and the reason; no URI with its transport, key file or known_hosts path
    assert str(err.value).startswith("hv1: cannot connect to libvirt (127.0.0.1): ")
    assert "qemu+ssh" not in str(err.value)
    assert "known_hosts" not in str(err.value)
    await host.close()


async def test_connect_gives_up_after_its_timeout() -> None:
    release = threading.Event()
    late = FakeConn()
    fresh = FakeConn()

    def opener(uri: str) -> FakeConn:
        if not release.is_set():
            release.wait(WAIT)
            return late
        return fresh

    host = LibvirtHost("hv1", "test:///default", connect_timeout=0.05, opener=opener)
    with pytest.raises(HostUnreachable, match=r"^hv1: no answer from libvirt within 0\.05 s$"):
        await host.run(hostname)
    release.set()
    # the connection that came too late is closed by the abandoned worker
    assert await asyncio.to_thread(late.closed.wait, WAIT)
    # a fresh worker serves the next call: it does not queue behind the stuck one
    host.connect_timeout = WAIT
    assert await host.run(hostname) == "fake"
    await host.close()
    assert fresh.closed.is_set()


async def test_keepalive_is_set_on_every_connection() -> None:
    conn = FakeConn()
    host = LibvirtHost("hv1", "x", keepalive=KeepAlive(2, 4), opener=Opener(conn))
    await host.connect()
    assert conn.keepalive == (2, 4)
    await host.close()
    conn = FakeConn()
    host = LibvirtHost("hv1", "x", keepalive=None, opener=Opener(conn))
    await host.connect()
    assert conn.keepalive is None
    await host.close()


async def test_a_lost_connection_is_reopened_by_the_next_call() -> None:
    first = FakeConn(fail_with=libvirt_error(*RESET))
    first.alive = 0
    second = FakeConn()
    host = LibvirtHost("hv1", "x", opener=Opener(first, second))
    with pytest.raises(HostUnreachable, match="hv1: hostname: lost the connection to libvirtd"):
        await host.run(hostname, "hostname")
    assert not host.connected
    assert await host.run(hostname) == "fake"
    assert host.connected
    assert await asyncio.to_thread(first.closed.wait, WAIT)
    await host.close()


async def test_the_close_callback_marks_the_connection_dead() -> None:
    first, second = FakeConn(), FakeConn()
    opener = Opener(first, second)
    host = LibvirtHost("hv1", "x", opener=opener)
    await host.connect()
    assert host.connected
    # libvirt calls it from its event thread when keepalive gives up on the peer
    t = threading.Thread(
        target=first.close_cb, args=(first, libvirt.VIR_CONNECT_CLOSE_REASON_KEEPALIVE, None)
    )
    t.start()
    await asyncio.to_thread(t.join, WAIT)
    assert not host.connected
    assert await host.run(hostname) == "fake"
    assert opener.opened == [first, second]
    await host.close()


async def test_a_relayed_transport_error_on_a_live_connection_keeps_it() -> None:
    # e.g. the source libvirtd could not reach a migration's destination: the error looks
    # like a broken connection, but ours is fine
    conn = FakeConn(fail_with=libvirt_error(*RESET))
    host = LibvirtHost("hv1", "x", opener=Opener(conn))
    with pytest.raises(BackendError) as err:
        await host.run(hostname, "hostname")
    assert not isinstance(err.value, HostUnreachable)
    assert str(err.value) == "hv1: hostname: Cannot recv data: Connection reset"
    assert host.connected
    await host.close()


async def test_libvirt_errors_become_backend_errors() -> None:
    host = LibvirtHost("hv1", URI)

    def lookup(conn: Any) -> None:
        conn.lookupByName("nope")

    def bad_xml(conn: Any) -> None:
        conn.defineXML("<domain>")

    with pytest.raises(NotFound, match=r"^hv1: find: Domain not found"):
        await host.run(lookup, "find")
    with pytest.raises(BackendError, match=r"^hv1: define: .*Premature end of data") as err:
        await host.run(bad_xml, "define")
    assert type(err.value) is BackendError
    await host.close()


async def test_a_closed_host_refuses_calls() -> None:
    host = LibvirtHost("hv1", URI)
    await host.connect()
    await host.close()
    with pytest.raises(BackendError, match="closed"):
        await host.run(hostname)


async def test_lifecycle_events_reach_the_async_handler() -> None:
    events: asyncio.Queue[LifecycleEvent] = asyncio.Queue()
    node = LibvirtNode(LibvirtHost("hv1", URI, on_event=events.put))
    try:
        await node.power("db-01", PowerAction.START)
        ev = await within(events.get(), WAIT)
        assert (ev.host, ev.vm, ev.kind, ev.power) == (
            "hv1",
            "db-01",
            "started",
            PowerState.RUNNING,
        )
        assert ev.uuid == "8f0c6a52-1b7e-4b8e-9d55-0a0000000003"
        await node.power("db-01", PowerAction.POWEROFF)
        ev = await within(events.get(), WAIT)
        assert (ev.vm, ev.kind, ev.power) == ("db-01", "stopped", PowerState.SHUTOFF)
        assert ev.detail == libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED
    finally:
        await node.close()


async def test_a_failing_event_handler_does_not_stop_the_events() -> None:
    seen: asyncio.Queue[str] = asyncio.Queue()

    async def handler(ev: LifecycleEvent) -> None:
        await seen.put(ev.kind)
        raise RuntimeError("handler bug")

    node = LibvirtNode(LibvirtHost("hv1", URI, on_event=handler))
    try:
        await node.power("db-01", PowerAction.START)
        assert await within(seen.get(), WAIT) == "started"
        await node.power("db-01", PowerAction.POWEROFF)
        assert await within(seen.get(), WAIT) == "stopped"
    finally:
        await node.close()


async def test_events_reach_a_slow_handler_in_order() -> None:
    gate = asyncio.Event()
    seen: list[str] = []
    both = asyncio.Event()

    async def handler(ev: LifecycleEvent) -> None:
        if not seen:
            await gate.wait()  # the first event is held up until the second has arrived
        seen.append(ev.kind)
        if len(seen) == 2:
            both.set()

    node = LibvirtNode(LibvirtHost("hv1", URI, on_event=handler))
    try:
        await node.power("db-01", PowerAction.START)
        await node.power("db-01", PowerAction.POWEROFF)
        gate.set()
        await within(both.wait(), WAIT)
        assert seen == ["started", "stopped"]
    finally:
        await node.close()


async def test_a_connect_goes_on_when_its_caller_gives_up() -> None:
    """An HA check bounded below the time a connect takes (at 100 ms of latency, 2.8 s over
    qemu+ssh against a 1.4 s check) gives up; the connect goes on, and a later call uses it:
    one connection is opened, not one abandoned per check."""
    release = threading.Event()
    conn = FakeConn()
    opened: list[FakeConn] = []

    def opener(uri: str) -> FakeConn:
        release.wait(WAIT)
        opened.append(conn)
        return conn

    host = LibvirtHost("hv1", "x", connect_timeout=WAIT, opener=opener)
    for _ in range(3):  # three checks give up while it connects
        with pytest.raises(TimeoutError):
            await within(host.run(hostname), 0.05)
    release.set()
    assert await within(host.run(hostname), WAIT) == "fake"
    assert opened == [conn]
    assert not conn.closed.is_set()
    await host.close()
    assert conn.closed.is_set()
