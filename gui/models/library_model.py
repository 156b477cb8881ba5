"""The library table's model: 200k catalog rows, sorted and filtered inside the model.

Why not a ``QSortFilterProxyModel``: its sort over 200k rows took 31 s here against 139 ms for a
plain Python list sort (STYLE.md, habit 7), and its filter re-asks ``data()`` for every row.
So the model keeps the rows as the catalog returned them and two index lists into them:
``_order`` (every row, in the current sort order) and ``_visible`` (the rows matching the
filter, in the same order). Sort and filter compose because both only rearrange or thin out
those lists; ``data()`` formats one cell on demand, so loading formats nothing.

The lists are made by :mod:`phonovault.gui.models.library_rows` (a reload on a loader thread,
see :func:`prepare`); what each column shows and sorts by is in
:mod:`phonovault.gui.models.library_columns`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from itertools import compress
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from phonovault.core.catalog import LibraryRow
from phonovault.gui.models.library_columns import (
    DISPLAY_FNS,
    HEADER_TIPS,
    HEADERS,
    ID,
    NUMERIC_COLUMNS,
    PATH,
    SIZE,
    STATE,
    VERIFIED,
    Column,
    Row,
    state_sort_key,
)
from phonovault.gui.models.library_rows import (
    Prepared,
    SortIndex,
    Sorts,
    haystacks,
    id_index,
    masked,
    match_mask,
    prepare,
    sort_index,
    sorted_by,
)
from phonovault.gui.models.offline import OfflineRoots
from phonovault.gui.style import STATE_LABELS, state_color, state_icon

Index = QModelIndex | QPersistentModelIndex

_DISPLAY = Qt.ItemDataRole.DisplayRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_DECORATION = Qt.ItemDataRole.DecorationRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_ALIGN = Qt.ItemDataRole.TextAlignmentRole
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
_MAX_SORT_KEYS = 3  # sort clicks remembered (and replayed after a reload) as tie-breakers
_FILTER_CACHE = 32  # filters remembered (as row masks) for backspacing and re-sorting


class LibraryModel(QAbstractTableModel):
    """Catalog rows as a table; ``sort`` and :meth:`set_filter` rearrange index lists only.

    Files in an offline root show (and sort) as Offline: :meth:`set_offline` says which
    roots are, and survives reloads (the rows keep the catalog's state; see
    :mod:`phonovault.gui.models.offline`).
    """

    offline_changed = Signal()  # set_offline() changed which roots are offline

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Row] = []
        self._hay: list[str] = []
        self._order: list[int] = []  # every row, sorted
        self._visible: list[int] = []  # rows passing the filter, same order (may be _order)
        self._words: list[str] = []
        self._mask: bytes | None = None  # row -> 1 when it passes the filter (None: no filter)
        self._masks: dict[tuple[str, ...], bytes] = {}  # recent filters (any sort), newest last
        self._sorts: Sorts = []  # (column, descending), most recent last
        self._indexes: dict[int, SortIndex] = {}  # column -> its sort index
        self._by_id: dict[int, int] | None = None  # file id -> index into _rows
        self._offline = OfflineRoots()

    # -- loading ----------------------------------------------------------------------------

    def set_rows(self, rows: list[Row]) -> list[Any]:
        """Replace every row, keeping the current sort and filter, all on this thread (a
        loader thread calls :func:`prepare` instead). Returns what :meth:`set_prepared` does."""
        return self.set_prepared(prepare(rows, self._sorts, self._words, 0))

    def set_prepared(self, prepared: Prepared) -> list[Any]:
        """Swap in a reload made by :func:`prepare`, keeping the current sort and filter: the
        lists made for another sort or filter (a click or keystroke since) are made again.

        Returns the replaced containers: dropping 200k rows costs ~150 ms, which the caller
        may rather spend off the UI thread (see :func:`free_in_chunks`).
        """
        p = prepared
        old = [self._rows, self._hay, self._order, self._visible, self._by_id,
               *(i.perm for i in self._indexes.values())]  # fmt: skip
        self.beginResetModel()
        self._rows, self._hay, self._by_id = p.rows, p.hay, p.by_id
        self._indexes, self._masks = dict(p.indexes), {}
        order = p.order
        # The loader indexed the state column by the stored states, which offline rows do
        # not show: that index (and any order made with it) is made again here.
        stale = self._indexes.pop(Column.STATE, None) if self._offline else None
        if stale is not None:
            old.append(stale.perm)
        if p.sorts != self._sorts or stale is not None:
            order = list(range(len(p.rows)))
            for column, descending in self._sorts:
                order = self._sorted(order, column, descending)
        self._order = order
        if p.words == self._words:
            self._mask = p.mask
            if p.mask is not None:
                self._masks[tuple(p.words)] = p.mask
            self._visible = p.visible if order is p.order else self._masked(order)
        else:
            self._mask = self._match(self._words)
            self._visible = self._masked(order)
        self.endResetModel()
        live = [self._rows, self._hay, self._order, self._visible, self._by_id,
                *(i.perm for i in self._indexes.values())]  # fmt: skip
        return [c for c in old if c is not None and not any(c is x for x in live)]

    # -- Qt model interface -----------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._visible)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _FLAGS

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        if not index.isValid():
            return None
        row = self._rows[self._visible[index.row()]]
        column = index.column()
        if column == Column.STATE:
            return self._state_data(row, role)
        if role == _DISPLAY:
            return DISPLAY_FNS[column](row)
        if role == _ALIGN:
            return _RIGHT if column in NUMERIC_COLUMNS else _LEFT
        if role == _TOOLTIP:
            if column in (Column.TITLE, Column.PATH):
                return row[PATH]
            if column == Column.VERIFIED and row[VERIFIED]:
                return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row[VERIFIED]))
            if column == Column.SIZE:
                return f"{row[SIZE]:,} bytes"
            return None
        return None

    def _state_data(self, row: Row, role: int) -> Any:
        stored = row[STATE]
        state = self._offline.state(stored, row[PATH]) if self._offline else stored
        if role == _DISPLAY:
            return STATE_LABELS.get(state, state)
        if role == _DECORATION:
            return state_icon(state)
        if role == _FOREGROUND:
            return None if state == "ok" else state_color(state)
        if role == _ALIGN:
            return _LEFT
        if role == _TOOLTIP and state != stored:
            folder = self._offline.folder_of(row[PATH])
            where = f"the folder {folder.path} is offline ({folder.reason})" if folder else ""
            return (
                f"Not checked: {where}. Its last check found: {STATE_LABELS.get(stored, stored)}."
            )
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(HEADERS):
            return None
        if role == _DISPLAY:
            return HEADERS[section]
        if role == _TOOLTIP:
            return HEADER_TIPS[section]
        if role == _ALIGN:
            return _RIGHT if section in NUMERIC_COLUMNS else _LEFT
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by one column (stable: the previous order breaks ties); -1 restores the
        catalog order. Missing values go last either way."""
        descending = order == Qt.SortOrder.DescendingOrder
        if column < 0 or column >= len(HEADERS):
            self._sorts = []
            order_ = list(range(len(self._rows)))
        else:
            self._sorts = [s for s in self._sorts if s[0] != column][-(_MAX_SORT_KEYS - 1) :]
            self._sorts.append((column, descending))
            order_ = self._sorted(self._order, column, descending)
        # The visible rows are the sorted rows the filter's mask keeps.
        self._relayout(self._masked(order_), order_)

    # -- filtering --------------------------------------------------------------------------

    def set_filter(self, text: str) -> None:
        """Show rows whose title, artist, album, album artist or path contain every word of
        ``text`` (case-insensitive)."""
        words = text.casefold().split()
        if words == self._words:
            return
        self._words = words
        self._mask = self._match(words)
        self._relayout(self._masked(self._order), self._order)

    def filter_text(self) -> str:
        return " ".join(self._words)

    def _match(self, words: list[str]) -> bytes | None:
        """The filter's row mask: remembered (backspacing repeats a filter typed before), or
        searched among the rows of the narrowest remembered filter it narrows (typing on: when
        every old word lies inside a new one, only rows matching the old words can match)."""
        if not words:
            return None
        key = tuple(words)
        mask = self._masks.pop(key, None)
        if mask is None:
            narrowed = [m for old, m in self._masks.items()
                        if all(any(o in w for w in words) for o in old)]  # fmt: skip
            base = min(narrowed, key=lambda m: m.count(1), default=None)
            candidates = None if base is None else list(compress(range(len(base)), base))
            hay = haystacks(self._rows, whole=True) if "\0" in "".join(words) else self._hay
            mask = match_mask(words, hay, candidates)
            assert mask is not None
        self._masks[key] = mask  # newest last
        while len(self._masks) > _FILTER_CACHE:
            del self._masks[next(iter(self._masks))]
        return mask

    def _masked(self, order: list[int]) -> list[int]:
        return order if self._mask is None else masked(order, self._mask)

    # -- sorting ----------------------------------------------------------------------------

    def _sort_index(self, column: int) -> SortIndex:
        index = self._indexes.get(column)
        if index is None:
            offline = self._offline if column == Column.STATE else None
            key = state_sort_key(offline) if offline else None
            index = self._indexes[column] = sort_index(self._rows, column, key=key)
        return index

    def _sorted(self, indices: list[int], column: int, descending: bool) -> list[int]:
        return sorted_by(indices, self._sort_index(column), descending)

    def _relayout(self, visible: list[int], order: list[int]) -> None:
        """Swap in new index lists, moving persistent indexes (selection, current) along."""
        self.layoutAboutToBeChanged.emit()
        old = self._visible
        self._order, self._visible = order, visible
        persistent = self.persistentIndexList()  # the current row, a selection, an editor
        if persistent:
            srcs = {old[p.row()] for p in persistent if 0 <= p.row() < len(old)}
            if len(srcs) > 16:  # a big selection: one Python pass over every row
                position = {src: row for row, src in enumerate(visible) if src in srcs}
            else:
                position = {src: self._position(src, visible) for src in srcs}
            moved = []
            for p in persistent:
                row = position.get(old[p.row()], -1) if 0 <= p.row() < len(old) else -1
                moved.append(QModelIndex() if row < 0 else self.index(row, p.column()))
            self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    def sort_spec(self) -> Sorts:
        """The sorts a reload replays, oldest first (what :func:`prepare` takes)."""
        return list(self._sorts)

    def filter_words(self) -> list[str]:
        return list(self._words)

    def sort_state(self) -> tuple[int, bool] | None:
        """The last sort (column, descending), or None for catalog order."""
        return self._sorts[-1] if self._sorts else None

    # -- offline roots ----------------------------------------------------------------------

    def set_offline(self, offline: OfflineRoots) -> None:
        """Show the files of these roots as Offline (an empty value: every root is back)."""
        if offline == self._offline:
            return
        self._offline = offline
        if self._indexes.pop(Column.STATE, None) is not None and any(
            column == Column.STATE for column, _ in self._sorts
        ):  # sorted by state: the offline rows move
            order = list(range(len(self._rows)))
            for column, descending in self._sorts:
                order = self._sorted(order, column, descending)
            self._relayout(self._masked(order), order)
        if self._visible:
            last = len(self._visible) - 1
            self.dataChanged.emit(self.index(0, Column.STATE), self.index(last, Column.STATE))
        self.offline_changed.emit()

    def offline_roots(self) -> OfflineRoots:
        """The roots whose files show as Offline (the albums page may use the same)."""
        return self._offline

    def shown_state(self, row: int) -> str:
        """The state a visible row shows: its catalog state, or ``offline``."""
        data = self._rows[self._visible[row]]
        return self._offline.state(data[STATE], data[PATH])

    # -- lookups ----------------------------------------------------------------------------

    def row_data(self, row: int) -> LibraryRow:
        data = self._rows[self._visible[row]]
        return data if isinstance(data, LibraryRow) else LibraryRow._make(data)

    def file_id(self, row: int) -> int:
        return self._rows[self._visible[row]][ID]

    def total_count(self) -> int:
        return len(self._rows)

    def contains_file(self, file_id: int) -> bool:
        return file_id in self._id_map()

    def rows_for_files(self, file_ids: Iterable[int]) -> list[int]:
        """Visible rows of these files, ascending (files filtered out or gone are skipped)."""
        by_id = self._id_map()
        wanted = {by_id[f] for f in file_ids if f in by_id}
        if len(wanted) > 16:  # one pass in Python beats many C scans
            return [row for row, src in enumerate(self._visible) if src in wanted]
        return sorted(row for src in wanted if (row := self._position(src)) >= 0)

    def row_for_file(self, file_id: int) -> int:
        src = self._id_map().get(file_id)
        return -1 if src is None else self._position(src)

    def _position(self, src: int, visible: list[int] | None = None) -> int:
        """Visible row of one row index: ``list.index`` scans 200k ints in C (~1 ms)."""
        try:
            return (self._visible if visible is None else visible).index(src)
        except ValueError:
            return -1

    def _id_map(self) -> dict[int, int]:
        if self._by_id is None:
            self._by_id = id_index(self._rows)
        return self._by_id
