"""A table that stays fast at thousands of rows: it renders only the visible lines.

Textual's DataTable rebuilds its row cache on every change, which at 5,000 VMs and a refresh
every 2 s costs more than a frame. Here a refresh replaces a list of plain rows and repaints
the viewport; sorting and the cursor (kept on the same row key across refreshes) are ours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, ClassVar, Literal

from rich.cells import cell_len, set_cell_size
from rich.control import strip_control_codes
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int = 0  # 0: share what the fixed columns leave
    justify: Literal["left", "right"] = "left"
    max_width: int = 0  # a sharing column's widest (0: no limit); what it leaves stays blank


Cells = tuple[str | Text, ...]
_ABSENT = object()


class Row:
    """One line: its key, one comparable value per column to sort by (None sorts last), and
    its cells, or a function that makes them: formatting is done only for rows on screen."""

    __slots__ = ("_cells", "_make", "key", "sort_values")

    def __init__(
        self,
        key: str,
        cells: Cells | Callable[[], Cells],
        sort_values: tuple[Any, ...],
    ) -> None:
        self.key = key
        self.sort_values = sort_values
        self._cells: Cells | None = None
        self._make: Callable[[], Cells] | None = None
        if callable(cells):
            self._make = cells
        else:
            self._cells = cells

    @property
    def cells(self) -> Cells:
        if self._cells is None:
            self._cells = self.make_cells()
        return self._cells

    def make_cells(self) -> Cells:
        assert self._make is not None
        return self._make()

    def sort_value(self, column: int) -> Any:
        return self.sort_values[column]


class ResourceTable(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    ResourceTable { height: 1fr; }
    ResourceTable > .resource-table--header { text-style: bold; background: $panel; }
    ResourceTable > .resource-table--cursor { background: $accent 40%; }
    ResourceTable:focus > .resource-table--cursor { background: $accent; color: $text; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"resource-table--header", "resource-table--cursor"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="table.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="table.pageup"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="table.pagedown"),
        Binding("home", "cursor_to(0)", "First", show=False, id="table.first"),
        Binding("end", "cursor_to(-1)", "Last", show=False, id="table.last"),
        Binding("enter", "select", "Open", id="table.open"),
        Binding("s", "sort_next", "Sort", id="table.sort"),
        Binding("S", "sort_reverse", "Reverse", id="table.reverse", show=False),  # (in ? Keys)
    ]

    class RowSelected(Message):
        def __init__(self, table: ResourceTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> ResourceTable:
            return self.table

    class CursorMoved(Message):
        def __init__(self, table: ResourceTable, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> ResourceTable:
            return self.table

    cursor = reactive(0, repaint=False, init=False)

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        sort_by: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.columns = tuple(columns)
        self.sort_by = sort_by or self.columns[0].key
        self.sort_reverse = False
        self._unsorted: list[Row] = []
        self.rows: list[Row] = []
        self._order: dict[str, Any] | None = None  # each row's sort value when last sorted
        self._cursor_key: str | None = None

    # -- data ------------------------------------------------------------------------------

    def set_rows(self, rows: Sequence[Row]) -> None:
        """Show `rows`. When they are the rows shown already (by key) and none moved in the
        sort column, they keep their places: a refresh that changed only other columns costs
        one pass over the rows, not a sort."""
        self._unsorted = list(rows)
        col = self._sort_column()
        order = self._order
        if order is not None and len(rows) == len(order) and all(
            order.get(r.key, _ABSENT) == r.sort_value(col) for r in rows
        ):
            by_key = {r.key: r for r in rows}
            shown, self.rows = self.rows, [by_key[r.key] for r in self.rows]
            self._repaint_changed(shown)
        else:
            self._resort()

    def rows_changed(self, changed: Sequence[Row]) -> None:
        """The rows shown stay the same objects, `changed` of them updated in place: they
        keep their places unless one moved in the sort column, and only their lines on
        screen are repainted (a refresh costs what changed, not the table's size)."""
        col, order = self._sort_column(), self._order
        if order is None or any(order.get(r.key, _ABSENT) != r.sort_value(col)
                                for r in changed):
            self._resort()
        else:
            self._repaint_changed(self.rows)

    def _repaint_changed(self, shown: list[Row]) -> None:
        """Repaint the lines on screen whose row changed (another object, or cells to make
        again), not the whole table: what a refresh tick changes is mostly off screen."""
        top = int(self.scroll_y)  # (a table not on screen has no lines to repaint)
        bottom = min(len(self.rows), top + self.scrollable_content_region.height - 1)
        for index in range(top, bottom):
            row = self.rows[index]
            if row is not shown[index] or row._cells is None:
                self.refresh_line(index + 1)  # (line 0 is the header)

    @property
    def cursor_key(self) -> str | None:
        return self._cursor_key

    def move_to_key(self, key: str) -> None:
        for index, row in enumerate(self.rows):
            if row.key == key:
                self.cursor = index
                return

    def _resort(self) -> None:
        col = self._sort_column()
        values = [(r.sort_value(col), r) for r in self._unsorted]
        valued = [vr for vr in values if vr[0] is not None]
        valued.sort(key=itemgetter(0), reverse=self.sort_reverse)
        rows = [r for _, r in valued] + [r for v, r in values if v is None]
        self._order = {r.key: v for v, r in values}
        self._show(rows)

    def _sort_column(self) -> int:
        return next(i for i, c in enumerate(self.columns) if c.key == self.sort_by)

    def _show(self, rows: list[Row]) -> None:
        self.rows = rows
        self.virtual_size = Size(self.size.width, len(rows) + 1)
        index = next((i for i, r in enumerate(rows) if r.key == self._cursor_key), None)
        if index is None:
            index = min(self.cursor, max(0, len(rows) - 1))
        self.set_reactive(ResourceTable.cursor, index)
        self._cursor_key = rows[index].key if rows else None
        self._scroll_cursor_visible()
        self.refresh()

    # -- actions ---------------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        self.cursor = self.cursor + delta

    def action_page(self, direction: int) -> None:
        self.cursor = self.cursor + direction * max(1, self.size.height - 2)

    def action_cursor_to(self, index: int) -> None:
        self.cursor = index if index >= 0 else len(self.rows) - 1

    def action_select(self) -> None:
        if self._cursor_key is not None:
            self.post_message(self.RowSelected(self, self._cursor_key))

    def action_sort_next(self) -> None:
        keys = [c.key for c in self.columns]
        self.sort_by = keys[(keys.index(self.sort_by) + 1) % len(keys)]
        self._resort()

    def action_sort_reverse(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._resort()

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.rows) - 1))

    def watch_cursor(self, old: int, new: int) -> None:
        self._cursor_key = self.rows[new].key if self.rows else None
        self._scroll_cursor_visible()
        self.refresh()
        self.post_message(self.CursorMoved(self, self._cursor_key))

    def _scroll_cursor_visible(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, force=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, force=True)

    async def _on_click(self, event: events.Click) -> None:
        if event.y == 0:
            return
        index = int(self.scroll_y) + event.y - 1
        if 0 <= index < len(self.rows):
            if index == self.cursor and event.chain == 2:
                self.action_select()
            self.cursor = index

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)

    # -- rendering -------------------------------------------------------------------------

    def _widths(self, total: int) -> list[int]:
        fixed = sum(c.width for c in self.columns) + len(self.columns) - 1
        flexible = [c for c in self.columns if not c.width]
        share = max(4, (total - fixed) // len(flexible)) if flexible else 0
        return [c.width or min(share, c.max_width or share) for c in self.columns]

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            style = self.get_component_rich_style("resource-table--header")
            return self._strip(self._header_cells(), width, style)
        index = int(self.scroll_y) + y - 1
        if index >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        style = self.rich_style
        if index == self.cursor:
            style = style + self.get_component_rich_style("resource-table--cursor")
        return self._strip(self.rows[index].cells, width, style)

    def _header_cells(self) -> tuple[str, ...]:
        arrow = " ▼" if self.sort_reverse else " ▲"
        return tuple(c.label + (arrow if c.key == self.sort_by else "") for c in self.columns)

    def _strip(self, cells: Sequence[str | Text], width: int, style: Style) -> Strip:
        segments: list[Segment] = []
        for n, (column, cell_width, cell) in enumerate(
            zip(self.columns, self._widths(width), cells, strict=True)
        ):
            if n:
                segments.append(Segment(" ", style))
            if isinstance(cell, str) or not cell.spans:  # one style: no need for Rich's layout
                segments.append(self._cell(cell, column, cell_width, style))
            else:
                segments.extend(self._styled_cell(cell, column, cell_width, style))
        return Strip(segments).adjust_cell_length(width, style)

    def _cell(self, cell: str | Text, column: Column, width: int, style: Style) -> Segment:
        if isinstance(cell, str):
            text = strip_control_codes(cell)  # as Text(cell) does
        else:
            text = cell.plain
            if cell.style:
                style = style + self.app.console.get_style(cell.style)
        length = cell_len(text)
        if length > width:
            text = set_cell_size(text, width - 1) + "…" if width > 0 else ""
            length = width
        pad = " " * (width - length)
        return Segment(pad + text if column.justify == "right" else text + pad, style)

    def _styled_cell(
        self, cell: Text, column: Column, width: int, style: Style
    ) -> Iterable[Segment]:
        text = cell.copy()
        text.truncate(width, overflow="ellipsis")
        if column.justify == "right":
            text.pad_left(width - text.cell_len)
        else:
            text.pad_right(width - text.cell_len)
        for s in text.render(self.app.console):
            yield Segment(s.text, style + s.style if s.style else style)
