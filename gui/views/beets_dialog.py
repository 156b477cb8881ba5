"""The result of comparing a beets library with the files: gone, unknown and differing tags.

Read-only, like the comparison itself: the dialog only shows a :class:`DriftReport`.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from phonovault.core.rules.beets import DriftReport, Value

PATH_WIDTH = 380  # the path column starts this wide (elided in the middle), the last stretches


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _value(value: Value) -> str:
    return "(not set)" if value is None else str(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], parent: QWidget) -> QTableWidget:
    table = QTableWidget(len(rows), len(headers), parent)
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    table.setWordWrap(False)
    table.verticalHeader().setVisible(False)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            table.setItem(r, c, item)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    table.resizeColumnsToContents()
    if len(headers) > 1:  # paths are long: give them a fair share, not the whole width
        table.setColumnWidth(0, min(max(table.columnWidth(0), 160), PATH_WIDTH))
        for c in range(1, len(headers) - 1):
            table.setColumnWidth(c, min(table.columnWidth(c), 220))
    header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # keep the report's order
    table.setSortingEnabled(True)
    return table


class BeetsDriftDialog(QDialog):
    """Three tables (gone from disk, not in beets, tags differ) and a summary line."""

    def __init__(self, report: DriftReport, db_path: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.report = report
        self.setWindowTitle("Compare with beets library")
        self.resize(900, 560)
        layout = QVBoxLayout(self)

        summary = (
            f"{_count(report.items, 'item')} in beets, {_count(report.files, 'file')} in Phonovault"
        )
        if not report.drifted:
            summary += " — they agree."
        self.summary = QLabel(summary, self)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)
        where = []
        if db_path:
            where.append(f"beets library: {db_path}")
        if report.directory:
            where.append(f"music folder: {report.directory}")
        if where:
            layout.addWidget(self._hint(" · ".join(where)))

        self.tabs = self._build_tabs(report)
        layout.addWidget(self.tabs, 1)

        layout.addWidget(
            self._hint(
                "Nothing was written: the beets library was read from a private copy and the "
                "files were only read. “Tags differ” is what beet write / beet update would change."
            )
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _build_tabs(self, report: DriftReport) -> QTabWidget:
        """One table per kind of drift, and one for the files that could not be compared."""
        self.gone_table = _table(
            ("Path", "Artist – Album – Title"),
            [(g.path, " – ".join(x or "?" for x in (g.artist, g.album, g.title)))
             for g in report.gone],
            self,
        )  # fmt: skip
        self.unknown_table = _table(("Path",), [(p,) for p in report.unknown], self)
        self.differ_table = _table(
            ("Path", "Field", "In beets DB", "In file"),
            [(d.path, d.field, _value(d.db_value), _value(d.file_value)) for d in report.differ],
            self,
        )
        tabs = QTabWidget(self)
        tabs.addTab(self.gone_table, f"Gone from disk ({len(report.gone):,})")
        tabs.addTab(self.unknown_table, f"Not in beets ({len(report.unknown):,})")
        tabs.addTab(self.differ_table, f"Tags differ ({len(report.differ):,})")
        self.errors_table: QTableWidget | None = None
        if report.errors:
            self.errors_table = _table(("Path", "Why not compared"), report.errors, self)
            tabs.addTab(self.errors_table, f"Not compared ({len(report.errors):,})")
        return tabs

    def _hint(self, text: str) -> QLabel:
        label = QLabel(text, self)
        label.setWordWrap(True)
        label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        return label
