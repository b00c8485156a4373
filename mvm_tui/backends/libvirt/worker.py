"""A single daemon thread that runs blocking calls one at a time, for asyncio callers."""

from __future__ import annotations

import queue
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from mvm_tui.backends.base import BackendError

T = TypeVar("T")


class Worker:
    """One daemon thread that runs the calls submitted to it one at a time, in order.

    Not a ThreadPoolExecutor(max_workers=1): the interpreter joins those threads at exit, so a
    worker stuck in a connect to a dead host would hold the exit up for minutes (ssh has no
    connect timeout of its own here). A daemon thread does not."""

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None]
        self._queue = queue.SimpleQueue()
        self._stopped = False
        self.thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self.thread.start()

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        if self._stopped:
            raise BackendError(f"{self.thread.name}: worker stopped")
        fut: Future[T] = Future()
        self._queue.put((fn, fut))
        return fut

    def stop(self) -> None:
        """Let the thread end once the calls already submitted have run."""
        self._stopped = True
        self._queue.put(None)

    def _serve(self) -> None:
        while (item := self._queue.get()) is not None:
            fn, fut = item
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                result = fn()
            except BaseException as exc:
                fut.set_exception(detach(exc))
            else:
                fut.set_result(result)
            del item, fn, fut  # nothing of this call outlives it on this thread


def detach(exc: BaseException) -> BaseException:
    """The exception without its traceback (nor those of its cause and context), so that it
    leaves the thread holding no frame, hence no libvirt object the frames referenced: those
    are freed here, on their own thread. An unexpected error (a bug, not a backend or libvirt
    error) keeps its traceback as text, in a note."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if e.__traceback__ is not None:
            if not _expected(e):
                trace = "".join(traceback.format_tb(e.__traceback__))
                e.add_note(f"on the worker thread:\n{trace}")
            e.__traceback__ = None
        todo.extend(x for x in (e.__cause__, e.__context__) if x is not None)
    return exc


def _expected(exc: BaseException) -> bool:
    return isinstance(exc, BackendError) or type(exc).__module__ == "libvirt"
