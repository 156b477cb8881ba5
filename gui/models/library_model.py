"""The library table's model: 200k catalog rows, sorted and filtered inside the model.

Why not a ``QSortFilterProxyModel``: its sort over 200k rows took 31 s here against 139 ms for a
plain Python list sort (STYLE.md, habit 7), and its filter re-asks ``data()`` for every row.
So the model keeps the rows as the catalog returned them and two index lists into them:
``_order`` (every row, in the current sort order) and ``_visible`` (the rows matching the
filter, in the same order). Sort and filter compose because both only rearrange or thin out
those lists; ``data()`` formats one cell on demand, so loading formats nothing.

A reload is prepared off the UI thread (:func:`prepare`: filter text, sort keys, the sorted and
filtered index lists), so swapping it in only resets the model. Rows are held as plain tuples
(:func:`compact_rows`) and read by field position: the cyclic garbage collector stops tracking
a tuple of plain values but never a named tuple, and 200k tracked rows made every full
collection take ~100 ms, holding the GIL (so the UI) all along.
"""

from __future__ import annotations

import os
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from enum import IntEnum
from itertools import compress, repeat
from operator import contains
from typing import Any, NamedTuple

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from phonovault.core.catalog import LibraryRow
from phonovault.gui.style import STATE_LABELS, STATE_RANK, state_color, state_icon

Index = QModelIndex | QPersistentModelIndex
Row = tuple[Any, ...]  # a LibraryRow, or the same values as a plain tuple (compact_rows)
SortKey = Callable[[Row], Any]
Sorts = list[tuple[int, bool]]  # (column, descending), most recent last


class Column(IntEnum):
    TITLE = 0
    ARTIST = 1
    ALBUM = 2
    TRACK = 3
    FORMAT = 4
    DURATION = 5
    QUALITY = 6
    SIZE = 7
    STATE = 8
    VERIFIED = 9
    PATH = 10


HEADERS = ("Title", "Artist", "Album", "Track", "Format", "Duration", "Bits/kHz", "Size (MB)",
           "State", "Last verified", "Path")  # fmt: skip
HEADER_TIPS = (
    "Title tag (the file name when the file has none)",
    "Track artist",
    "Album",
    "Track number (disc-track when the disc is not the first)",
    "Container format",
    "Length (m:ss)",
    "Bit depth / sample rate in kHz (lossy formats show the rate only)",
    "File size in megabytes",
    "Result of the last fixity check",
    "When the file was last re-read and checked",
    "Full path on disk",
)
NUMERIC_COLUMNS = frozenset({Column.TRACK, Column.DURATION, Column.QUALITY, Column.SIZE})

_DISPLAY = Qt.ItemDataRole.DisplayRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_DECORATION = Qt.ItemDataRole.DecorationRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_ALIGN = Qt.ItemDataRole.TextAlignmentRole
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
_STATE_ORDER = {state: rank for rank, state in enumerate(STATE_RANK)}
_MAX_SORT_KEYS = 3  # sort clicks remembered (and replayed after a reload) as tie-breakers
_SORT_CHUNK = 16_384  # rows a loader thread sorts per call, so the GIL changes hands between
_NOTHING = object()  # equal to no sort key
_FEW_TIES = 4  # up to 1 row in this many tied: sort only the tied rows (see SortIndex)
_FILTER_CACHE = 32  # filters remembered (as row masks) for backspacing and re-sorting
# Field positions in a row (rows may be plain tuples, so no attribute access).
(_ID, _PATH, _TITLE, _ARTIST, _ALBUM, _ALBUMARTIST, _TRACK, _DISC, _FORMAT, _DURATION, _BITS,
 _RATE, _SIZE, _STATE, _VERIFIED) = map(LibraryRow._fields.index, (
    "id", "path", "title", "artist", "album", "albumartist", "track", "disc", "format",
    "duration", "bit_depth", "sample_rate", "size", "state", "last_verified"))  # fmt: skip


class SortIndex(NamedTuple):
    """One column's sort, made once per load so a header click sorts few or no values.

    Sorting every row stably by the column then needs, when no two rows share a value, no
    sort at all: ``perm``, reversed for descending (without ties that is the stable
    descending order too). With few ties, only the tied rows are sorted (by ``rank``, in
    their current order) and put in their slots of ``perm``; with many, all rows are sorted
    by ``rank``, small ints that compare in C. Rows without a value (rank -1) go last, in the
    order they came.
    """

    perm: list[int]  # the rows with a value, ascending by it (ties in catalog order)
    rank: array[int]  # row -> dense rank of its value (ties equal), -1 when missing
    missing: bytes | None  # row -> 1 when it has no value (None: every row has one)
    tied: bytes | None  # row -> 1 when another row shares its value (None: too many such)
    tied_at: list[int]  # where the tied rows are in ``perm`` (empty: no ties)


