"""The operator's keys: the config's [keys] table, checked against the bindings the TUI
declares, becomes the keymap Textual applies (footer, `?` panel and palette follow it)."""

from __future__ import annotations

import difflib
import importlib
import json
import pkgutil
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import ModuleType

from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen

from mvm_tui import screens, widgets
from mvm_tui.app import MvmApp
from mvm_tui.config import Config, ConfigError


def checked_keymap(config: Config, path: Path) -> dict[str, str]:
    """The config's keys as a Textual keymap; ConfigError (naming `path`) if one names no
    binding or takes a key another binding of the same screen has."""
    problems = keymap_problems(config.keys)
    if problems:
        raise ConfigError(path, problems)
    return dict(config.keys)


def keymap_problems(keys: Mapping[str, str]) -> list[str]:
    """One line per problem, in the loader's style ("keys."go.vms": ...)."""
    classes = binding_classes()
    known = {b.id for cls in classes for b in _own_bindings(cls) if b.id}
    unknown = [f"keys.{json.dumps(bid)}: {_unknown(bid, known)}" for bid in keys
               if bid not in known]
    if unknown:
        return unknown
    where: dict[tuple[str, str, str], list[str]] = {}  # one line per clash, with its screens
    for cls in classes:
        for clash in _clashes(cls, classes, keys):
            where.setdefault(clash, []).append(cls.__name__)
    return [f"keys.{json.dumps(bid)}: {key!r} is already the key of {others} in "
            f"{', '.join(names)}; give each a key of its own"
            for (bid, key, others), names in where.items()]


def _unknown(bid: str, known: set[str]) -> str:
    close = difflib.get_close_matches(bid, known, n=1)
    if close:
        return f"unknown binding id (did you mean {close[0]!r}?)"
    return f"unknown binding id; expected one of: {', '.join(sorted(known))}"


def binding_classes() -> list[type[DOMNode]]:
    """MvmApp and every class of mvm_tui's screens and widgets that declares BINDINGS."""
    modules: list[ModuleType] = []
    for package in (screens, widgets):
        modules += [importlib.import_module(f"{package.__name__}.{m.name}")
                    for m in pkgutil.iter_modules(package.__path__)]
    found: list[type[DOMNode]] = [MvmApp]
    for module in modules:
        found += [cls for cls in vars(module).values()
                  if isinstance(cls, type) and issubclass(cls, DOMNode)
                  and cls.__module__ == module.__name__ and "BINDINGS" in cls.__dict__]
    return found


def _own_bindings(cls: type[DOMNode]) -> Iterable[Binding]:
    """The class's own bindings, one per key ("n,escape" is two)."""
    return Binding.make_bindings(cls.__dict__.get("BINDINGS", []))


def _split_keys(keys: str) -> list[str]:
    """The keys of "3, v" as Textual names them ("?" is "question_mark")."""
    return [b.key for b in Binding.make_bindings([Binding(keys, "")])]


def _clashes(cls: type[DOMNode], classes: list[type[DOMNode]],
             keys: Mapping[str, str]) -> Iterator[tuple[str, str, str]]:
    """(binding id, key, other ids) for each key the keymap gives to a binding that shares it
    with another binding active on the same screen: the class's, its bases', and the app's for
    a screen. Clashes of the defaults are left alone (a dialog's `q` closes it, before the
    app's `q` quits)."""
    scope = [c for c in cls.__mro__ if c in classes]
    if issubclass(cls, Screen):
        scope.append(MvmApp)
    defaults: dict[str, list[str]] = {}
    for c in scope:
        for b in _own_bindings(c):
            if b.id:
                defaults.setdefault(b.id, []).append(b.key)
    owners: dict[str, list[str]] = {}
    for bid, default in defaults.items():
        for key in _split_keys(keys[bid]) if bid in keys else default:
            owners.setdefault(key, []).append(bid)
    for bid in keys:
        for key in _split_keys(keys[bid]) if bid in defaults else []:
            others = [o for o in owners[key] if o != bid]
            if others and key not in defaults[bid]:
                yield bid, key, ", ".join(others)
