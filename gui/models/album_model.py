"""Albums as a flat list model, with cover thumbnails loaded lazily off the UI thread.

The catalog only stores a summary of each file's art, so a cover means reading the file and
decoding a picture: far too slow for ``data()``. The model asks a :class:`ThumbnailLoader` for
a cover the first time a view asks for it (a view only asks for the rows it paints), shows a
placeholder meanwhile, and says ``dataChanged`` when the picture arrives.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from html import escape
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRunnable,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QImage, QPixmap

from phonovault.core.catalog import AlbumRow, Catalog
from phonovault.core.errors import NotInCatalogError, PhonovaultError
from phonovault.core.tags.reading import read_cover
from phonovault.gui.style import STATE_LABELS, worst_state

THUMB_SIZE = 128
ROLE_ARTIST = Qt.ItemDataRole.UserRole + 1
ROLE_DETAIL = Qt.ItemDataRole.UserRole + 2  # "12 tracks · FLAC"
ROLE_STATE = Qt.ItemDataRole.UserRole + 3  # the worst state of the album's files
ROLE_ROW = Qt.ItemDataRole.UserRole + 4  # the AlbumRow itself

_Index = QModelIndex | QPersistentModelIndex


def album_formats(row: AlbumRow) -> list[str]:
    return sorted({f for f in (row.formats or "").split(",") if f})


def album_detail(row: AlbumRow) -> str:
    """The tile's third line: how many tracks, in which formats (a count past two: a tile is
    narrow, and mixed-format albums are rare)."""
    tracks = f"{row.tracks} track" + ("" if row.tracks == 1 else "s")
    formats = album_formats(row)
    if not formats:
        return tracks
    return f"{tracks} · " + (
        " / ".join(formats) if len(formats) <= 2 else f"{len(formats)} formats"
    )


def play_time(seconds: float) -> str:
    """``4:05`` or ``1:02:03``: how long an album or a track plays."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def art_versions(catalog: Catalog, file_ids: list[int]) -> dict[int, object]:
    """File id -> its art hash (None once gone from the catalog), for
    :meth:`ThumbnailLoader.revalidate` (a loader thread reads these)."""
    versions: dict[int, object] = {}
    for file_id in file_ids:
        try:
            versions[file_id] = catalog.file(file_id).art_hash
        except NotInCatalogError:
            versions[file_id] = None
    return versions


class _ThumbSignals(QObject):
    # Made without a parent and held by every task: a late task may still emit after the
    # loader is gone; the connection simply dies with the loader instead of crashing.
    loaded = Signal(int, QImage)
    failed = Signal(int)


