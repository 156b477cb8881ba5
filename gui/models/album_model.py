"""Albums as a flat list model, with cover thumbnails loaded lazily off the UI thread.

The catalog only stores a summary of each file's art, so a cover means reading the file and
decoding a picture: far too slow for ``data()``. The model asks a :class:`ThumbnailLoader` for
a cover the first time a view asks for it (a view only asks for the rows it paints), shows a
placeholder meanwhile, and says ``dataChanged`` when the picture arrives.

An album whose files carry no picture shows the cover file beside them (``cover.jpg``,
``folder.jpg``...: :mod:`phonovault.core.tags.folder_art`), found and read by the same loader
from the folder of one of its files.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
from phonovault.core.tags.folder_art import FolderCovers, read_folder_cover
from phonovault.core.tags.reading import read_cover
from phonovault.gui.style import STATE_LABELS, worst_state

THUMB_SIZE = 128
ROLE_ARTIST = Qt.ItemDataRole.UserRole + 1
ROLE_DETAIL = Qt.ItemDataRole.UserRole + 2  # "12 tracks · FLAC"
ROLE_STATE = Qt.ItemDataRole.UserRole + 3  # the worst state of the album's files
ROLE_ROW = Qt.ItemDataRole.UserRole + 4  # the AlbumRow itself

_Index = QModelIndex | QPersistentModelIndex
AlbumKey = tuple[str, str]  # (albumartist, album), as AlbumRow has them


@dataclass(frozen=True, slots=True)
class CoverSource:
    """Where a thumbnail comes from: the picture embedded in ``path``, or (``embedded`` False)
    the cover file in its folder, never looked for outside ``root``."""

    path: str
    root: str
    embedded: bool
    art_hash: str | None = None  # of the embedded picture


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


def folder_art_files(catalog: Catalog, rows: list[AlbumRow]) -> dict[AlbumKey, int]:
    """Album -> the file in whose folder its cover file is looked for, for the ``rows`` whose
    files carry no picture (the lowest id of its present files). One pass over the catalog's
    album grouping (grouped as ``album_rows`` does): a loader thread runs it."""
    out: dict[AlbumKey, int] = {}
    without = {(r.albumartist, r.album): r.cover_file_id is None for r in rows}
    for file_id, _root, albumartist, artist, album in catalog.album_grouping():
        key = (albumartist or artist or "Unknown artist", album or "Unknown album")
        if without.get(key) and file_id < out.get(key, file_id + 1):
            out[key] = file_id
    return out


def art_versions(
    catalog: Catalog, file_ids: list[int], covers: FolderCovers | None = None
) -> dict[int, object]:
    """File id -> the version of its thumbnail's picture: the art hash of an embedded one,
    else that of the cover file in its folder (None once gone), for
    :meth:`ThumbnailLoader.revalidate`. A loader thread reads these (folders included)."""
    covers = covers or FolderCovers()
    versions: dict[int, object] = {}
    for file_id in file_ids:
        try:
            rec = catalog.file(file_id)
            root = catalog.root(rec.root_id).path
        except NotInCatalogError:
            versions[file_id] = None
            continue
        if rec.art_hash is not None:
            versions[file_id] = rec.art_hash
            continue
        folder = os.path.dirname(os.path.join(root, os.fsdecode(rec.relpath)))
        cover = covers.find(folder, root)
        versions[file_id] = None if cover is None else cover.version
    return versions


class _ThumbSignals(QObject):
    # Made without a parent and held by every task: a late task may still emit after the
    # loader is gone; the connection simply dies with the loader instead of crashing.
    loaded = Signal(int, QImage, object)  # file id, picture, its version
    failed = Signal(int)


def _picture(source: CoverSource, covers: FolderCovers) -> tuple[bytes | None, object]:
    """(the picture's bytes, its version) from where ``source`` says; None when there is none."""
    if source.embedded:
        try:
            picture = read_cover(source.path)
        except PhonovaultError:  # unreadable file: the placeholder stays, nothing to report
            picture = None
        return (picture.data if picture is not None else None), source.art_hash
    cover = covers.find(os.path.dirname(source.path), source.root)
    if cover is None:
        return None, None
    return read_folder_cover(cover, source.root), cover.version


class _ThumbTask(QRunnable):
    """Reads one album's cover and scales it; never touches widgets or the catalog."""

    def __init__(
        self,
        file_id: int,
        source: CoverSource,
        covers: FolderCovers,
        size: int,
        signals: _ThumbSignals,
    ) -> None:
        super().__init__()
        self.file_id, self.source, self.covers = file_id, source, covers
        self.size, self.signals = size, signals
        self.setAutoDelete(True)

    def run(self) -> None:
        data, version = _picture(self.source, self.covers)
        image = QImage.fromData(data) if data is not None else QImage()
        if image.isNull():
            self.signals.failed.emit(self.file_id)
            return
        scaled = image.scaled(
            self.size,
            self.size,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.signals.loaded.emit(self.file_id, scaled, version)


class ThumbnailLoader(QObject):
    """Cover thumbnails by file id: an LRU cache and a small last-in-first-out work stack.

    Last in, first out, because the rows asked for most recently are the ones on screen after
    a fast scroll; at most ``threads`` covers are read at once, so a disk is not flooded.
    """

    loaded = Signal(int)  # file id; the picture is in pixmap(file_id)

    def __init__(
        self,
        source_for: Callable[[int], CoverSource],
        parent: QObject | None = None,
        *,
        covers: FolderCovers | None = None,
        size: int = THUMB_SIZE,
        threads: int = 2,
        capacity: int = 400,  # ~64 KB each at 128 px: about 25 MB at most
    ) -> None:
        super().__init__(parent)
        self._source_for = source_for  # file id -> where its cover is (a catalog read)
        self.covers = covers or FolderCovers()  # shared with art_versions: one folder memo
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
            else:  # (a folder's cover is not looked at on the UI thread: it is read again)
                try:
                    source = self._source_for(file_id)
                    version = source.art_hash if source.embedded else None
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
                source = self._source_for(file_id)  # a catalog read: UI thread only
            except PhonovaultError:
                self._failed.add(file_id)
                continue
            self._running.add(file_id)
            task = _ThumbTask(file_id, source, self.covers, self._size, self._signals)
            self._pool.start(task)

    def _on_loaded(self, file_id: int, image: QImage, version: object) -> None:
        self._running.discard(file_id)
        self._versions[file_id] = version
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
        self._folder_files: Mapping[AlbumKey, int] = {}
        self._loader = loader
        if loader is not None:
            loader.loaded.connect(self._cover_loaded)

    # -- feeding ---------------------------------------------------------------------------

    def set_albums(
        self, rows: list[AlbumRow], folder_files: Mapping[AlbumKey, int] | None = None
    ) -> None:
        """Show ``rows``; ``folder_files`` (:func:`folder_art_files`) names, for albums without
        embedded art, the file beside which their cover file may lie (None: keep the ones
        known, until :meth:`set_folder_files` brings new ones)."""
        self._all = list(rows)
        if folder_files is not None:
            self._folder_files = dict(folder_files)
        self._apply()

    def set_folder_files(self, folder_files: Mapping[AlbumKey, int]) -> None:
        """New :func:`folder_art_files`: the tiles' covers change, nothing else does."""
        self._folder_files = dict(folder_files)
        self._index_covers()
        if self._rows:
            roles = [Qt.ItemDataRole.DecorationRole]
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, 0), roles)

    def set_filter(self, text: str) -> None:
        text = text.strip().casefold()
        if text != self._filter:
            self._filter = text
            self._apply()

    def _apply(self) -> None:
        self.beginResetModel()
        words = self._filter.split()
        self._rows = [r for r in self._all if _matches(r, words)] if words else list(self._all)
        self._index_covers()
        self.endResetModel()

    def _index_covers(self) -> None:
        covers = ((self.cover_id(r), i) for i, r in enumerate(self._rows))
        self._row_of_cover = {file_id: i for file_id, i in covers if file_id is not None}

    def album(self, row: int) -> AlbumRow:
        return self._rows[row]

    def cover_id(self, row: AlbumRow) -> int | None:
        """The file the album's thumbnail comes from: one with embedded art, else one whose
        folder may hold a cover file."""
        if row.cover_file_id is not None:
            return row.cover_file_id
        return self._folder_files.get((row.albumartist, row.album))

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
        file_id = self.cover_id(row)
        if file_id is None or self._loader is None:
            return None
        pix = self._loader.pixmap(file_id)
        if pix is None:
            self._loader.request(file_id)
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