class Prepared(NamedTuple):
    """A reload as a loader thread prepares it: the UI thread only swaps it in."""

    rows: list[Row]
    hay: list[str]  # haystacks(rows)
    indexes: dict[int, SortIndex]  # column -> sort_index(rows, column)
    by_id: dict[int, int]  # id_index(rows)
    sorts: Sorts  # the sort order and filter the lists below were made for
    words: list[str]
    mask: bytes | None  # row -> 1 when it matches ``words`` (None: no words)
    order: list[int]  # every row, sorted
    visible: list[int]  # the rows matching ``words``, in the same order


def compact_rows(rows: list[Row], chunk: int = 20_000) -> list[Row]:
    """The rows as plain tuples, which the cyclic GC stops tracking (see the module doc).

    Empties ``rows`` from the end a slice at a time, so no single call frees many rows (the
    GIL changes hands between slices). The named rows' memory stays with the allocator for
    the next reload's named rows (a plain tuple is smaller): ~30 MB at 200k rows, the price
    of full collections that no longer walk every row.
    """
    parts = []
    while rows:
        parts.append([tuple(r) for r in rows[-chunk:]])
        del rows[-chunk:]
    return [r for part in reversed(parts) for r in part]


def prepare(
    rows: list[Row],
    sorts: Sorts,
    words: list[str],
    chunk: int = _SORT_CHUNK,
    columns: Iterable[int] = (),
) -> Prepared:
    """Everything :meth:`LibraryModel.set_prepared` needs besides the rows, for a loader
    thread: the sort index of the sorted columns and of ``columns`` (none by default; any
    other column is indexed on its first sort, ~50-250 ms at 200k rows: indexing every
    column here took ~3 s per load, stalled the UI and held ~130 MB more). ``chunk`` splits
    each sort (see :func:`sorted_rows`)."""
    hay = haystacks(rows)
    wanted = dict.fromkeys([*columns, *(column for column, _ in sorts)])
    indexes = {column: sort_index(rows, column, chunk) for column in wanted}
    order = list(range(len(rows)))
    for column, descending in sorts:
        order = sorted_by(order, indexes[column], descending)
    whole = "\0" in "".join(words)  # see haystacks()
    mask = match_mask(words, haystacks(rows, whole=True) if whole else hay)
    visible = order if mask is None else masked(order, mask)
    return Prepared(
        rows, hay, indexes, id_index(rows), list(sorts), list(words), mask, order, visible
    )


def sorted_rows(
    indices: list[int], keys: list[Any], has_none: bool, descending: bool, chunk: int = 0
) -> list[int]:
    """``indices`` stably sorted by ``keys`` (missing keys last either way).

    One ``sorted()`` over 200k rows runs in C for ~100 ms without letting go of the GIL. With
    ``chunk``, slices are sorted alone and merged pairwise (linear for sorted runs), each call
    short, so a UI thread waiting for the GIL gets it between them; stable all the same, as
    every merge keeps the earlier slice first among equals.
    """
    if has_none:
        present = [i for i in indices if keys[i] is not None]
        missing = [i for i in indices if keys[i] is None]
        return sorted_rows(present, keys, False, descending, chunk) + missing
    key = keys.__getitem__
    if not chunk or len(indices) <= chunk:
        return sorted(indices, key=key, reverse=descending)
    runs = [sorted(indices[i : i + chunk], key=key, reverse=descending)
            for i in range(0, len(indices), chunk)]  # fmt: skip
    while len(runs) > 1:
        runs = [sorted(runs[i] + runs[i + 1], key=key, reverse=descending)
                if i + 1 < len(runs) else runs[i] for i in range(0, len(runs), 2)]  # fmt: skip
    return runs[0]


def sort_index(rows: Sequence[Row], column: int, chunk: int = 0) -> SortIndex:
    """The :class:`SortIndex` of one column (the values' sort split by ``chunk``)."""
    keys, has_none = sort_keys(rows, column)
    present = [i for i, k in enumerate(keys) if k is not None] if has_none else range(len(keys))
    perm = sorted_rows(list(present), keys, False, False, chunk)
    rank = array("i", [-1]) * len(keys)
    r, previous, start, tied_at = -1, _NOTHING, 0, []
    for at, i in enumerate(perm):
        if (k := keys[i]) != previous:
            if at - start > 1:
                tied_at.extend(range(start, at))
            r, previous, start = r + 1, k, at
        rank[i] = r
    if len(perm) - start > 1:
        tied_at.extend(range(start, len(perm)))
    missing = bytes(map((-1).__eq__, rank)) if has_none else None
    tied = None
    if len(tied_at) <= len(perm) // _FEW_TIES:
        tied = bytes(_member_mask((perm[at] for at in tied_at), len(keys)))
    free_in_chunks([keys])  # 200k key strings freed at once hold the GIL (the UI) too long
    return SortIndex(perm, rank, missing, tied, tied_at)