class _ThumbTask(QRunnable):
    """Reads one file's front cover and scales it; never touches widgets or the catalog."""

    def __init__(self, file_id: int, path: str, size: int, signals: _ThumbSignals) -> None:
        super().__init__()
        self.file_id, self.path, self.size, self.signals = file_id, path, size, signals
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            picture = read_cover(self.path)
        except PhonovaultError:  # unreadable file: the placeholder stays, nothing to report
            picture = None
        image = QImage.fromData(picture.data) if picture is not None else QImage()
        if image.isNull():
            self.signals.failed.emit(self.file_id)
            return
        scaled = image.scaled(
            self.size,
            self.size,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.signals.loaded.emit(self.file_id, scaled)


class ThumbnailLoader(QObject):
    """Cover thumbnails by file id: an LRU cache and a small last-in-first-out work stack.

    Last in, first out, because the rows asked for most recently are the ones on screen after
    a fast scroll; at most ``threads`` covers are read at once, so a disk is not flooded.
    """

    loaded = Signal(int)  # file id; the picture is in pixmap(file_id)

    def __init__(
        self,
        source_for: Callable[[int], tuple[str, object]],
        parent: QObject | None = None,
        *,
        size: int = THUMB_SIZE,
        threads: int = 2,
        capacity: int = 400,  # ~64 KB each at 128 px: about 25 MB at most
    ) -> None:
        super().__init__(parent)
        self._source_for = source_for  # file id -> (path, version of its art)
        self._size = size
        self._threads = threads
        self._capacity = capacity
        self._pool = QThreadPool(self)  # its destructor waits for running tasks
        self._pool.setMaxThreadCount(threads)
        self._signals = _ThumbSignals()
        self._signals.loaded.connect(self._on_loaded)
        self._signals.failed.connect(self._on_failed)
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self._versions: dict[int, object] = {}
        self._stack: list[int] = []
        self._running: set[int] = set()
        self._failed: set[int] = set()

    def pixmap(self, file_id: int) -> QPixmap | None:
        pix = self._cache.get(file_id)
        if pix is not None:
            self._cache.move_to_end(file_id)
        return pix

    def request(self, file_id: int) -> None:
        """Ask for a thumbnail; cheap to call on every paint (duplicates are ignored)."""
        if file_id in self._cache or file_id in self._running or file_id in self._failed:
            return
        if file_id in self._stack:
            self._stack.remove(file_id)
        self._stack.append(file_id)
        self._pump()

    def revalidate(self, versions: dict[int, object] | None = None) -> None:
        """After the catalog changed: drop queued work, failures and every cached cover whose
        art changed since it was read (a re-tagged album gets its new cover), or is gone.

        ``versions`` (file id -> art version, None when gone) may come read off the UI
        thread (:func:`art_versions`); covers cached since it was read are current and kept.
        """
        self._stack.clear()
        self._failed.clear()
        for file_id in list(self._cache):
            if versions is not None:
                if file_id not in versions:
                    continue
                version = versions[file_id]
            else:
                try:
                    _path, version = self._source_for(file_id)
                except PhonovaultError:
                    version = None
            if version is None or version != self._versions.get(file_id):
                del self._cache[file_id]
                self._versions.pop(file_id, None)

    def cached_ids(self) -> list[int]:
        return list(self._cache)

    def wait(self, msecs: int = -1) -> bool:
        """Block until no cover is being read (tests and shutdown)."""
        return self._pool.waitForDone(msecs)

    def _pump(self) -> None:
        while self._stack and len(self._running) < self._threads:
            file_id = self._stack.pop()
            try:
                path, version = self._source_for(file_id)  # a catalog read: UI thread only
            except PhonovaultError:
                self._failed.add(file_id)
                continue
            self._versions[file_id] = version
            self._running.add(file_id)
            self._pool.start(_ThumbTask(file_id, path, self._size, self._signals))

    def _on_loaded(self, file_id: int, image: QImage) -> None:
        self._running.discard(file_id)
        self._cache[file_id] = QPixmap.fromImage(image)  # QPixmap only on the UI thread
        while len(self._cache) > self._capacity:
            old, _ = self._cache.popitem(last=False)
            self._versions.pop(old, None)
        self.loaded.emit(file_id)
        self._pump()

    def _on_failed(self, file_id: int) -> None:
        self._running.discard(file_id)
        self._versions.pop(file_id, None)
        self._failed.add(file_id)
        self._pump()


class AlbumModel(QAbstractListModel):
    """One row per album (``Catalog.album_rows()``), filtered in the model by album/artist."""

    def __init__(self, loader: ThumbnailLoader | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self._all: list[AlbumRow] = []
        self._rows: list[AlbumRow] = []
        self._filter = ""
        self._row_of_cover: dict[int, int] = {}
        self._loader = loader
        if loader is not None:
            loader.loaded.connect(self._cover_loaded)

    # -- feeding ---------------------------------------------------------------------------

    def set_albums(self, rows: list[AlbumRow]) -> None:
        self._all = list(rows)
        self._apply()

    def set_filter(self, text: str) -> None:
        text = text.strip().casefold()
        if text != self._filter:
            self._filter = text
            self._apply()

    def _apply(self) -> None:
        self.beginResetModel()
        words = self._filter.split()
        self._rows = [r for r in self._all if _matches(r, words)] if words else list(self._all)
        self._row_of_cover = {
            r.cover_file_id: i for i, r in enumerate(self._rows) if r.cover_file_id is not None
        }
        self.endResetModel()

    def album(self, row: int) -> AlbumRow:
        return self._rows[row]

    def row_of(self, albumartist: str, album: str) -> int | None:
        return next(
            (
                i
                for i, r in enumerate(self._rows)
                if r.albumartist == albumartist and r.album == album
            ),
            None,
        )

    def total(self) -> int:
        """Albums before filtering."""
        return len(self._all)

    # -- Qt model interface ------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.album
        if role == ROLE_ARTIST:
            return row.albumartist
        if role == ROLE_DETAIL:
            return album_detail(row)
        if role == ROLE_STATE:
            return worst_state(row.states)
        if role == ROLE_ROW:
            return row
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnail(row)
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(row)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            state = STATE_LABELS.get(worst_state(row.states), row.states)
            return f"{row.album} by {row.albumartist}, {album_detail(row)}, {state}"
        return None

    def _thumbnail(self, row: AlbumRow) -> QPixmap | None:
        if row.cover_file_id is None or self._loader is None:
            return None
        pix = self._loader.pixmap(row.cover_file_id)
        if pix is None:
            self._loader.request(row.cover_file_id)
        return pix

    def _cover_loaded(self, file_id: int) -> None:
        row = self._row_of_cover.get(file_id)
        if row is not None:
            index = self.index(row, 0)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


def _matches(row: AlbumRow, words: list[str]) -> bool:
    haystack = f"{row.album} {row.albumartist}".casefold()
    return all(w in haystack for w in words)


def _tooltip(row: AlbumRow) -> str:
    states = ", ".join(STATE_LABELS.get(s, s) for s in sorted(set(row.states.split(","))) if s)
    lines = [
        f"<b>{escape(row.album)}</b>",
        escape(row.albumartist) + (f" · {escape(row.date)}" if row.date else ""),
        f"{row.tracks} tracks · {', '.join(album_formats(row))} · {play_time(row.duration)} · "
        f"{row.size / 1e6:,.1f} MB",
        f"Files: {states}",
    ]
    return "<br>".join(lines)
