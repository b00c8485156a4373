"""The threading rule of libvirt objects (connection.py): used only on their connection's own
worker thread, only while that connection is the host's current one, never after a reconnect,
and never freed on another thread. Against libvirt's test:///default driver, each connection
and domain wrapped in a spy that records which thread calls (and frees) it."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import libvirt  # type: ignore[import-untyped]
import pytest

from mvm_tui.backends.base import BackendError, HostUnreachable
from mvm_tui.backends.libvirt import LibvirtHost, LifecycleEvent
from mvm_tui.clock import within

WAIT = 10.0  # the most any condition below is waited for
Record = tuple[int, str, int]  # (connection number, method, thread ident)


class Spy:
    """A libvirt object (connection or domain) that records every call and when it is freed;
    the domains it returns are spies too."""

    def __init__(self, obj: Any, gen: int, calls: list[Record], freed: list[Record]) -> None:
        self._obj, self._gen, self._calls, self._freed = obj, gen, calls, freed
        self.close_cb: Any = None
        self.closed = threading.Event()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._obj, name)

        def call(*args: Any) -> Any:
            self._calls.append((self._gen, name, threading.get_ident()))
            if name == "registerCloseCallback":
                self.close_cb = args[0]
            result = attr(*args)
            if name == "close":
                self.closed.set()
            if isinstance(result, libvirt.virDomain):
                return Spy(result, self._gen, self._calls, self._freed)
            return result

        return call

    def __del__(self) -> None:
        self._freed.append((self._gen, type(self._obj).__name__, threading.get_ident()))


class Opener:
    def __init__(self) -> None:
        self.calls: list[Record] = []
        self.freed: list[Record] = []
        self.conns: list[Spy] = []

    def __call__(self, uri: str) -> Spy:
        conn = Spy(libvirt.open(uri), len(self.conns) + 1, self.calls, self.freed)
        self.conns.append(conn)
        return conn


async def test_a_reconnect_invalidates_a_domain_taken_before() -> None:
    opener = Opener()
    host = LibvirtHost("hv1", "test:///default", connect_timeout=0.2, opener=opener)
    took, go = threading.Event(), threading.Event()

    def hold_then_use(conn: Any) -> int:
        dom = conn.lookupByName("test")
        took.set()
        if not go.wait(WAIT):
            raise AssertionError("not released")
        opener.calls.append((0, "held call resumes", threading.get_ident()))
        return int(dom.state()[0])  # after the reconnect began: must not reach libvirt

    check = asyncio.create_task(host.run(hold_then_use, "check"))
    try:
        assert await asyncio.to_thread(took.wait, WAIT)
        assert host.generation == 1
        first = opener.conns[0]
        # keepalive gives up on the peer: libvirt calls this on its event thread
        t = threading.Thread(target=first.close_cb,
                             args=(None, libvirt.VIR_CONNECT_CLOSE_REASON_KEEPALIVE, None))
        t.start()
        await asyncio.to_thread(t.join, WAIT)
        # the next call reconnects: connection #1 is stale from now on; its connect queues
        # behind the held call, and no other thread opens one beside it
        with pytest.raises(HostUnreachable, match=r"a call on the lost connection has not "
                                                  r"returned yet"):
            await host.run(lambda c: c.getHostname())
        host.connect_timeout = WAIT
        again = asyncio.create_task(host.run(lambda c: int(c.lookupByName("test").state()[0])))
        assert len(opener.conns) == 1  # (the worker is held: nothing else can have run)
        go.set()
        with pytest.raises(HostUnreachable,
                           match=r"^hv1: libvirt connection #1 was replaced by a reconnect"):
            await check
        assert await again == 1  # looked up again, on connection #2
        assert host.generation == 2
    finally:
        go.set()
        await host.close()
    steps = [(gen, name) for gen, name, _ in opener.calls
             if name not in ("registerCloseCallback", "unregisterCloseCallback",
                             "domainEventRegisterAny", "domainEventDeregisterAny")]
    assert steps == [(1, "setKeepAlive"), (1, "lookupByName"), (0, "held call resumes"),
                     (1, "close"),  # the domain's state() never reached libvirt
                     (2, "setKeepAlive"), (2, "lookupByName"), (2, "state"), (2, "close")]
    assert len({ident for gen, _, ident in opener.calls}) == 1  # all on the host's worker
    freed = [r for r in opener.freed if r[1] == "virDomain"]
    assert [gen for gen, _, _ in freed] == [1, 2]
    assert {ident for _, _, ident in freed} == {opener.calls[0][2]}  # freed there too


async def test_an_error_leaves_the_worker_without_its_libvirt_objects() -> None:
    opener = Opener()
    host = LibvirtHost("hv1", "test:///default", opener=opener)

    def fail(conn: Any) -> None:
        dom = conn.lookupByName("test")
        dom.undefineFlags(1 << 30)  # an unknown flag: libvirt refuses it

    try:
        with pytest.raises(BackendError, match=r"^hv1: undefine: ") as err:
            await host.run(fail, "undefine")
        worker = {ident for _, _, ident in opener.calls}
        assert len(worker) == 1
        # the domain was freed on the worker before the error reached the event loop
        assert [(r[1], r[2]) for r in opener.freed] == [("virDomain", *worker)]
        cause = err.value.__cause__
        assert isinstance(cause, libvirt.libvirtError)
        assert cause.__traceback__ is None
    finally:
        await host.close()


async def test_a_libvirt_object_cannot_leave_its_worker() -> None:
    host = LibvirtHost("hv1", "test:///default")
    box: list[Any] = []
    try:
        with pytest.raises(BackendError, match="cannot leave its connection's worker"):
            await host.run(lambda c: c.lookupByName("test"), "look up")

        def smuggle(conn: Any) -> None:
            box.append(conn.lookupByName("test"))

        await host.run(smuggle)
        with pytest.raises(BackendError, match=r"used from thread 'MainThread', not its "
                                               r"connection's own worker: refused"):
            box[0].state()
    finally:
        box.clear()
        await host.close()


async def test_a_lifecycle_event_reads_its_domain_on_the_worker(
        monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    for method in ("name", "UUIDString"):
        original = getattr(libvirt.virDomain, method)

        def spy(self: Any, _original: Any = original) -> Any:
            threads.append(threading.current_thread().name)
            return _original(self)

        monkeypatch.setattr(libvirt.virDomain, method, spy)
    events: asyncio.Queue[LifecycleEvent] = asyncio.Queue()
    host = LibvirtHost("hv1", "test:///default", on_event=events.put)
    try:
        await host.run(lambda c: c.lookupByName("test").destroy(), "power off")
        ev = await within(events.get(), WAIT)
        assert (ev.vm, ev.kind) == ("test", "stopped")
    finally:
        await host.close()
    assert threads
    assert set(threads) == {"libvirt-hv1"}  # never libvirt's event thread
