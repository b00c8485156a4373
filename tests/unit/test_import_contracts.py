"""The layers of mvm_tui hold: the import contracts of pyproject.toml ([tool.importlinter]: no
Textual below the UI, UI above services above runs above backends and core, screens never
import the app), and no module imports itself back through others when the program runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
# (a process of its own: in this one it would set up logging anew, silencing mvm_tui's loggers)
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

def circles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """Each import a -> b that a chain of imports from b back to a closes, as (a, b, ..., a)."""
    found = []
    for a in sorted(graph.modules):
        for b in sorted(graph.find_modules_directly_imported_by(a)):
            back = graph.find_shortest_chain(importer=b, imported=a)
            if back is not None:
                found.append((a, *back))
    return found


def test_the_import_contracts_hold() -> None:
    done = subprocess.run([LINT_IMPORTS, "--no-cache", str(PYPROJECT)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_module_imports_itself_back_at_run_time() -> None:
    """Imports inside a function count; so do those under TYPE_CHECKING (a circle the type
    checker sees is one in the design)."""
    graph = grimp.build_graph("mvm_tui", cache_dir=None)
    found = "\n".join(" -> ".join(c) for c in circles(graph))
    assert not found, f"import circles:\n{found}"


def test_a_circle_is_found() -> None:
    graph = grimp.ImportGraph()
    for importer, imported in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")]:
        graph.add_import(importer=importer, imported=imported)
    assert circles(graph) == [("p.a", "p.b", "p.c", "p.a"), ("p.b", "p.c", "p.a", "p.b"),
                              ("p.c", "p.a", "p.b", "p.c")]
