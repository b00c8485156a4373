"""The NoCloud seed as an ISO 9660 image labelled "cidata" (what cloud-init looks for), made on
the jump box in memory (pycdlib): Joliet and Rock Ridge names, so the files are read under their
own names (meta-data, user-data, network-config)."""

from __future__ import annotations

import io
from collections.abc import Mapping

import pycdlib

LABEL = "cidata"


def seed_iso(files: Mapping[str, str]) -> bytes:
    """The image of `files` (name -> text), each at the image's root."""
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, vol_ident=LABEL, joliet=3, rock_ridge="1.09")
    try:
        for i, (name, text) in enumerate(sorted(files.items())):
            data = text.encode()
            iso.add_fp(io.BytesIO(data), len(data), iso_path=f"/F{i}.;1", rr_name=name,
                       joliet_path=f"/{name}")
        out = io.BytesIO()
        iso.write_fp(out)
        return out.getvalue()
    finally:
        iso.close()


def seed_files_of(image: bytes) -> dict[str, str]:
    """The files of a seed image made by seed_iso (name -> text); ValueError when it is not
    one."""
    iso = pycdlib.PyCdlib()
    try:
        iso.open_fp(io.BytesIO(image))
    except pycdlib.pycdlibexception.PyCdlibException as exc:
        raise ValueError(f"not a seed image: {exc}") from None
    try:
        out = {}
        for child in iso.list_children(joliet_path="/"):
            name = iso.full_path_from_dirrecord(child, rockridge=False).lstrip("/")
            if not name or child.is_dir():
                continue
            data = io.BytesIO()
            iso.get_file_from_iso_fp(data, joliet_path=f"/{name}")
            out[name] = data.getvalue().decode()
        return out
    finally:
        iso.close()
