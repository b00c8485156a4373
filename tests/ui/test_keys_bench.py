"""bench/keys.py runs at a tiny size and prints a line for every key it times, with as many
presses as asked (its figures are not checked: timings are the bench's to print)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "keys.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_keys", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its dataclasses look their module up)
    spec.loader.exec_module(module)
    return module


async def test_every_key_is_timed_as_often_as_asked(capsys: pytest.CaptureFixture[str]) -> None:
    keys = load_bench()
    text = "web-1"
    await keys.bench(keys.parse(["--hosts", "2", "--vms", "20", "--presses", "3",
                                 "--rounds", "2", "--tick-every", "2", "--filter", text]))
    lines = capsys.readouterr().out.splitlines()[2:]  # after the title and the header
    rows = {line[:17].strip(): line[17:].split() for line in lines}
    screens = [f"{key} {name}" for key, (name, _) in keys.SCREEN_KEYS.items()]
    expected = {"down": 3, "up": 3, "pagedown": 3, "/": 2, **{f"type {c!r}": 2 for c in text},
                "backspace": 2, "escape (filter)": 2, **dict.fromkeys(screens, 2),
                "enter (detail)": 2, "escape (detail)": 2}
    assert {label: int(figures[0]) for label, figures in rows.items()} == expected


def test_bad_options_are_refused_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    keys = load_bench()
    with pytest.raises(SystemExit):
        keys.parse(["--only", "cursor,mouse"])
    assert "--only: unknown group mouse" in capsys.readouterr().err
