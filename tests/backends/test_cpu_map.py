"""libvirt's CPU map on this machine, through the test driver: the names the Add Cluster wizard
offers, and none (not an error) when libvirt cannot say."""

from __future__ import annotations

import libvirt  # type: ignore[import-untyped]
import pytest

from mvm_tui.backends.libvirt.cpu_map import cpu_model_names


def test_libvirt_knows_the_usual_x86_models_sorted() -> None:
    names = cpu_model_names()
    assert {"EPYC-Rome", "Skylake-Server", "qemu64", "Westmere"} <= set(names)
    assert "host-model" not in names
    assert len(names) == len(set(names))
    assert names == sorted(names, key=str.lower)


def test_an_unknown_architecture_gives_none() -> None:
    assert cpu_model_names("no-such-arch") == []


def test_libvirt_failing_to_open_gives_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(uri: str) -> None:
        raise libvirt.libvirtError(f"cannot open {uri}")

    monkeypatch.setattr(libvirt, "open", refuse)
    assert cpu_model_names() == []
