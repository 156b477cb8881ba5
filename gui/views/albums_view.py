"""Albums: a grid of covers with each album's worst state, and the tracks of the chosen one.

Listening people think in albums, so this is where "is my copy of that record intact?" gets
answered at a glance: the badge on a cover is the most alarming state among its tracks.

Grouping 200k files into albums takes the catalog ~0.5 s and listing one album's tracks
~60 ms, so both are read off the UI thread (:class:`BackgroundQuery`) and shown when they land.
An album without embedded art shows the cover file beside its tracks (``cover.jpg``...).

A tile's context menu mutes one rule for the whole album, or lifts mutes there, as jobs that
call the engine's ``mute``/``unmute`` with ``album=`` (the CLI's ``mute --album``).
"""

from __future__ import annotations

import os

from PySide6.QtCore import (
    QItemSelection,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from phonovault.core.catalog import AlbumRow, Catalog, FileRecord
from phonovault.core.tags.folder_art import FolderCovers
from phonovault.gui.context import AppContext
from phonovault.gui.loader import BackgroundQuery, full_collections_deferred
from phonovault.gui.models.album_model import (
    ROLE_ARTIST,
    ROLE_DETAIL,
    ROLE_STATE,
    THUMB_SIZE,
    AlbumModel,
    CoverSource,
    ThumbnailLoader,
    album_formats,
    art_versions,
    folder_art_files,
    play_time,
)
from phonovault.gui.style import STATE_LABELS, state_color, state_icon
from phonovault.gui.views.album_mutes import AlbumMuteActions

TILE_WIDTH = 150
PAD = 6
BADGE = 22
_Index = QModelIndex | QPersistentModelIndex
AlbumKey = tuple[str, str]  # (albumartist, album)


def read_albums(
    catalog: Catalog, cached_covers: list[int], covers: FolderCovers
) -> tuple[list[AlbumRow], dict[int, object]]:
    """Loader-thread body: every album, and the version of each cached cover (a cover file's
    is looked up on disk)."""
    return catalog.album_rows(), art_versions(catalog, cached_covers, covers)


def read_folder_files(catalog: Catalog, rows: list[AlbumRow]) -> dict[AlbumKey, int]:
    """Loader-thread body: for the albums without embedded art, the file beside which a
    cover file may lie. A pass over every file (about 1 s at 200k files), so it runs after
    the albums are shown, and only while the page is, and those covers fill in when it
    lands."""
    with full_collections_deferred():
        return folder_art_files(catalog, rows)


def read_tracks(catalog: Catalog, key: AlbumKey) -> tuple[AlbumKey, list[FileRecord]]:
    """Loader-thread body: one album's files, in disc and track order."""
    return key, [catalog.file(i) for i in catalog.album_file_ids(*key)]


def _mix(a: QColor, b: QColor, amount: float) -> QColor:
    """``a`` moved ``amount`` of the way towards ``b``: secondary text and the placeholder
    derive from the palette, so they read in light and dark themes alike."""
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * amount,
        a.greenF() + (b.greenF() - a.greenF()) * amount,
        a.blueF() + (b.blueF() - a.blueF()) * amount,
    )


