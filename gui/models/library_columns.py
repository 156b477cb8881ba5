"""The library table's columns: their headers, how a cell reads and how a column sorts.

Rows may be :class:`LibraryRow` named tuples or the same values as plain tuples (see
:mod:`phonovault.gui.models.library_rows`), so everything here reads fields by position.
The formatters :func:`clock` and :func:`quality` are shared with the details pane.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from enum import IntEnum
from typing import Any

from phonovault.core.catalog import LibraryRow
from phonovault.gui.models.offline import OFFLINE, OfflineRoots
from phonovault.gui.style import STATE_LABELS, STATE_RANK

Row = tuple[Any, ...]  # a LibraryRow, or the same values as a plain tuple (compact_rows)
SortKey = Callable[[Row], Any]


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
    "Format (for MP4 files, the codec: AAC or ALAC)",
    "Length (m:ss)",
    "Bit depth / sample rate in kHz (lossy formats show the rate only)",
    "File size in megabytes",
    "Result of the last fixity check",
    "When the file was last re-read and checked",
    "Full path on disk",
)
NUMERIC_COLUMNS = frozenset({Column.TRACK, Column.DURATION, Column.QUALITY, Column.SIZE})

_STATE_ORDER = {state: rank for rank, state in enumerate(STATE_RANK)}
# Field positions in a row (rows may be plain tuples, so no attribute access).
(ID, PATH, TITLE, ARTIST, ALBUM, ALBUMARTIST, TRACK, DISC, FORMAT, DURATION, BITS, RATE, SIZE,
 STATE, VERIFIED) = map(LibraryRow._fields.index, (
    "id", "path", "title", "artist", "album", "albumartist", "track", "disc", "format",
    "duration", "bit_depth", "sample_rate", "size", "state", "last_verified"))  # fmt: skip


def _title(r: Row) -> str:
    return r[TITLE] or os.path.basename(r[PATH])


def _track(r: Row) -> str:
    track, disc = r[TRACK], r[DISC]
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
    return f"{r[DISC] or 0:04d}{r[TRACK] or 0:06d}{r[PATH].casefold()}"


def _by_artist(r: Row) -> str | None:
    """Artist, then album, disc and track: how people expect a music library sorted."""
    if not r[ARTIST]:
        return None
    return f"{r[ARTIST].casefold()}\0{(r[ALBUM] or '').casefold()}\0{_album_position(r)}"


def _by_album(r: Row) -> str | None:
    if not r[ALBUM]:
        return None
    return f"{r[ALBUM].casefold()}\0{(r[ALBUMARTIST] or r[ARTIST] or '').casefold()}\0" + (
        _album_position(r)
    )


# Per column: how a cell reads, and the sort key (None sorts last in both directions).
# Keys are plain strings or numbers: a 200k-row sort compares them in C.
DISPLAY_FNS: tuple[Callable[[Row], str], ...] = (
    _title,
    lambda r: r[ARTIST] or "",
    lambda r: r[ALBUM] or "",
    _track,
    lambda r: r[FORMAT] or "",
    lambda r: clock(r[DURATION]),
    lambda r: quality(r[BITS], r[RATE]),
    lambda r: f"{r[SIZE] / 1e6:,.1f}",
    lambda r: STATE_LABELS.get(r[STATE], r[STATE]),
    lambda r: day(r[VERIFIED]),
    lambda r: r[PATH],
)
SORT_KEYS: tuple[SortKey, ...] = (
    lambda r: _title(r).casefold(),
    _by_artist,
    _by_album,
    lambda r: None if r[TRACK] is None else (r[DISC] or 0) * 100_000 + r[TRACK],
    lambda r: _folded(r[FORMAT]),
    lambda r: r[DURATION],
    lambda r: None if not r[RATE] else (r[BITS] or 0) * 10_000_000 + r[RATE],
    lambda r: r[SIZE],
    lambda r: _STATE_ORDER.get(r[STATE], len(_STATE_ORDER)),
    lambda r: r[VERIFIED],
    lambda r: r[PATH].casefold(),
)


def state_sort_key(offline: OfflineRoots) -> SortKey:
    """The state column's sort key while some roots are offline: their files sort as
    offline, whatever their last check found (see :mod:`phonovault.gui.models.offline`)."""
    order, unknown, covers = _STATE_ORDER, len(_STATE_ORDER), offline.covers
    offline_rank = order[OFFLINE]
    return lambda r: offline_rank if covers(r[PATH]) else order.get(r[STATE], unknown)