def sorted_by(indices: list[int], index: SortIndex, descending: bool) -> list[int]:
    """``indices`` (all rows, or a subset) stably sorted by ``index``'s column."""
    perm, rank = index.perm, index.rank
    missing = [] if index.missing is None else masked(indices, index.missing)
    if len(indices) == len(rank) and index.tied is not None:  # every row, few or no ties
        result = perm[::-1] if descending else list(perm)
        if index.tied_at:  # the tied rows, in their current order, sorted among themselves
            tied = sorted(masked(indices, index.tied), key=rank.__getitem__, reverse=descending)
            end = len(perm) - 1
            slots = [end - at for at in reversed(index.tied_at)] if descending else index.tied_at
            deque(map(result.__setitem__, slots, tied), 0)
        return result + missing
    present = indices
    if index.missing is not None:
        present = list(compress(indices, map((-1).__lt__, map(rank.__getitem__, indices))))
    # Python's sort stays stable with reverse=True, and compares small ints in C.
    return sorted(present, key=rank.__getitem__, reverse=descending) + missing


def masked(indices: list[int], mask: bytes) -> list[int]:
    """The ``indices`` whose byte in ``mask`` is set, in order (all in C)."""
    return list(compress(indices, map(mask.__getitem__, indices)))


def _member_mask(indices: Iterable[int], n: int) -> bytearray:
    mask = bytearray(n)
    for i in indices:
        mask[i] = 1
    return mask


def match_mask(
    words: list[str], hay: list[str], candidates: list[int] | None = None
) -> bytes | None:
    """Row -> 1 when its filter text contains every word (None without words), searching only
    ``candidates`` (ascending; default every row).

    Rows are searched in catalog order because that is the order their strings lie in memory:
    the same search in a sorted order missed the CPU cache and took 3-4x as long (~100 ms for
    a two-letter word at 200k rows, against ~30 ms).
    """
    if not words:
        return None
    longest_first = sorted(words, key=len, reverse=True)  # fewest survivors for the rest
    if candidates is None:  # one C pass over every row for the first word
        mask = bytes(map(contains, hay, repeat(longest_first.pop(0))))
        if not longest_first:
            return mask
        candidates = list(compress(range(len(hay)), mask))
    ids = candidates
    for word in longest_first:
        ids = [i for i in ids if word in hay[i]]
    return bytes(_member_mask(ids, len(hay)))


def sort_keys(rows: Sequence[Row], column: int) -> tuple[list[Any], bool]:
    """One column's sort key for every row, and whether any is missing (sorted last)."""
    key = _SORT_KEYS[column]
    keys = [key(r) for r in rows]
    return keys, None in keys


def id_index(rows: Sequence[Row]) -> dict[int, int]:
    """File id -> position in ``rows`` (for selecting a file by id)."""
    return {r[_ID]: i for i, r in enumerate(rows)}


def free_in_chunks(containers: list[Any], chunk: int = 20_000) -> None:
    """Empty big lists a slice at a time. Freeing 200k rows in one C call holds the GIL for
    ~150 ms; between slices another thread (the UI) gets its turn."""
    for container in containers:
        if isinstance(container, list):
            while container:
                del container[-chunk:]
        elif isinstance(container, dict):
            container.clear()


def haystacks(rows: Sequence[Row], whole: bool = False) -> list[str]:
    """Per-row lowercase text the filter searches (title, artist, album, album artist, path).

    Built once per load (the library page builds it on its loader thread); NUL separators keep
    one word from matching across two fields. A field inside another one (the artist in the
    path, say) is left out unless ``whole``: every word it contains is found in the other, so
    matches stay the same for words without a NUL (a word with one is searched in the
    ``whole`` text), and the shorter text is quicker to search (about half, with tags in
    the path).
    """
    if whole:
        return [
            f"{r[_TITLE] or ''}\0{r[_ARTIST] or ''}\0{r[_ALBUM] or ''}\0{r[_ALBUMARTIST] or ''}\0"
            f"{r[_PATH]}".casefold()
            for r in rows
        ]  # fmt: skip
    return [_haystack(r) for r in rows]


def _haystack(r: Row) -> str:
    kept = [r[_PATH].casefold()]
    for field in (r[_TITLE], r[_ARTIST], r[_ALBUM], r[_ALBUMARTIST]):
        if field and not any((folded := field.casefold()) in k for k in kept):
            kept.append(folded)
    return "\0".join(kept)


