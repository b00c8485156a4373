"""The shape of the package: lines per layer, the largest modules, import circles and arrows
that point up (a lower layer importing a higher one), from the source alone (no import).

    .venv/bin/python bench/layers.py            # this tree
    .venv/bin/python bench/layers.py 14702a3    # the tree at a commit (git archive)

Layers, top to bottom: ui (app*, *cli, screens, widgets, keymap, and session: what builds
the services for them) > services, runs, lab > backends, config > core > base (models,
units, paths, clock...); config may use core and base only.
Imports under `if TYPE_CHECKING:` and inside functions count as imports (a circle through a
deferred import is still a circle in the design).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict
from pathlib import Path

RANK = {"base": 0, "core": 1, "config": 2, "backends": 2, "lab": 3, "runs": 3, "services": 3,
        "ui": 4}
UI_TOP = {"app", "cli", "screens", "widgets", "keymap", "session", "__main__"}


def layer(module: str) -> str:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    if top in ("core", "runs", "services", "backends", "config", "lab"):
        return top
    if top in UI_TOP or top.startswith("app") or top.endswith("_cli"):
        return "ui"
    return "base"


def modules(root: Path) -> dict[str, Path]:
    out = {}
    for path in sorted((root / "mvm_tui").rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            # `from pkg import mod` depends on mod (pkg's __init__ runs, but is not what
            # the module uses); `from pkg import name` on pkg
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def report(root: Path) -> None:
    mods = modules(root)
    graph = {m: imports(m, p, set(mods)) for m, p in mods.items()}
    lines = {m: len(p.read_text().splitlines()) for m, p in mods.items()}
    per_layer: dict[str, int] = defaultdict(int)
    for m, n in lines.items():
        per_layer[layer(m)] += n
    print("lines per layer: " + ", ".join(
        f"{k} {per_layer[k]}" for k in sorted(per_layer, key=lambda k: -RANK[k])))
    print(f"modules: {len(mods)}, lines: {sum(lines.values())}")
    big = sorted(lines.items(), key=lambda kv: -kv[1])[:5]
    print("largest: " + ", ".join(f"{m.removeprefix('mvm_tui.')} {n}" for m, n in big))
    print(f"modules over 400 lines: {sum(1 for n in lines.values() if n > 400)}")
    found = circles(graph)
    print(f"import circles: {len(found)}"
          + "".join(f"\n  {len(c)} modules: {', '.join(c[:6])}{' ...' if len(c) > 6 else ''}"
                    for c in found))
    up = sorted((a, b) for a, targets in graph.items() for b in targets
                if RANK[layer(b)] > RANK[layer(a)]
                or (layer(a) == "config" and layer(b) == "backends"))
    print(f"arrows up: {len(up)}" + "".join(f"\n  {a} -> {b}" for a, b in up[:15])
          + ("\n  ..." if len(up) > 15 else ""))


def main() -> None:
    if len(sys.argv) < 2:
        report(Path(__file__).resolve().parents[1])
        return
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", sys.argv[1], "mvm_tui"], check=True,
                                 capture_output=True).stdout
        tar_path = Path(tmp) / "tree.tar"
        tar_path.write_bytes(archive)
        with tarfile.open(tar_path) as tar:
            tar.extractall(tmp, filter="data")
        report(Path(tmp))


if __name__ == "__main__":
    main()
