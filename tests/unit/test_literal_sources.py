"""No text built from values (an f-string) reaches a widget as markup: the UI code passes it
through widgets.literal (rich Text) instead. A new `Label(f"... {vm.name}")` fails here, even
where the Pilot walk of tests/ui/test_literal_names.py does not go."""

from __future__ import annotations

import ast
from pathlib import Path

import mvm_tui

ROOT = Path(mvm_tui.__file__).parent
UI_FILES = sorted([*ROOT.glob("screens/*.py"), *ROOT.glob("widgets/*.py"), ROOT / "app.py"])
# calls whose positional text arguments are markup when they are str
MARKUP_CALLS = {"Label", "Static", "RadioButton", "Button", "update", "add_row", "add_column"}
MARKUP_ATTRIBUTES = {"border_title", "border_subtitle"}
# reviewed: only numbers, units and constants go into these (no name from a host)
NUMBERS_ONLY = {
    "f'osd.{o.id}'", "f'{o.size_gb:g} GB'", "f'{o.used_gb:g} GB'",
    "f\"{('up' if o.up else 'down')}, {('in' if o.in_ else 'out')}\"",
    "f'{f.vcpus} vCPU, {fmt.pct(host.cpu_pct).strip()} busy'",
    "f'Preflight of {len(self.spec.hosts)} hosts (nothing is changed)'",
    "f'{cap.vcpus_allocated} vCPU allocated'", "f'{fmt.mib(cap.memory_allocated_mb)} allocated'",
    "f'{ceph.num_osds} total, {ceph.num_up_osds} up, {ceph.num_in_osds} in'",
    "f'PGs ({ceph.num_pgs})'",
    "f'read {fmt.rate(vm.disk_rd_bps)}, write {fmt.rate(vm.disk_wr_bps)}'",
    "f'rx {fmt.rate(vm.net_rx_bps)}, tx {fmt.rate(vm.net_tx_bps)}'",
    "f'{self.verb} (y)'",  # a constant verb of the caller
}


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _is_fstring(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp):  # "..." + name
        return _is_fstring(node.left) or _is_fstring(node.right) or \
            isinstance(node.left, ast.Name | ast.Attribute) or \
            isinstance(node.right, ast.Name | ast.Attribute)
    return False


def violations(source: str, filename: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Call) and _name(node.func) in MARKUP_CALLS:
            found += [f"{filename}:{arg.lineno}: {_name(node.func)}({ast.unparse(arg)})"
                      for arg in node.args
                      if _is_fstring(arg) and ast.unparse(arg) not in NUMBERS_ONLY]
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr in MARKUP_ATTRIBUTES \
                        and _is_fstring(node.value):
                    found.append(f"{filename}:{node.lineno}: {target.attr} = "
                                 f"{ast.unparse(node.value)}")
    return found


def test_the_check_finds_what_it_looks_for() -> None:
    assert violations('Label(f"Placement of {vm.name}")', "x.py")
    assert violations('self.border_title = f"#{run.id} {run.title}"', "x.py")
    assert violations('table.add_row(f"{a}", literal(b))', "x.py")
    assert not violations('Label(literal(f"Placement of {vm.name}"))', "x.py")
    assert not violations('Label("Strategy")', "x.py")


def test_no_f_string_reaches_a_widget_as_markup() -> None:
    found = [v for path in UI_FILES for v in violations(path.read_text(), str(path))]
    assert found == [], "wrap these in literal() (mvm_tui/widgets/literal.py):\n" + \
        "\n".join(found)
