"""The Library page: every file in one table, filter-as-you-type, sortable, with row actions.

Reading 200k rows from SQLite takes most of a second, so :meth:`LibraryPage.refresh` reads them
through a :class:`BackgroundQuery` (its own connection on a pool thread), which also prepares
the filter text and the sorted, filtered order there; the UI thread only swaps the result into
the model. Filter keystrokes are debounced, and sorting and filtering happen inside the model
(STYLE.md, habit 7).
"""

from __future__ import annotations

import os

from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPoint,
    QSize,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QGuiApplication,
    QKeySequence,
    QResizeEvent,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from phonovault.core.catalog import Catalog, LibraryRow
from phonovault.core.errors import NotInCatalogError
from phonovault.gui.context import AppContext
from phonovault.gui.loader import BackgroundQuery, full_collections_deferred
from phonovault.gui.models.library_columns import HEADERS, Column
from phonovault.gui.models.library_model import LibraryModel
from phonovault.gui.models.library_rows import (
    Prepared,
    Sorts,
    compact_rows,
    free_in_chunks,
    prepare,
)
from phonovault.gui.reveal import show_in_folder as reveal
from phonovault.gui.views.accept_confirm import ask_accept, damage_warning
from phonovault.gui.views.restore_flow import RESTORABLE_STATES, RepairFlow

ACCEPTABLE_STATES = frozenset({"audio-changed", "corrupt"})
FILTER_DELAY_MS = 150
# Widest value each compact column usually shows (constant samples: never ResizeToContents,
# which measures every row). Title, artist and album share the rest of the width.
_SAMPLES = {Column.TRACK: "10-99", Column.FORMAT: "Ogg Vorbis", Column.DURATION: "10:59",
            Column.QUALITY: "24/192", Column.SIZE: "1,000.0", Column.STATE: "Audio changed",
            Column.VERIFIED: "2000-12-31", Column.PATH: "x" * 70}  # fmt: skip
_SHARES = {Column.TITLE: (0.4, 160), Column.ARTIST: (0.3, 110), Column.ALBUM: (0.3, 120)}


def read_rows(catalog: Catalog, sorts: Sorts, words: list[str]) -> Prepared:
    """Loader-thread body: the rows as plain tuples, sorted and filtered as the table shows
    them (see :mod:`phonovault.gui.models.library_rows` on why plain tuples)."""
    with full_collections_deferred():
        rows = compact_rows(catalog.library_rows())
    return prepare(rows, sorts, words)