class AlbumTileDelegate(QStyledItemDelegate):
    """Paints one album tile: cover (or placeholder), state badge, title, artist, detail."""

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        return QSize(TILE_WIDTH, PAD + THUMB_SIZE + PAD + 3 * option.fontMetrics.height() + PAD)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        opt = option  # state, palette, font and rect are all a tile needs; no initStyleOption
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._paint_background(painter, opt)
        rect = opt.rect
        cover = QRect(
            rect.x() + (rect.width() - THUMB_SIZE) // 2, rect.y() + PAD, *(THUMB_SIZE,) * 2
        )
        self._paint_cover(painter, opt, cover, index.data(Qt.ItemDataRole.DecorationRole))
        self._paint_badge(painter, opt, cover, str(index.data(ROLE_STATE) or "ok"))
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        palette = opt.palette
        text = palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        back = palette.color(QPalette.ColorRole.Highlight if selected else QPalette.ColorRole.Base)
        line = opt.fontMetrics.height()
        box = QRect(rect.x() + PAD, cover.bottom() + PAD, rect.width() - 2 * PAD, line)
        bold = QFont(opt.font)
        bold.setBold(True)
        lines = (
            (str(index.data(Qt.ItemDataRole.DisplayRole) or ""), bold, text),
            (str(index.data(ROLE_ARTIST) or ""), opt.font, text),
            (str(index.data(ROLE_DETAIL) or ""), opt.font, _mix(text, back, 0.4)),
        )
        for value, font, color in lines:
            painter.setFont(font)
            painter.setPen(color)
            elided = painter.fontMetrics().elidedText(
                value, Qt.TextElideMode.ElideRight, box.width()
            )
            painter.drawText(
                box, int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter), elided
            )
            box.translate(0, line)
        painter.restore()

    @staticmethod
    def _paint_background(painter: QPainter, opt: QStyleOptionViewItem) -> None:
        """The whole tile shows selection and hover (styles highlight only the text of an
        icon-mode item, which is easy to miss under a cover)."""
        highlight = opt.palette.color(QPalette.ColorRole.Highlight)
        if opt.state & QStyle.StateFlag.State_Selected:
            fill = highlight
        elif opt.state & QStyle.StateFlag.State_MouseOver:
            fill = QColor(highlight)
            fill.setAlphaF(0.2)
        else:
            return
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawRoundedRect(opt.rect.adjusted(1, 1, -1, -1), 6, 6)

    @staticmethod
    def _paint_cover(
        painter: QPainter, opt: QStyleOptionViewItem, cover: QRect, pix: object
    ) -> None:
        if isinstance(pix, QPixmap) and not pix.isNull():
            target = QRect(
                QPoint(0, 0), pix.size().scaled(cover.size(), Qt.AspectRatioMode.KeepAspectRatio)
            )
            target.moveCenter(cover.center())
            painter.drawPixmap(target, pix)
            return
        # Neutral placeholder until (or unless) a cover arrives: a tint of the text colour.
        text = opt.palette.color(QPalette.ColorRole.Text)
        fill = QColor(text)
        fill.setAlphaF(0.08)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawRoundedRect(cover, 6, 6)
        glyph = QColor(text)
        glyph.setAlphaF(0.35)
        font = QFont(opt.font)
        font.setPixelSize(THUMB_SIZE // 2)
        painter.setFont(font)
        painter.setPen(glyph)
        painter.drawText(cover, int(Qt.AlignmentFlag.AlignCenter), "♪")

    @staticmethod
    def _paint_badge(
        painter: QPainter, opt: QStyleOptionViewItem, cover: QRect, state: str
    ) -> None:
        badge = QRect(cover.right() - BADGE + 4, cover.bottom() - BADGE + 4, BADGE, BADGE)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(opt.palette.color(QPalette.ColorRole.Base))
        painter.drawEllipse(badge)
        inner = badge.adjusted(2, 2, -2, -2)
        painter.setBrush(state_color(state))  # shows even if an icon fails to load
        painter.drawEllipse(inner)
        state_icon(state).paint(painter, inner)


class AlbumsPage(QWidget):
    """The album grid with a filter field, and a track list for the selected album."""

    file_selected = Signal(int)
    loaded = Signal()  # the grid shows the albums of the latest refresh()
    tracks_loaded = Signal()  # the track list shows the chosen album's tracks

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.loader = ThumbnailLoader(self._cover_source, self)
        self.model = AlbumModel(self.loader, self)
        self._current: AlbumKey | None = None  # the album shown below
        self.mutes = AlbumMuteActions(ctx, self)  # the tiles' context menu
        self._albums_query = BackgroundQuery(ctx.catalog, self)
        self._albums_query.finished.connect(self._albums_loaded)
        self._albums_query.failed.connect(self._load_failed)
        self._folder_query = BackgroundQuery(ctx.catalog, self)  # which albums may have one
        self._folder_query.finished.connect(self.model.set_folder_files)
        self._folder_query.failed.connect(self._load_failed)
        self._folder_rows: list[AlbumRow] | None = None  # albums awaiting that pass
        self._tracks_query = BackgroundQuery(ctx.catalog, self)
        self._tracks_query.finished.connect(self._tracks_loaded)
        self._tracks_query.failed.connect(self._load_failed)

        top = self._build_filter()
        self._build_grid()
        below = self._build_track_list()
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(self.grid)
        self.splitter.addWidget(below)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.splitter)
        self._show_album(None)

    def _build_filter(self) -> QHBoxLayout:
        """The filter field (applied after a pause in typing) and the album count."""
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter by album or artist")
        self.filter.setClearButtonEnabled(True)
        self.count = QLabel(self)
        self._filter_timer = QTimer(self, singleShot=True, interval=200)
        self._filter_timer.timeout.connect(self._apply_filter)
        self.filter.textChanged.connect(self._filter_timer.start)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.count)
        return top

    def _build_grid(self) -> None:
        """The album tiles: one size for all, laid out in batches."""
        self.grid = QListView(self)
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setUniformItemSizes(True)  # size hint of one tile serves them all
        # Lay 17k tiles out a thousand per event-loop pass, not all at once (~40 ms, far more
        # while a loader thread is busy): the grid fills in while the window stays live.
        self.grid.setLayoutMode(QListView.LayoutMode.Batched)
        self.grid.setBatchSize(1000)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setWrapping(True)
        self.grid.setSpacing(8)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.grid.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.grid.setItemDelegate(AlbumTileDelegate(self.grid))
        self.grid.setModel(self.model)
        self.grid.selectionModel().selectionChanged.connect(self._album_chosen)
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.grid.customContextMenuRequested.connect(self._album_menu)

    def _build_track_list(self) -> QWidget:
        """The chosen album's heading and tracks, under the grid."""
        self.heading = QLabel(self)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.tracks = QTreeWidget(self)
        self.tracks.setHeaderLabels(["#", "Title", "Length", "State"])
        self.tracks.setRootIsDecorated(False)
        self.tracks.setUniformRowHeights(True)
        self.tracks.setAlternatingRowColors(True)
        self.tracks.itemClicked.connect(self._track_clicked)
        self.tracks.itemActivated.connect(self._track_clicked)
        below = QWidget(self)
        below_layout = QVBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        below_layout.addWidget(self.heading)
        below_layout.addWidget(self.tracks)
        return below

    # -- data ------------------------------------------------------------------------------

    def _cover_source(self, file_id: int) -> CoverSource:
        """Where a cover is read from: the file's embedded picture (with its art hash, so a
        new cover replaces a cached one), else the cover file in its folder."""
        rec = self.ctx.catalog.file(file_id)
        root = self.ctx.catalog.root(rec.root_id).path
        path = os.path.join(root, os.fsdecode(rec.relpath))
        return CoverSource(path, root, rec.art_hash is not None, rec.art_hash)

    def refresh(self) -> None:
        """Re-read the albums (after a job), keeping the selected album when it still exists.

        The reads run off the UI thread: ``loaded`` says when the grid shows them, and
        ``tracks_loaded`` when the chosen album's tracks are shown again."""
        cached, covers = self.loader.cached_ids(), self.loader.covers
        self._albums_query.request(lambda catalog: read_albums(catalog, cached, covers))
        if self._current is not None:
            self._request_tracks(self._current)

    def is_loading(self) -> bool:
        """Whether the grid or the track list waits for a read (covers, like the pass that
        finds which albums may have a cover file, fill in on their own)."""
        return self._albums_query.is_busy() or self._tracks_query.is_busy()

    def _albums_loaded(self, read: tuple[list[AlbumRow], dict[int, object]]) -> None:
        rows, versions = read
        self.loader.revalidate(versions)
        self.model.set_albums(rows)  # (the folder files of the last pass stand in meanwhile)
        self._folder_rows = rows if any(r.cover_file_id is None for r in rows) else None
        self._find_folder_files()
        self._after_reset()
        self.loaded.emit()

    def _find_folder_files(self) -> None:
        """Look for the albums that may have a cover file, once the page is on screen: the
        pass reads every file's album, and a hidden grid needs no covers."""
        rows = self._folder_rows
        if rows is not None and self.isVisible():
            self._folder_rows = None
            self._folder_query.request(lambda catalog: read_folder_files(catalog, rows))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._find_folder_files()

    def _load_failed(self, message: str) -> None:
        self.count.setText(f"Cannot read the catalog: {message}")

    def _apply_filter(self) -> None:
        self.model.set_filter(self.filter.text())
        self._after_reset()

    def _after_reset(self) -> None:
        shown, total = self.model.rowCount(), self.model.total()
        if total == 0:
            self.count.setText("No albums yet")
        elif shown == total:
            self.count.setText(f"{total:,} album" + ("" if total == 1 else "s"))
        else:
            self.count.setText(f"{shown:,} of {total:,} albums")
        key = self._current
        row = self.model.row_of(*key) if key else None
        if row is None:
            self._show_album(None)
            return
        self.grid.selectionModel().blockSignals(True)
        self.grid.setCurrentIndex(self.model.index(row, 0))
        self.grid.selectionModel().blockSignals(False)
        self._show_album(self.model.album(row))

    def select_album(self, albumartist: str, album: str) -> bool:
        row = self.model.row_of(albumartist, album)
        if row is not None:
            self.grid.setCurrentIndex(self.model.index(row, 0))
        return row is not None

    def _album_chosen(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        self._show_album(self.model.album(indexes[0].row()) if indexes else None)

    def _show_album(self, album: AlbumRow | None) -> None:
        """The heading of ``album``; its tracks follow from the catalog when it is another
        album than the one shown (a refresh re-reads the shown one's itself)."""
        if album is None:
            self._current = None
            self.tracks.clear()
            self.heading.setText("Select an album to see its tracks.")
            return
        key = (album.albumartist, album.album)
        if key != self._current:
            self._current = key
            self.tracks.clear()
            self._request_tracks(key)
        year = f" ({album.date[:4]})" if album.date else ""
        length = play_time(album.duration)
        tracks = f"{album.tracks} track" + ("" if album.tracks == 1 else "s")
        formats = ", ".join(album_formats(album))
        self.heading.setText(
            f"{album.album} — {album.albumartist}{year} · {tracks} · {formats} · {length}"
        )

    def _request_tracks(self, key: AlbumKey) -> None:
        self._tracks_query.request(lambda catalog: read_tracks(catalog, key))

    def _tracks_loaded(self, read: tuple[AlbumKey, list[FileRecord]]) -> None:
        key, records = read
        if key != self._current:
            return  # another album was chosen (or none) while these were read
        self.tracks.clear()
        many_discs = len({r.disc for r in records}) > 1
        self.tracks.addTopLevelItems([_track_item(r, many_discs) for r in records])
        for column in range(self.tracks.columnCount()):
            self.tracks.resizeColumnToContents(column)  # one album: a handful of rows
        self.tracks_loaded.emit()

    def _track_clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        self.file_selected.emit(int(item.data(0, Qt.ItemDataRole.UserRole)))

    # -- mutes -----------------------------------------------------------------------------

    def _album_menu(self, pos: QPoint) -> None:
        """The tile's menu (a right click, or the menu key on the current tile)."""
        index = self.grid.indexAt(pos)
        if not index.isValid():
            return
        self.grid.setCurrentIndex(index)
        row = self.model.album(index.row())
        self.mutes.popup((row.albumartist, row.album), self.grid.viewport().mapToGlobal(pos))


def _track_item(rec: FileRecord, many_discs: bool) -> QTreeWidgetItem:
    number = "" if rec.track is None else str(rec.track)
    if many_discs and rec.disc is not None and number:
        number = f"{rec.disc}-{rec.track:02d}"
    title = rec.title or rec.path_text.rsplit("/", 1)[-1]
    length = play_time(rec.duration) if rec.duration else ""
    item = QTreeWidgetItem([number, title, length, STATE_LABELS.get(rec.state, rec.state)])
    item.setData(0, Qt.ItemDataRole.UserRole, rec.id)
    item.setIcon(3, state_icon(rec.state))
    item.setToolTip(1, rec.path_text)
    if rec.state_detail:
        item.setToolTip(3, rec.state_detail)
    item.setTextAlignment(0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item
