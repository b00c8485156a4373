"""What the backend asks of one host's libvirt connection, wherever it lives: in this process
(connection.LibvirtHost) or in the process libvirt runs apart in (apart.ApartHost).

`fn` in run() is called as fn(conn) where libvirt runs: a module-level function, or a
functools.partial of one, with plain arguments (state it needs is named by a Resident), and
it returns plain data. So it can be sent to another process, and no libvirt object ever
leaves the call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class LibvirtCalls(Protocol):
    name: str
    uri: str
    before_open: Callable[[], Awaitable[None]] | None

    async def run(self, fn: Callable[[Any], T], what: str = "") -> T: ...

    async def connect(self) -> None: ...

    async def migrate_apart(self, vm: str, dest_uri: str, params: dict[str, Any],
                            flags: int) -> None: ...

    async def open_console(self, vm: str, force: bool, deliver: Callable[[bytes, str], None],
                           number: int | None = None) -> int:
        """`vm`'s serial console (console.py); returns its number."""
        ...

    async def console_write(self, number: int, data: bytes) -> None: ...

    async def console_close(self, number: int) -> None: ...

    async def close(self) -> None: ...
