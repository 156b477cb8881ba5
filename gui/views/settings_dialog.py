"""Settings: the library folders, hashing, readers, and where the catalog lives.

Folder changes are jobs that run at once (adding scans; removing only forgets catalog
entries); OK/Cancel govern the preferences below them, which are saved through the context.
"""

from __future__ import annotations

import dataclasses
import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from phonovault.core.catalog import Root
from phonovault.core.config import default_workers
from phonovault.core.library.walk import root_offline_reason
from phonovault.gui.context import AppContext
from phonovault.gui.models.findings_model import format_time
from phonovault.gui.reveal import show_in_folder as reveal
from phonovault.gui.style import icon, state_icon
from phonovault.gui.views.rules_settings import RulesEditor

MAX_WORKERS = 16


def _hint(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # secondary, in both themes
    return label


class SettingsDialog(QDialog):
    """Library folders, hashing, readers and the tag rules; OK saves through
    ``ctx.save_settings``."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Settings")
        self.resize(780, 560)
        layout = QVBoxLayout(self)
        general = QWidget(self)
        general_layout = QVBoxLayout(general)
        general_layout.addWidget(self._folders_box())
        general_layout.addWidget(self._reading_box())
        general_layout.addWidget(self._scrub_box())
        general_layout.addWidget(self._catalog_box())
        self.rules = RulesEditor(ctx.rule_infos(), self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(general, "General")
        self.tabs.addTab(self.rules, "Tag rules")
        layout.addWidget(self.tabs)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self._save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        ctx.catalog_changed.connect(self.load_roots)  # an add or remove job finished
        self.finished.connect(self._stop_listening)
        self.load_roots()

    def _stop_listening(self, _result: int) -> None:
        """A closed dialog may live on (its parent owns it): stop re-reading roots for it."""
        self.ctx.catalog_changed.disconnect(self.load_roots)

    # -- construction --------------------------------------------------------------------

    def _folders_box(self) -> QGroupBox:
        box = QGroupBox("Library folders", self)
        self.roots = QTreeWidget(box)
        self.roots.setHeaderLabels(["Folder", "Status", "Files", "Last scan"])
        self.roots.setRootIsDecorated(False)
        self.roots.setUniformRowHeights(True)
        self.roots.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.roots.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.roots.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.roots.itemSelectionChanged.connect(self._root_selection_changed)
        self.add_button = QPushButton(icon("add-folder"), "Add…", box)
        self.add_button.setToolTip("Add a music folder and scan it now")
        self.add_button.clicked.connect(self._add)
        self.remove_button = QPushButton("Remove", box)
        self.remove_button.setToolTip("Forget the folder's catalog entries (files are untouched)")
        self.remove_button.clicked.connect(self._remove)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(box)
        layout.addWidget(self.roots)
        layout.addLayout(buttons)
        layout.addWidget(_hint("Adding or removing a folder happens right away, not on OK.", box))
        return box

    def _reading_box(self) -> QGroupBox:
        box = QGroupBox("Hashing and reading", self)
        settings = self.ctx.settings
        self.sha256 = QCheckBox("Also store SHA-256 (for sha256sum/BagIt manifests)", box)
        self.sha256.setChecked(settings.with_sha256)
        self.workers = QSpinBox(box)
        self.workers.setRange(0, MAX_WORKERS)
        self.workers.setSpecialValueText(
            f"Automatic ({default_workers()} to scan, {default_workers(tags=False)} to verify)"
        )
        self.workers.setValue(max(0, min(MAX_WORKERS, settings.workers)))
        form = QFormLayout(box)
        form.addRow(self.sha256)
        form.addRow(
            _hint(
                "Applies to files read from now on; an export computes SHA-256 when it is "
                "not stored.",
                box,
            )
        )
        spin_row = QHBoxLayout()
        spin_row.addWidget(self.workers)
        spin_row.addStretch(1)
        form.addRow("Files read at once:", spin_row)
        form.addRow(
            "",
            _hint(
                "Use 1 for a spinning hard disk: parallel reads make it seek back and forth.",
                box,
            ),
        )
        return box

    def _scrub_box(self) -> QGroupBox:
        box = QGroupBox("Scheduled scrub", self)
        settings = self.ctx.settings
        self.scrub_percent = QSpinBox(box)
        self.scrub_percent.setRange(0, 100)
        self.scrub_percent.setSuffix(" % of the library each day")
        self.scrub_percent.setSpecialValueText("Off")
        self.scrub_percent.setValue(max(0, min(100, settings.scrub_percent)))
        self.scrub_decode = QCheckBox("Also decode-check what it reads (slower)", box)
        self.scrub_decode.setChecked(settings.scrub_decode)
        form = QFormLayout(box)
        row = QHBoxLayout()
        row.addWidget(self.scrub_percent)
        row.addStretch(1)
        form.addRow("Verify:", row)
        form.addRow("", self.scrub_decode)
        form.addRow(
            "",
            _hint(
                "While Phonovault is open, it re-reads the least recently verified files once "
                "a day, so the whole library is checked every few days or weeks. Without the "
                "window, a timer can run 'phonovault verify --oldest 10' (see the README).",
                box,
            ),
        )
        return box

    def _catalog_box(self) -> QGroupBox:
        box = QGroupBox("Catalog", self)
        self.catalog_path = QLineEdit(str(self.ctx.catalog_path), box)
        self.catalog_path.setReadOnly(True)
        self.catalog_path.setCursorPosition(0)
        show = QPushButton(icon("folder"), "Show in folder", box)
        show.clicked.connect(self._show_catalog)
        row = QHBoxLayout(box)
        row.addWidget(QLabel("Location:", box))
        row.addWidget(self.catalog_path, 1)
        row.addWidget(show)
        return box

    # -- library folders -----------------------------------------------------------------

    def load_roots(self) -> None:
        selected = self.selected_root()
        self.roots.clear()
        for root in self.ctx.catalog.roots():
            item = _root_item(root, sum(self.ctx.catalog.state_counts([root.id]).values()))
            self.roots.addTopLevelItem(item)
            if selected is not None and root.id == selected.id:
                item.setSelected(True)
        if self.roots.topLevelItemCount() == 0:
            placeholder = QTreeWidgetItem(["No folders yet: add the folder that holds your music"])
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
            self.roots.addTopLevelItem(placeholder)
        self._root_selection_changed()

    def selected_root(self) -> Root | None:
        items = self.roots.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    def _root_selection_changed(self) -> None:
        self.remove_button.setEnabled(self.selected_root() is not None)

    def _add(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Add a music folder", os.path.expanduser("~")
        )
        if folder:
            self.ctx.add_folders([folder])

    def _remove(self) -> None:
        root = self.selected_root()
        if root is None:
            return
        answer = QMessageBox.question(
            self,
            "Remove folder",
            f"Forget {root.path}?\n\n"
            "Its files leave the catalog, with their checksums and history. Nothing on disk "
            "is touched: your music stays where it is, and adding the folder again rescans it.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.ctx.remove_root(root.id)

    # -- saving --------------------------------------------------------------------------

    def _show_catalog(self) -> None:
        reveal(self, str(self.ctx.catalog_path))

    def _save(self) -> None:
        new = dataclasses.replace(
            self.ctx.settings,
            workers=self.workers.value(),
            with_sha256=self.sha256.isChecked(),
            scrub_percent=self.scrub_percent.value(),
            scrub_decode=self.scrub_decode.isChecked(),
        )
        new = self.rules.apply(new)
        if new != self.ctx.settings:
            try:
                self.ctx.save_settings(new)
            except OSError as exc:
                QMessageBox.warning(self, "Settings", f"The settings could not be saved: {exc}")
                return
        self.accept()


def _root_item(root: Root, files: int) -> QTreeWidgetItem:
    # A cheap check (stat and one directory entry) on the UI thread; the same test the
    # scanner uses, so "offline" here means what it means there.
    reason = root_offline_reason(root.path, was_mount=root.was_mount, expect_files=files > 0)
    status = "Offline" if reason else "Online"
    last = format_time(root.last_scan) if root.last_scan else "never"
    item = QTreeWidgetItem([root.path, status, f"{files:,}", last])
    item.setData(0, Qt.ItemDataRole.UserRole, root)
    item.setIcon(1, state_icon("offline" if reason else "ok"))
    item.setToolTip(0, root.path)
    item.setToolTip(1, reason or "The folder is there; its files can be checked")
    return item