class LibraryPage(QWidget):
    """Filter box, count and the table; emits ``file_selected`` for the current row."""

    file_selected = Signal(int)
    loaded = Signal()  # the model holds the rows of the latest refresh()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.model = LibraryModel(self)
        self._query = BackgroundQuery(ctx.catalog, self)
        self._query.finished.connect(self._rows_loaded)
        self._query.failed.connect(self._load_failed)
        self._pool = QThreadPool(self)  # frees replaced rows off the UI thread
        self._pool.setMaxThreadCount(1)
        self._restoring = False  # selection restored after a reload is not a user's choice
        self._sizing = False  # fit_columns() is resizing, not the user
        self.restore = RepairFlow(ctx, self)  # "Restore from backup…": plan, then confirm
        self._build()

    # -- construction -----------------------------------------------------------------------

    def _build(self) -> None:
        top = self._build_filter()
        self._build_table()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)

    def _build_filter(self) -> QHBoxLayout:
        """The filter field (applied after a pause in typing, or on Enter) and the count."""
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter by title, artist, album or path")
        self.filter_edit.setClearButtonEnabled(True)
        self.count_label = QLabel("Loading…", self)
        self._filter_timer = QTimer(self, singleShot=True, interval=FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.apply_filter)
        self.filter_edit.textChanged.connect(self._filter_timer.start)
        self.filter_edit.returnPressed.connect(self.apply_filter)
        QShortcut(QKeySequence.StandardKey.Find, self, self._focus_filter)
        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.count_label)
        return top

    def _build_table(self) -> None:
        """The table: fixed row height, movable columns, sorting inside the model."""
        self.view = view = QTableView(self)
        view.setModel(self.model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        view.setAlternatingRowColors(True)
        view.setShowGrid(False)
        view.setWordWrap(False)
        view.setCornerButtonEnabled(False)
        view.setIconSize(QSize(16, 16))
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._show_context_menu)
        view.activated.connect(lambda index: self.show_details())
        fm = view.fontMetrics()
        rows = view.verticalHeader()
        rows.setVisible(False)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setMinimumSectionSize(1)
        rows.setDefaultSectionSize(max(fm.height(), 16) + 6)
        header = view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionsMovable(True)
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        header.setSortIndicator(Column.ARTIST, Qt.SortOrder.AscendingOrder)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._show_header_menu)
        self._auto_width = True  # until the user drags a column edge
        header.sectionResized.connect(self._column_resized)
        view.setColumnHidden(Column.PATH, True)
        header.moveSection(header.visualIndex(Column.STATE), 0)  # state first: what matters here
        view.setSortingEnabled(True)  # header clicks call LibraryModel.sort (in-model)
        view.selectionModel().currentRowChanged.connect(self._current_changed)

    def fit_columns(self) -> None:
        """Size the compact columns for their usual values and share the rest of the
        viewport among title, artist and album (only until the user resizes a column)."""
        view, header = self.view, self.view.horizontalHeader()
        text_fm, head_fm = view.fontMetrics(), header.fontMetrics()
        pad = 2 * view.style().pixelMetric(view.style().PixelMetric.PM_HeaderMargin) + 8
        self._sizing = True
        try:
            used = 0
            for column, sample in _SAMPLES.items():
                text = max(
                    text_fm.horizontalAdvance(sample), head_fm.horizontalAdvance(HEADERS[column])
                )
                width = text + pad + (20 if column == Column.STATE else 0)  # state has an icon
                view.setColumnWidth(column, width)
                used += 0 if view.isColumnHidden(column) else width
            free = view.viewport().width() - used
            for column, (share, least) in _SHARES.items():
                view.setColumnWidth(column, max(int(free * share), least))
        finally:
            self._sizing = False

    def _column_resized(self, _column: int, _old: int, _new: int) -> None:
        # Only a drag on the header is the user's choice; hiding a column, fit_columns() and
        # the stretched last column following the window are not.
        dragging = QGuiApplication.mouseButtons() & Qt.MouseButton.LeftButton
        if dragging and not self._sizing and self.view.horizontalHeader().underMouse():
            self._auto_width = False

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._auto_width:
            self.fit_columns()

    # -- loading ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read the rows from the catalog, keeping filter, sort, selection and scroll.

        The read runs on the loader thread; ``loaded`` says when the table shows it. A
        refresh asked for while one is running replaces it (see :class:`BackgroundQuery`).
        """
        if not self.model.total_count():
            self.count_label.setText("Loading…")
        sorts, words = self.model.sort_spec(), self.model.filter_words()
        self._query.request(lambda catalog: read_rows(catalog, sorts, words))

    def is_loading(self) -> bool:
        return self._query.is_busy()

    def _rows_loaded(self, prepared: Prepared) -> None:
        self._apply_rows(prepared)

    def _load_failed(self, message: str) -> None:
        self.count_label.setText(f"Cannot read the catalog: {message}")

    def _apply_rows(self, prepared: Prepared) -> None:
        """Swap the rows in, then put back the selection, current file and scroll position."""
        view = self.view
        current = self.current_file_id()
        selected = self.selected_file_ids()
        top_row = view.rowAt(0)
        top_id = self.model.file_id(top_row) if top_row >= 0 else None
        replaced = self.model.set_prepared(prepared)
        self._pool.start(lambda: free_in_chunks(replaced))
        self._restoring = True
        try:
            if top_id is not None and (row := self.model.row_for_file(top_id)) >= 0:
                view.scrollTo(self.model.index(row, 0), QAbstractItemView.ScrollHint.PositionAtTop)
            self._select_rows(self.model.rows_for_files(selected), current)
        finally:
            self._restoring = False
        self._update_count()
        self.loaded.emit()

    # -- filter -----------------------------------------------------------------------------

    def apply_filter(self) -> None:
        """Filter now (the debounce timer's end, Enter, or a caller that cannot wait)."""
        self._filter_timer.stop()
        self.model.set_filter(self.filter_edit.text())
        self._update_count()
        current = self.view.currentIndex()
        if current.isValid():
            self.view.scrollTo(current)

    def _focus_filter(self) -> None:
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    def _update_count(self) -> None:
        shown, total = self.model.rowCount(), self.model.total_count()
        noun = "file" if total == 1 else "files"
        text = f"{total:,} {noun}" if shown == total else f"{shown:,} of {total:,} {noun}"
        self.count_label.setText(text)

    # -- selection --------------------------------------------------------------------------

    def current_file_id(self) -> int | None:
        index = self.view.currentIndex()
        return self.model.file_id(index.row()) if index.isValid() else None

    def selected_file_ids(self) -> list[int]:
        return [self.model.file_id(i.row()) for i in self.view.selectionModel().selectedRows()]

    def selected_rows(self) -> list[LibraryRow]:
        return [self.model.row_data(i.row()) for i in self.view.selectionModel().selectedRows()]

    def select_file(self, file_id: int) -> bool:
        """Select one file and scroll to it, clearing the filter if it hides the file."""
        if not self.model.contains_file(file_id):
            return False
        row = self.model.row_for_file(file_id)
        if row < 0 and self.filter_edit.text():
            self.filter_edit.clear()
            self.apply_filter()
            row = self.model.row_for_file(file_id)
        if row < 0:
            return False
        self._select_rows([row], file_id)
        self.view.scrollTo(self.model.index(row, 0), QAbstractItemView.ScrollHint.PositionAtCenter)
        return True

    def _select_rows(self, rows: list[int], current_id: int | None) -> None:
        """Select ``rows`` (ascending) as a few contiguous ranges and make ``current_id``
        current without moving the selection."""
        model, selection = self.model, QItemSelection()
        last = model.columnCount() - 1
        start = prev = None
        for row in [*rows, None]:
            if start is not None and (row is None or row != prev + 1):
                selection.select(model.index(start, 0), model.index(prev, last))
                start = None
            if row is not None and start is None:
                start = row
            prev = row
        flags = QItemSelectionModel.SelectionFlag
        sm = self.view.selectionModel()
        sm.select(selection, flags.ClearAndSelect)
        row = model.row_for_file(current_id) if current_id is not None else -1
        if row >= 0:
            sm.setCurrentIndex(model.index(row, 0), flags.NoUpdate)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and not self._restoring:
            self.file_selected.emit(self.model.file_id(current.row()))

    # -- row actions ------------------------------------------------------------------------

    def context_menu(self) -> QMenu:
        """The row menu for the current selection (built per right-click, so it only ever
        offers what applies)."""
        menu = QMenu(self)
        current = self.current_file_id()
        details = menu.addAction("Show details")
        details.setEnabled(current is not None)
        details.triggered.connect(self.show_details)
        folder = menu.addAction("Show in folder")
        folder.setEnabled(current is not None)
        folder.triggered.connect(self.show_in_folder)
        rows = self.selected_rows()
        restorable = [r.id for r in rows if r.state in RESTORABLE_STATES]
        if restorable or any(r.state in ACCEPTABLE_STATES for r in rows):
            menu.addSeparator()
        if restorable:
            restore = menu.addAction("Restore from backup…")
            restore.setToolTip("Plan a restore from a verified good copy; nothing is written yet")
            restore.triggered.connect(lambda: self.restore.restore(restorable))
        if any(r.state in ACCEPTABLE_STATES for r in rows):
            accept = menu.addAction("Accept as new baseline…")
            accept.triggered.connect(self.accept_selected)
        menu.addSeparator()
        ids = self.selected_file_ids()
        decode = menu.addAction("Decode check" + (f" {len(ids):,} files" if len(ids) > 1 else ""))
        decode.setToolTip("Decode the audio to prove it plays, and check FLAC's built-in MD5")
        decode.setEnabled(bool(ids))
        decode.triggered.connect(lambda: self.ctx.decode_check(ids))
        rescan = menu.addAction("Rescan")
        rescan.setToolTip("Index new and changed files in every folder (reads only)")
        rescan.triggered.connect(lambda: self.ctx.scan())
        return menu

    def _show_context_menu(self, pos: QPoint) -> None:
        if not self.view.indexAt(pos).isValid():
            return
        menu = self.context_menu()
        menu.exec(self.view.viewport().mapToGlobal(pos))
        menu.deleteLater()

    def show_details(self) -> None:
        current = self.current_file_id()
        if current is not None:
            self.file_selected.emit(current)

    def show_in_folder(self) -> None:
        current = self.current_file_id()
        if current is None:
            return
        try:
            path = self.ctx.file_path(current)
        except NotInCatalogError:
            return
        reveal(self, path)

    def accept_selected(self) -> bool:
        """Take the selected changed/corrupt files as their new baseline, after asking.

        Returns whether a job was submitted. Accepting is never silent: the old hashes stay in
        the history, but the new audio becomes what later checks compare against.
        """
        rows = [r for r in self.selected_rows() if r.state in ACCEPTABLE_STATES]
        if not rows:
            return False
        one = rows[0].title or os.path.basename(rows[0].path)
        text = (
            f"Accept {f'“{one}”' if len(rows) == 1 else f'{len(rows):,} files'} as the new "
            "baseline?\n\nThe audio as it is now becomes what later checks compare against; "
            "the old hashes stay in the history."
        )
        if warning := damage_warning(self.ctx.catalog, [(r.id, r.path) for r in rows]):
            text += "\n\n" + warning
        elif corrupt := sum(r.state == "corrupt" for r in rows):
            who = "It" if len(rows) == 1 else f"{corrupt:,} of them"
            text += (
                f"\n\n{who} changed although nothing wrote to the file (bit rot?). Restoring "
                "from a backup is usually the right fix instead."
            )
        if not ask_accept(self, text):
            return False
        self.ctx.accept([r.id for r in rows])
        return True

    def _show_header_menu(self, pos: QPoint) -> None:
        """Show or hide columns (Path is hidden until asked for)."""
        menu = QMenu(self)
        for column, name in enumerate(HEADERS):
            action = QAction(name, menu, checkable=True)
            action.setChecked(not self.view.isColumnHidden(column))
            action.toggled.connect(lambda on, c=column: self.view.setColumnHidden(c, not on))
            menu.addAction(action)
        menu.exec(self.view.horizontalHeader().mapToGlobal(pos))
        menu.deleteLater()
