"""Backups: the registered targets and whether each is online, the copies that are not a
match per target, how well every album is covered by verified good copies, and the verify
and repair actions (DESIGN.md, "Backups").

Everything the page shows comes from one :class:`BackgroundQuery` read: a target's online
state means looking for its marker on a drive that may be slow or gone, which must never
freeze the window. Verify and repair run as jobs; repair shows its plan first
(:class:`RepairDialog`) and writes only when the user presses its "Repair N files" button.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from phonovault.core.backups.coverage import AlbumCoverage, CoverageReport, coverage
from phonovault.core.backups.repair import RepairPlan
from phonovault.core.backups.targets import targets_status
from phonovault.core.catalog import Catalog, Root, Target
from phonovault.gui.context import AppContext
from phonovault.gui.loader import BackgroundQuery
from phonovault.gui.models.findings_model import format_time
from phonovault.gui.style import state_color, state_icon
from phonovault.gui.views.add_backup_dialog import AddBackupDialog
from phonovault.gui.views.backup_copies import CopiesBox, TargetCopies, read_copies
from phonovault.gui.views.repair_dialog import RepairDialog
from phonovault.gui.views.restore_flow import RepairFlow

DEFAULT_COPIES = 2  # DESIGN.md: files with fewer good copies than this are under-covered
Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()


@dataclass(frozen=True, slots=True)
class BackupsState:
    """What one read of the page gathers, off the UI thread."""

    targets: list[tuple[Target, bool, str | None]]
    roots: list[Root]
    coverage: CoverageReport
    copies: list[TargetCopies]  # per target, the copies that are not a match


def read_state(catalog: Catalog, min_copies: int) -> BackupsState:
    status = targets_status(catalog)
    return BackupsState(status, catalog.roots(), coverage(catalog, min_copies),
                        read_copies(catalog, [t for t, _online, _why in status]))  # fmt: skip


# -- coverage per album ---------------------------------------------------------------------


class CoverageModel(QAbstractTableModel):
    """Albums and their fewest good copies; sorted in the model (STYLE.md, habit 7)."""

    HEADERS = ("Album artist", "Album", "Tracks", "Good copies", "Under-covered")
    COPIES = 3
    BAR_ROLE = Qt.ItemDataRole.UserRole + 1  # (min good copies, wanted) for the bar

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[AlbumCoverage] = []
        self.wanted = DEFAULT_COPIES
        self._sort = (0, Qt.SortOrder.AscendingOrder)

    def set_report(self, report: CoverageReport) -> None:
        self.beginResetModel()
        self.rows = list(report.albums)
        self.wanted = report.min_copies
        self._sort_rows()
        self.endResetModel()

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        a = self.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            under = f"{a.under:,}" if a.under else ""
            copies = f"{a.min_good} of {self.wanted}"
            return (a.albumartist, a.album, f"{a.tracks:,}", copies, under)[column]
        if role == self.BAR_ROLE and column == self.COPIES:
            return (a.min_good, self.wanted)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (2, 4):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column == 4 and a.under:
            return state_color("missing")
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        self._sort_rows()
        self.layoutChanged.emit()

    def _sort_rows(self) -> None:
        column, order = self._sort
        keys = (
            lambda a: (a.albumartist.casefold(), a.album.casefold()),
            lambda a: (a.album.casefold(), a.albumartist.casefold()),
            lambda a: a.tracks,
            lambda a: (a.min_good, -a.under),
            lambda a: a.under,
        )
        self.rows.sort(key=keys[column], reverse=order == Qt.SortOrder.DescendingOrder)


class CopiesBarDelegate(QStyledItemDelegate):
    """A bar of good copies against the number wanted: red with none, amber below, green."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        good, wanted = index.data(CoverageModel.BAR_ROLE) or (0, DEFAULT_COPIES)
        rect = option.rect.adjusted(4, 5, -4, -5)  # type: ignore[attr-defined]
        bar = QRect(rect.left(), rect.top(), rect.width() // 2, rect.height())
        state = "missing" if good == 0 else ("audio-changed" if good < wanted else "ok")
        painter.save()
        painter.setPen(option.palette.mid().color())  # type: ignore[attr-defined]
        painter.drawRect(bar.adjusted(0, 0, -1, -1))
        filled = bar.width() * min(good, wanted) // max(wanted, 1)
        painter.fillRect(QRect(bar.left(), bar.top(), filled, bar.height()), state_color(state))
        painter.setPen(option.palette.text().color())  # type: ignore[attr-defined]
        text = QRect(bar.right() + 8, rect.top(), rect.width() - bar.width() - 8, rect.height())
        painter.drawText(text, Qt.AlignmentFlag.AlignVCenter, index.data())
        painter.restore()


# -- the page -------------------------------------------------------------------------------


class BackupsPage(QWidget):
    """Targets above, coverage below; verify and repair act through the job queue."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.state: BackupsState | None = None
        self.repair_dialog: RepairDialog | None = None
        self.add_dialog: AddBackupDialog | None = None
        # Refresh (or restore) chosen copies through the same repair dialog.
        self.copies_flow = RepairFlow(ctx, self)

        targets_box = self._build_targets_box()
        self.copies = CopiesBox(self)
        self.copies.refresh_requested.connect(self.copies_flow.refresh_copies)
        self.copies.restore_requested.connect(self.copies_flow.restore)
        coverage_box = self._build_coverage_box()
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(targets_box)
        splitter.addWidget(self.copies)
        splitter.addWidget(coverage_box)
        shares = ((1, 150), (3, 300), (2, 250))  # (stretch, first height): copies get most
        for index, (stretch, _height) in enumerate(shares):
            splitter.setStretchFactor(index, stretch)
        splitter.setSizes([height for _stretch, height in shares])
        QVBoxLayout(self).addWidget(splitter)

        self._query = BackgroundQuery(ctx.catalog, self)
        self._query.finished.connect(self._show)
        self._query.failed.connect(lambda message: self.summary.setText(f"Cannot read: {message}"))
        self._plan_query = BackgroundQuery(ctx.catalog, self)
        self._plan_query.finished.connect(self._show_plan)
        self._plan_query.failed.connect(self._plan_failed)
        self._update_buttons()

    def _build_targets_box(self) -> QGroupBox:
        """The backup targets and the buttons that act on them."""
        self.targets = QTreeWidget(self)
        self.targets.setHeaderLabels(["Backup folder", "Library folder", "State", "Last verified"])
        self.targets.setRootIsDecorated(False)
        self.targets.setUniformRowHeights(True)
        self.targets.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.targets.header().resizeSection(0, 240)
        self.targets.header().resizeSection(1, 220)
        self.targets.header().resizeSection(2, 90)
        self.targets.itemSelectionChanged.connect(self._update_buttons)

        self.add_button = QPushButton("Add backup…", self)
        self.verify_button = QPushButton("Verify", self)
        self.verify_full_button = QPushButton("Verify fully", self)
        self.repair_button = QPushButton("Repair…", self)
        self.verify_button.setToolTip("Re-read the copies that changed since their last check")
        self.verify_full_button.setToolTip("Re-read every copy, changed or not")
        self.repair_button.setToolTip("Plan repairs from good copies; nothing is written yet")
        self.add_button.clicked.connect(self.add_backup)
        self.verify_button.clicked.connect(lambda: self.verify(full=False))
        self.verify_full_button.clicked.connect(lambda: self.verify(full=True))
        self.repair_button.clicked.connect(self.plan_repair)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.verify_button, self.verify_full_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.repair_button)
        targets_box = QGroupBox("Backup targets", self)
        targets_layout = QVBoxLayout(targets_box)
        targets_layout.addWidget(self.targets)
        targets_layout.addLayout(buttons)
        return targets_box

    def _build_coverage_box(self) -> QGroupBox:
        """How many good copies each album has, against how many are wanted."""
        self.wanted = QSpinBox(self)
        self.wanted.setRange(1, 9)
        self.wanted.setValue(DEFAULT_COPIES)
        self.wanted.setPrefix("Wanted good copies: ")
        self.wanted.valueChanged.connect(self.refresh)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.model = CoverageModel(self)
        self.albums = QTableView(self)
        self.albums.setModel(self.model)
        self.albums.setSortingEnabled(True)
        self.albums.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.albums.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.albums.setItemDelegateForColumn(CoverageModel.COPIES, CopiesBarDelegate(self.albums))
        self.albums.verticalHeader().setVisible(False)
        self.albums.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.albums.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.albums.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((170, 200, 60, 170)):
            self.albums.horizontalHeader().resizeSection(column, width)
        coverage_box = QGroupBox("Coverage", self)
        coverage_layout = QVBoxLayout(coverage_box)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.wanted)
        coverage_layout.addLayout(top)
        coverage_layout.addWidget(self.albums)
        return coverage_box

    # -- reading ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read targets (is each one's marker there?) and coverage, off the UI thread."""
        wanted = self.wanted.value()
        self._query.request(lambda catalog: read_state(catalog, wanted))

    def is_loading(self) -> bool:
        busy = (self._query, self._plan_query, self.copies_flow)
        return any(q.is_busy() for q in busy)

    def _show(self, state: BackupsState) -> None:
        self.state = state
        selected = self.selected_target_id()
        roots = {r.id: r.path for r in state.roots}
        self.targets.clear()
        for target, online, reason in state.targets:
            text = "Online" if online else "Offline"
            item = QTreeWidgetItem([target.path, roots.get(target.root_id, "?"), text,
                                    format_time(target.last_verified) or "Never"])  # fmt: skip
            item.setData(0, Qt.ItemDataRole.UserRole, target.id)
            item.setIcon(2, state_icon("ok" if online else "offline"))
            item.setToolTip(0, target.path)
            item.setToolTip(2, "The backup's marker is in place" if online else reason or "")
            self.targets.addTopLevelItem(item)
            item.setSelected(target.id == selected)
        self.copies.set_copies(state.copies, {t.id: online for t, online, _ in state.targets})
        self.model.set_report(state.coverage)
        self.summary.setText(_summary(state.coverage))
        self._update_buttons()

    def selected_target_id(self) -> int | None:
        items = self.targets.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    def _update_buttons(self) -> None:
        has_targets = self.targets.topLevelItemCount() > 0
        selected = self.selected_target_id() is not None
        suffix = "" if selected or not has_targets else " all"
        self.verify_button.setText("Verify" + suffix)
        self.verify_full_button.setText("Verify" + suffix + " fully")
        for button in (self.verify_button, self.verify_full_button, self.repair_button):
            button.setEnabled(has_targets)
        self.add_button.setEnabled(bool(self.state and self.state.roots))
        if self.state is not None and not self.state.roots:
            self.add_button.setToolTip("Add a music folder first: a backup copies one of them")

    # -- actions -----------------------------------------------------------------------------

    def add_backup(self) -> None:
        """Ask for the backup folder, which library folder it copies (always shown; never
        picked for the user among several) and whether to verify it now; then register it."""
        roots = [r.path for r in self.state.roots] if self.state else []
        if not roots:
            return
        if self.add_dialog is not None:
            self.add_dialog.raise_()
            return
        dialog = AddBackupDialog(roots, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._add(dialog))
        dialog.finished.connect(lambda _result: setattr(self, "add_dialog", None))
        self.add_dialog = dialog
        dialog.open()

    def _add(self, dialog: AddBackupDialog) -> None:
        root = dialog.root()
        if root is not None:
            self.ctx.add_target(dialog.folder(), root, then_verify=dialog.verify_now())

    def verify(self, *, full: bool) -> None:
        self.ctx.verify_backup(self.selected_target_id(), full=full)

    def plan_repair(self) -> None:
        """Compute the plan off the UI thread; the dialog opens when it lands."""
        self.repair_button.setEnabled(False)
        self.repair_button.setText("Planning…")
        self._plan_query.request(self.ctx.repair_plan())

    def _plan_failed(self, message: str) -> None:
        self._plan_done()
        QMessageBox.warning(self, "Repair", f"Cannot plan the repair: {message}")

    def _plan_done(self) -> None:
        self.repair_button.setText("Repair…")
        self._update_buttons()

    def _show_plan(self, plan: RepairPlan) -> None:
        self._plan_done()
        dialog = RepairDialog(plan, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.ctx.repair_apply(plan))
        dialog.finished.connect(lambda _result: setattr(self, "repair_dialog", None))
        self.repair_dialog = dialog
        dialog.open()


def _summary(report: CoverageReport) -> str:
    if not report.files:
        return "No music in the catalog yet."
    if not report.targets:
        return "No backup registered: add one to see how many good copies each file has."
    under = len(report.under_covered)
    n = report.min_copies
    head = (
        f"{under:,} of {len(report.files):,} files have fewer than {n} good "
        f"cop{'y' if n == 1 else 'ies'}."
        if under
        else f"Every file has at least {n} good cop{'y' if n == 1 else 'ies'}."
    )
    parts = [f"{count:,} with {good}" for good, count in report.histogram.items()]
    return f"{head} Files by good copies: {', '.join(parts)}."
