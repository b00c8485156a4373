"""The wording of config.toml's problems: ConfigError, one line per problem naming the file,
the key and what is expected (an unknown key with the close one, a secret refused)."""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from mvm_tui.config.fields import describe
from mvm_tui.config.model import Config
from mvm_tui.core.validation import validate_hostname_label

MAX_ERROR_LINES = 20

_SECRET_WORDS = frozenset(
    {"password", "passwd", "pass", "pw", "pwd", "passphrase", "secret", "token", "credential",
     "credentials", "apikey", "api_key"}
)
_SECRET_SUFFIXES = ("password", "passwd", "passphrase", "secret", "token")


def _looks_secret(key: str) -> bool:
    k = key.lower().replace("-", "_")
    return bool(_SECRET_WORDS & set(k.split("_"))) or k.endswith(_SECRET_SUFFIXES)


class ConfigError(Exception):
    """config.toml cannot be used; str() is the whole message for the operator, one problem
    per line, each starting with the file's path."""

    def __init__(self, path: Path, problems: list[str] | str) -> None:
        self.path = path
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(f"{path}: {p}" for p in self.problems))


_TOML_POS = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$")


def toml_message(e: tomllib.TOMLDecodeError) -> str:
    """ "line 3, column 5: TOML syntax error: Expected '=' after a key ..." """
    # Python 3.11's tomllib puts the position at the end of the message: "(at line 3, column 5)"
    msg = str(e)
    line: object = getattr(e, "lineno", None)
    col: object = getattr(e, "colno", None)
    m = _TOML_POS.search(msg)
    if m is not None:
        msg = msg[: m.start()]
        if line is None and m.group(1):
            line, col = int(m.group(1)), int(m.group(2))
        elif line is None:
            return f"at the end of the file: TOML syntax error: {msg}"
    if line is not None:
        return f"line {line}, column {col}: TOML syntax error: {msg}"
    return f"TOML syntax error: {msg}"


def format_validation_error(error: ValidationError, data: object = None) -> list[str]:
    """One line per problem: "clusters[0].hosts[1].adress: unknown key (did you mean ...)".

    `data` is the raw input (the parsed TOML): it is used to add the names of the cluster and
    host a problem is in.
    """
    errors = error.errors(include_url=False)
    # A misspelt key makes the right one "missing" too: the suggestion says it all.
    suggested = {
        (tuple(e["loc"][:-1]), _suggestion(tuple(e["loc"]))[0])
        for e in errors
        if e["type"] == "extra_forbidden"
    }
    lines: list[str] = []
    seen: set[str] = set()
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "missing" and (loc[:-1], loc[-1]) in suggested:
            continue
        msg = _message(err, loc)
        line = f"{_format_loc(loc) or '(top level)'}: {msg}{_names(loc, data)}"
        if line not in seen:
            seen.add(line)
            lines.append(line)
    if len(lines) > MAX_ERROR_LINES:
        more = len(lines) - MAX_ERROR_LINES
        lines = [*lines[:MAX_ERROR_LINES], f"... and {more} more problems"]
    return lines


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            # a key that is not a bare TOML key is shown quoted, escaped (no control character
            # reaches the terminal)
            key = part if _BARE_KEY.fullmatch(part) else json.dumps(part)
            out += f".{key}" if out else key
    return out


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _names(loc: tuple[int | str, ...], data: object) -> str:
    """" (in cluster 'prod', host 'hv2')" for a location inside named list items."""
    found: list[str] = []
    node = data
    for i, part in enumerate(loc):
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            node = node[part]
            name = node.get("name") if isinstance(node, dict) else None
            table = loc[i - 1] if i else ""
            if isinstance(name, str) and isinstance(table, str):
                try:
                    validate_hostname_label(name)
                except ValueError:
                    continue
                found.append(f"{table.removesuffix('s')} {name!r}")
        elif isinstance(part, str) and isinstance(node, dict):
            node = node.get(part)
        else:
            break
    return f" (in {', '.join(found)})" if found else ""


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model whose table `loc` points into (for the field names of an unknown key)."""
    model: type[BaseModel] | None = Config
    for part in loc:
        if model is None:
            return None
        if isinstance(part, str):
            field = model.model_fields.get(part)
            model = _find_model(field.annotation) if field else None
    return model


def _find_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _find_model(arg)
        if found is not None:
            return found
    return None


def _message(err: Any, loc: tuple[int | str, ...]) -> str:
    kind: str = err["type"]
    ctx: dict[str, Any] = err.get("ctx") or {}
    got = describe(err.get("input"))
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{str(err['msg']).replace('Input should be', 'must be')}, got {got}"
    if kind in ("list_type", "tuple_type") and isinstance(err.get("input"), dict):
        table = ".".join(p for p in loc if isinstance(p, str))
        return f"expected a list, got a table: write [[{table}]] for each entry"
    if kind == "enum":
        return f"expected {ctx.get('expected', 'one of the listed values')}, got {got}"
    # (pydantic's own message is never a template: it may hold braces, as a pattern does)
    template = _TEMPLATES.get(kind)
    return template.format(got=got) if template else f"{err['msg']}, got {got}"


_TEMPLATES = {
    kind: expected + ", got {got}"
    for kinds, expected in (
        ("float_type float_parsing", "expected a number"),
        ("int_type int_parsing int_from_float", "expected a whole number"),
        ("finite_number", "expected a finite number"),
        ("bool_type bool_parsing", "expected true or false"),
        ("string_type", "expected a string in quotes"),
        ("list_type tuple_type", "expected a list"),
        ("model_type model_attributes_type dict_type", "expected a table"),
        ("path_type", "expected a file path in quotes"),
    )
    for kind in kinds.split()
} | {"missing": "required key is missing"}


def _suggestion(loc: tuple[int | str, ...]) -> tuple[str | None, list[str]]:
    """For an unknown key: the close field name (if any) and the table's field names."""
    model = _model_at(loc[:-1])
    fields = list(model.model_fields) if model else []
    close = difflib.get_close_matches(str(loc[-1]), fields, n=1) if loc else []
    return (close[0] if close else None), fields


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    key = str(loc[-1]) if loc else ""
    suggestion, fields = _suggestion(loc)
    near = suggestion is not None and difflib.SequenceMatcher(None, key, suggestion).ratio() >= 0.85
    if _looks_secret(key) and not near:
        return (
            "secrets are never stored in the config: remove this key; mvm-tui asks for "
            "passwords when it needs them (set password_auth = true on a host to log in "
            "with a password)"
        )
    if suggestion:
        return f"unknown key (did you mean {suggestion!r}?)"
    if fields:
        return f"unknown key; expected one of: {', '.join(fields)}"
    return "unknown key"
