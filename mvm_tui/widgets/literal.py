"""Names from hosts, shown as they are written.

A VM, network, pool or host name comes from the hosts, and anything can be in it: `web[/]01`
is markup to Textual (a closing tag with nothing open: the app crashes) and
`[@click=app.quit]x` is an action. Every string that may hold such a name reaches a widget as
rich Text made here (never as a markup string); notifications are plain text (MvmApp.notify);
a widget id made from a name goes through widget_id(); the command palette's titles
(markup only) through markup_literal().
"""

from __future__ import annotations

import hashlib
import re

from rich.text import Text
from textual.markup import escape

__all__ = ["literal", "markup_literal", "widget_id"]

_IDENTIFIER = re.compile(r"[A-Za-z_-][A-Za-z0-9_-]*")


def literal(text: str, style: str = "") -> Text:
    """`text` exactly as written (no markup, no emoji codes), in `style`."""
    return Text(text, style=style)


def markup_literal(text: str) -> str:
    """`text` escaped for the few places that take only a markup string (the command
    palette's commands and their help)."""
    return escape(text)


def widget_id(prefix: str, name: str) -> str:
    """A valid Textual id for the widget of `name`: `prefix-name` when the name is one (so
    tests and CSS can find `#host-hv1`), else `prefix--` and a digest of the name."""
    candidate = f"{prefix}-{name}"
    if _IDENTIFIER.fullmatch(candidate):
        return candidate
    return f"{prefix}--{hashlib.sha256(name.encode()).hexdigest()[:16]}"
