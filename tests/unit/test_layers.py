"""Nothing below the UI line imports textual: core, runs, services, backends stay UI-free."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "mvm_tui"
UI_FREE = ["core", "runs", "services", "backends", "models.py", "config", "clock.py",
           "paths.py", "session.py", "units.py"]
UI_MODULES = ("textual", "textual_plotext")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def ui_free_files() -> list[Path]:
    files: list[Path] = []
    for entry in UI_FREE:
        path = PACKAGE / entry
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


def test_the_ui_free_layers_exist() -> None:
    assert len(ui_free_files()) > 10


@pytest.mark.parametrize("path", ui_free_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_does_not_import_textual(path: Path) -> None:
    bad = {m for m in imported_modules(path) if m.split(".")[0] in UI_MODULES}
    assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


def test_the_check_sees_an_import(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("def f():\n    from textual.app import App\n")
    assert "textual.app" in imported_modules(sample)


def modules_of(entry: str) -> list[Path]:
    return sorted((PACKAGE / entry).rglob("*.py"))


def mvm_imports(path: Path) -> set[str]:
    """The mvm_tui modules `path` imports (`from mvm_tui import paths`: mvm_tui.paths)."""
    names = {m for m in imported_modules(path) if m.split(".")[0] == "mvm_tui"}
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module == "mvm_tui" and node.level == 0:
            names.discard("mvm_tui")
            names.update(f"mvm_tui.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", modules_of("core"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_does_not_import_config(path: Path) -> None:
    """config is built on core (its checks, its types); core takes plain values."""
    bad = {m for m in mvm_imports(path) if m == "mvm_tui.config" or
           m.startswith("mvm_tui.config.")}
    assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


# what the config package may import of mvm-tui: core, the data models, paths, its example
CONFIG_MAY_IMPORT = ("mvm_tui.config", "mvm_tui.core", "mvm_tui.models", "mvm_tui.paths",
                     "mvm_tui.config_example", "mvm_tui.units")


@pytest.mark.parametrize("path", modules_of("config"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_config_imports_nothing_above_core(path: Path) -> None:
    """No services, runs, backends, session or UI under the config."""
    bad = {m for m in mvm_imports(path)
           if not any(m == ok or m.startswith(ok + ".") for ok in CONFIG_MAY_IMPORT)}
    assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"
