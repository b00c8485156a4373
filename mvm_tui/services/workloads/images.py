"""The image library as Runs (issue 17): importing a cloud image into the cluster's storage,
renaming one, removing one no VM disk is cloned from. Each step re-checks right before it
acts: no library image has the new name; no clone is left of the one removed."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mvm_tui.backends.base import ClusterBackend, InvalidState
from mvm_tui.core.validation import validate_hostname_label
from mvm_tui.runs import Step, StepContext
from mvm_tui.services.workloads import workloads_of


def import_params(host: str, path: str, image: str, os: str, local: str = "",
                  size: int = 0) -> dict[str, Any]:
    """The parameters of an import of `path` on `host`, or of the jump box's file `local`
    (`size` bytes), copied to `path` on `host` first; ValueError naming what is wrong
    (nothing is done)."""
    try:
        validate_hostname_label(image)
    except ValueError as exc:
        raise ValueError(f"image name: {exc}") from None
    if not path.startswith("/") or not path.isprintable() or "\n" in path:
        raise ValueError(f"path: {path!r} is not an absolute path on the host")
    if not os.isprintable() or len(os) > 100:
        raise ValueError("os: printable text of 100 characters at most")
    return {"host": host, "path": path, "image": image, "os": os, "local": local,
            "size": size}


def local_file(source: str) -> tuple[str, int] | None:
    """The absolute path and size of `source` when it is a file of this machine (blocking)."""
    path = Path(source).expanduser()
    return (str(path.resolve()), path.stat().st_size) if path.is_file() else None


def upload_path(image: str) -> str:
    """Where a jump box's file is copied on the host before its import (then removed)."""
    return f"/var/tmp/mvm-tui-import.{image}"


def import_steps(backend: ClusterBackend, params: Mapping[str, Any]) -> Sequence[Step]:
    w = workloads_of(backend, "keep an image library")
    host, path, image, os = (params[k] for k in ("host", "path", "image", "os"))
    local, size = params.get("local", ""), int(params.get("size", 0))

    async def have(ctx: StepContext) -> bool:
        return any(i.name == image and i.ready for i in await w.images())

    async def action(ctx: StepContext) -> None:
        if await have(ctx):  # (one half made, by a failed import of this name, is finished)
            raise InvalidState(f"the library has an image named {image} already: nothing "
                               "is imported")
        ctx.log(f"{host}: {path} into the library as {image} (a raw RBD image)")
        await w.import_image(host, path, image, os)
        ctx.log(f"{image}: imported, its snapshot for clones protected")

    async def upload(ctx: StepContext) -> None:
        now = await asyncio.to_thread(_size_of, local)
        if now != size:
            raise InvalidState(f"{local} is {now} bytes now, not {size} as planned: not "
                               "copied")
        said = [0]

        def progress(done: int, total: int) -> None:
            tenth = done * 10 // max(total, 1)
            if tenth > said[0]:
                said[0] = tenth
                ctx.log(f"{done / 2**20:.0f} of {total / 2**20:.0f} MiB copied")

        await w.upload(host, local, path, size, progress)

    async def uploaded(ctx: StepContext) -> bool:
        return await have(ctx) or await w.file_size(host, path) == size

    async def remove_copy(ctx: StepContext) -> None:
        await w.remove_upload(host, path)
        ctx.log(f"{host}: {path} removed")

    async def copy_removed(ctx: StepContext) -> bool:
        return await w.file_size(host, path) is None

    steps = [Step(f"Import {path} from {host} as the image {image}",
                  tuple(w.import_commands(host, path, image, os)), action, have)]
    if local:
        steps = [Step(f"Copy {local} ({size / 2**20:.0f} MiB) from this jump box to {host}",
                      tuple(w.upload_commands(host, local, path)), upload, uploaded),
                 *steps,
                 Step(f"Remove the copy on {host}", (f"{host}: rm -f {path}",), remove_copy,
                      copy_removed)]
    return steps


def _size_of(path: str) -> int | None:
    try:
        return Path(path).stat().st_size
    except OSError:
        return None


def rename_params(image: str, new: str) -> dict[str, Any]:
    try:
        validate_hostname_label(new)
    except ValueError as exc:
        raise ValueError(f"new name: {exc}") from None
    if new == image:
        raise ValueError(f"new name: the image is called {image} already")
    return {"image": image, "new": new}


def rename_steps(backend: ClusterBackend, params: Mapping[str, Any]) -> Sequence[Step]:
    w = workloads_of(backend, "keep an image library")
    image, new = params["image"], params["new"]

    async def renamed(ctx: StepContext) -> bool:
        names = {i.name for i in await w.images()}
        return new in names and image not in names

    async def action(ctx: StepContext) -> None:
        names = {i.name for i in await w.images()}
        if new in names and image in names:
            raise InvalidState(f"the library has an image named {new} already: not renamed")
        if image not in names and new not in names:
            raise InvalidState(f"the library has no image named {image}: not renamed")
        await w.rename_image(image, new)
        ctx.log(f"{image} is now {new} (its clones follow: they name it by its id)")

    return [Step(f"Rename the image {image} to {new}",
                 tuple(w.rename_image_commands(image, new)), action, renamed)]


def remove_steps(backend: ClusterBackend, params: Mapping[str, Any]) -> Sequence[Step]:
    w = workloads_of(backend, "keep an image library")
    image = params["image"]

    async def gone(ctx: StepContext) -> bool:
        return image not in {i.name for i in await w.images()}

    async def action(ctx: StepContext) -> None:
        users = await w.image_users(image)
        if users:
            raise InvalidState(f"{image} is not removed: VM disks are cloned from it "
                               f"({', '.join(users)})")
        await w.remove_image(image)
        ctx.log(f"{image}: removed from the library")

    return [Step(f"Remove the image {image} (no VM disk is cloned from it)",
                 tuple(w.remove_image_commands(image)), action, gone)]

