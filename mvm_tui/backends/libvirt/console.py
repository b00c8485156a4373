"""A VM's serial console over its host's libvirt connection: virDomainOpenConsole into a
non-blocking virStream, as virt-manager and `virsh console` do.

The stream is the one libvirt object kept between calls (connection.py's rule otherwise): it
belongs to the connection (Link.consoles) and is used on the connection's worker only. libvirt's
event thread says when it can be read or written; it only hands that to the worker (one drain
queued at a time), which reads what is there and passes it on through `deliver`. A reconnect
or a close of the connection ends its consoles (deliver(b"", why)).
"""

from __future__ import annotations

import asyncio
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import libvirt  # type: ignore[import-untyped]

from mvm_tui.backends.base import BackendError, ConsoleBusy, InvalidState
from mvm_tui.backends.libvirt import errors
from mvm_tui.backends.libvirt.handles import Link

Deliver = Callable[[bytes, str], None]  # (data, "") or, at the end, (b"", why it ended)
CHUNK = 64 * 1024
EAGAIN = -2  # what a non-blocking stream's recv/send returns when it would block
WATCH = (libvirt.VIR_STREAM_EVENT_READABLE | libvirt.VIR_STREAM_EVENT_ERROR
         | libvirt.VIR_STREAM_EVENT_HANGUP)
BUSY = "Active console session exists"  # libvirt's message when another client holds it
PROBE_MS = 2000


class ConsoleStream:
    def __init__(self, number: int, vm: str, stream: Any, deliver: Deliver) -> None:
        self.number = number
        self.vm = vm
        self.stream = stream  # (the bare virStream: used on the worker only)
        self.deliver = deliver
        self.unsent = bytearray()
        self.queued = threading.Event()  # a drain is queued on the worker
        self.probe = -1  # libvirt's timer that has the stream read now and then
        self.ended = False


def on_loop(loop: asyncio.AbstractEventLoop, deliver: Deliver) -> Deliver:
    """`deliver`, called on `loop` from any thread."""
    def threadsafe(data: bytes, why: str) -> None:
        with suppress(RuntimeError):  # the loop is closed: nobody listens any more
            loop.call_soon_threadsafe(deliver, data, why)

    return threadsafe


def serial_log_path(conn: Any, vm: str) -> str:
    """Where `vm`'s host keeps what its serial console wrote ("" when its definition keeps
    nothing: no <log> on its serial device)."""
    try:
        xml = conn.lookupByName(vm).XMLDesc(0)
    except libvirt.libvirtError as exc:
        raise errors.map_error(exc, f"console log of {vm}") from None
    for serial in ET.fromstring(xml).iterfind("devices/serial"):
        log = serial.find("log")
        if log is not None and log.get("file"):
            return str(log.get("file"))
    return ""


def open_console(link: Link, vm: str, force: bool, number: int, deliver: Deliver) -> None:
    """On the worker: `vm`'s console opened into a new stream of `link`, watched."""
    link.check()
    conn = link.conn
    context = f"{link.host}: console of {vm}"
    try:
        dom = conn.lookupByName(vm)
        stream = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
    except libvirt.libvirtError as exc:
        raise errors.map_error(exc, context) from None
    flags = libvirt.VIR_DOMAIN_CONSOLE_FORCE if force else 0
    try:
        dom.openConsole(None, stream, flags | libvirt.VIR_DOMAIN_CONSOLE_SAFE)
    except libvirt.libvirtError as exc:
        with suppress(libvirt.libvirtError):
            stream.abort()
        if BUSY in errors.message(exc):
            raise ConsoleBusy(f"another client holds the console of {vm} on "
                              f"{link.host}") from None
        if errors.code(exc) == libvirt.VIR_ERR_OPERATION_INVALID:
            raise InvalidState(f"{vm} does not run on {link.host}: its console exists "
                               "while it runs") from None
        raise errors.map_error(exc, context) from None
    console = ConsoleStream(number, vm, stream, deliver)

    def ready(*_args: Any) -> None:
        # libvirt's event thread: no libvirt call here; the worker reads (once queued, the
        # event fires again until then: it is level-triggered)
        if console.queued.is_set():
            return
        console.queued.set()
        with suppress(BackendError):  # the worker stopped: the connection closed, and the console
            link.worker.submit(lambda: drain(link, console))

    try:
        stream.eventAddCallback(WATCH, ready, None)
    except libvirt.libvirtError as exc:
        with suppress(libvirt.libvirtError):
            stream.abort()
        raise errors.map_error(exc, context) from None
    # The remote client raises no event for an error the daemon sends (another client took
    # the console over): only a read finds it. So the stream is read every PROBE_MS too.
    console.probe = libvirt.virEventAddTimeout(PROBE_MS, ready, None)
    link.consoles[number] = console


def drain(link: Link, console: ConsoleStream) -> None:
    """On the worker: what the stream holds, passed on; what waits to be sent, sent."""
    console.queued.clear()
    if console.ended:
        return
    try:
        while True:
            data = console.stream.recv(CHUNK)
            if data == EAGAIN:
                break
            if not data:
                end(link, console, f"the console of {console.vm} was closed on {link.host}")
                return
            console.deliver(data, "")
        flush(console)
    except libvirt.libvirtError as exc:
        end(link, console, f"the console of {console.vm} on {link.host} ended: "
                           f"{errors.message(exc)}")


def send(link: Link, number: int, data: bytes) -> None:
    """On the worker: `data` written to console `number` (what does not fit now is sent when
    the stream can take it)."""
    link.check()
    console = link.consoles.get(number)
    if console is None or console.ended:
        raise InvalidState("the console is closed")
    console.unsent += data
    try:
        flush(console)
    except libvirt.libvirtError as exc:
        end(link, console, f"the console of {console.vm} on {link.host} ended: "
                           f"{errors.message(exc)}")
        raise InvalidState(f"the console of {console.vm} ended") from None


def flush(console: ConsoleStream) -> None:
    while console.unsent:
        sent = console.stream.send(bytes(console.unsent))
        if sent == EAGAIN:
            break
        del console.unsent[:sent]
    events = WATCH | (libvirt.VIR_STREAM_EVENT_WRITABLE if console.unsent else 0)
    console.stream.eventUpdateCallback(events)


def close(link: Link, number: int) -> None:
    """On the worker: console `number` closed by this end (nothing is delivered)."""
    console = link.consoles.pop(number, None)
    if console is not None:
        _release(console)


def end(link: Link, console: ConsoleStream, why: str) -> None:
    """On the worker: the console ended at the other end, or its connection did."""
    link.consoles.pop(console.number, None)
    _release(console)
    console.deliver(b"", why)


def end_all(link: Link, why: str) -> None:
    """On the worker, as the connection closes: every console of it ends."""
    for console in list(link.consoles.values()):
        end(link, console, why)


def _release(console: ConsoleStream) -> None:
    console.ended = True
    if console.probe >= 0:
        libvirt.virEventRemoveTimeout(console.probe)
    with suppress(libvirt.libvirtError):
        console.stream.eventRemoveCallback()
    with suppress(libvirt.libvirtError):  # (not finish(): that waits for the daemon's answer)
        console.stream.abort()
