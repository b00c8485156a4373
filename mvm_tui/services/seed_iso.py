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
