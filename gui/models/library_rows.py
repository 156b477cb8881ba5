"""The library table's rows, prepared off the UI thread: sort indexes and filter masks.

A reload is prepared on a loader thread (:func:`prepare`: filter text, sort keys, the sorted
and filtered index lists), so swapping it in only resets the model. Rows are held as plain
tuples (:func:`compact_rows`) and read by field position: the cyclic garbage collector stops
tracking a tuple of plain values but never a named tuple, and 200k tracked rows made every
full collection take ~100 ms, holding the GIL (so the UI) all along.

Everything here is plain Python on index lists, no Qt: :class:`LibraryModel` only swaps the
lists in (see :mod:`phonovault.gui.models.library_model`).
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Iterable, Sequence
from itertools import compress, repeat
from operator import contains
from typing import Any, NamedTuple

from phonovault.gui.models.library_columns import (
    ALBUM,
    ALBUMARTIST,
    ARTIST,
    ID,
    PATH,
    SORT_KEYS,
    TITLE,
    Row,
    SortKey,
)

Sorts = list[tuple[int, bool]]  # (column, descending), most recent last

_SORT_CHUNK = 16_384  # rows a loader thread sorts per call, so the GIL changes hands between
_NOTHING = object()  # equal to no sort key
_FEW_TIES = 4  # up to 1 row in this many tied: sort only the tied rows (see SortIndex)


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


def sort_index(
    rows: Sequence[Row], column: int, chunk: int = 0, key: SortKey | None = None
) -> SortIndex:
    """The :class:`SortIndex` of one column (the values' sort split by ``chunk``); ``key``
    replaces the column's own sort key (the state column of rows in an offline root)."""
    keys, has_none = sort_keys(rows, column, key)
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


def sort_keys(
    rows: Sequence[Row], column: int, key: SortKey | None = None
) -> tuple[list[Any], bool]:
    """One column's sort key for every row (``key``, by default the column's), and whether
    any is missing (sorted last)."""
    key = key or SORT_KEYS[column]
    keys = [key(r) for r in rows]
    return keys, None in keys


def id_index(rows: Sequence[Row]) -> dict[int, int]:
    """File id -> position in ``rows`` (for selecting a file by id)."""
    return {r[ID]: i for i, r in enumerate(rows)}


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
            f"{r[TITLE] or ''}\0{r[ARTIST] or ''}\0{r[ALBUM] or ''}\0{r[ALBUMARTIST] or ''}\0"
            f"{r[PATH]}".casefold()
            for r in rows
        ]  # fmt: skip
    return [_haystack(r) for r in rows]


def _haystack(r: Row) -> str:
    kept = [r[PATH].casefold()]
    for field in (r[TITLE], r[ARTIST], r[ALBUM], r[ALBUMARTIST]):
        if field and not any((folded := field.casefold()) in k for k in kept):
            kept.append(folded)
    return "\0".join(kept)