def _title(r: Row) -> str:
    return r[_TITLE] or os.path.basename(r[_PATH])


def _track(r: Row) -> str:
    track, disc = r[_TRACK], r[_DISC]
    if track is None:
        return ""
    return f"{disc}-{track:02d}" if disc and disc > 1 else str(track)


def clock(seconds: float | None) -> str:
    """``m:ss`` (``h:mm:ss`` past an hour); empty when unknown."""
    if seconds is None:
        return ""
    m, s = divmod(round(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def quality(bit_depth: int | None, sample_rate: int | None) -> str:
    """``24/96``, ``16/44.1``; lossy files (no bit depth) show ``44.1 kHz``."""
    if not sample_rate:
        return f"{bit_depth} bit" if bit_depth else ""
    khz = f"{sample_rate / 1000:g}"
    return f"{bit_depth}/{khz}" if bit_depth else f"{khz} kHz"


def day(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(ts)) if ts else "never"


def _folded(text: str | None) -> str | None:
    return text.casefold() if text else None


def _album_position(r: Row) -> str:
    return f"{r[_DISC] or 0:04d}{r[_TRACK] or 0:06d}{r[_PATH].casefold()}"


def _by_artist(r: Row) -> str | None:
    """Artist, then album, disc and track: how people expect a music library sorted."""
    if not r[_ARTIST]:
        return None
    return f"{r[_ARTIST].casefold()}\0{(r[_ALBUM] or '').casefold()}\0{_album_position(r)}"


def _by_album(r: Row) -> str | None:
    if not r[_ALBUM]:
        return None
    return f"{r[_ALBUM].casefold()}\0{(r[_ALBUMARTIST] or r[_ARTIST] or '').casefold()}\0" + (
        _album_position(r)
    )


# Per column: how a cell reads, and the sort key (None sorts last in both directions).
# Keys are plain strings or numbers: a 200k-row sort compares them in C.
_DISPLAY_FNS: tuple[Callable[[Row], str], ...] = (
    _title,
    lambda r: r[_ARTIST] or "",
    lambda r: r[_ALBUM] or "",
    _track,
    lambda r: r[_FORMAT] or "",
    lambda r: clock(r[_DURATION]),
    lambda r: quality(r[_BITS], r[_RATE]),
    lambda r: f"{r[_SIZE] / 1e6:,.1f}",
    lambda r: STATE_LABELS.get(r[_STATE], r[_STATE]),
    lambda r: day(r[_VERIFIED]),
    lambda r: r[_PATH],
)
_SORT_KEYS: tuple[SortKey, ...] = (
    lambda r: _title(r).casefold(),
    _by_artist,
    _by_album,
    lambda r: None if r[_TRACK] is None else (r[_DISC] or 0) * 100_000 + r[_TRACK],
    lambda r: _folded(r[_FORMAT]),
    lambda r: r[_DURATION],
    lambda r: None if not r[_RATE] else (r[_BITS] or 0) * 10_000_000 + r[_RATE],
    lambda r: r[_SIZE],
    lambda r: _STATE_ORDER.get(r[_STATE], len(_STATE_ORDER)),
    lambda r: r[_VERIFIED],
    lambda r: r[_PATH].casefold(),
)


class LibraryModel(QAbstractTableModel):
    """Catalog rows as a table; ``sort`` and :meth:`set_filter` rearrange index lists only."""

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
        if p.sorts != self._sorts:
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
        if role == _DISPLAY:
            return _DISPLAY_FNS[column](row)
        if role == _DECORATION:
            return state_icon(row[_STATE]) if column == Column.STATE else None
        if role == _FOREGROUND:
            if column == Column.STATE and row[_STATE] != "ok":
                return state_color(row[_STATE])
            return None
        if role == _ALIGN:
            return _RIGHT if column in NUMERIC_COLUMNS else _LEFT
        if role == _TOOLTIP:
            if column in (Column.TITLE, Column.PATH):
                return row[_PATH]
            if column == Column.VERIFIED and row[_VERIFIED]:
                return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row[_VERIFIED]))
            if column == Column.SIZE:
                return f"{row[_SIZE]:,} bytes"
            return None
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
            index = self._indexes[column] = sort_index(self._rows, column)
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

    # -- lookups ----------------------------------------------------------------------------

    def row_data(self, row: int) -> LibraryRow:
        data = self._rows[self._visible[row]]
        return data if isinstance(data, LibraryRow) else LibraryRow._make(data)

    def file_id(self, row: int) -> int:
        return self._rows[self._visible[row]][_ID]

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
