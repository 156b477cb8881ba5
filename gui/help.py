"""The Help menu: the user guide, the keyboard shortcuts, About.

The shortcut list is read from the window's own menus (plus the few keys that are not menu
actions), so it cannot drift from what the keys do. The user guide is the README's, as the
installed distribution carries it (its long description): no network, no browser.
"""

from __future__ import annotations

import platform
import re
from html import escape
from importlib import metadata

import PySide6
from PySide6.QtCore import QObject, Qt, QTimer, qVersion
from PySide6.QtGui import QAction, QIcon, QKeySequence, QShowEvent, QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMainWindow,
    QMenu,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from phonovault.core import __version__
from phonovault.gui.style import resource_path

MISSION = "Keeps the music you own safe for decades: it catalogs, verifies and backs it up."
LICENCE = "GPL-3.0-or-later"
GUIDE_HEADING = "The window"  # where the user guide opens
# Keys that are not menu actions: (keys, what they do).
OTHER_KEYS = (
    ("Ctrl+F", "Library: go to the filter"),
    ("Esc", "In a filter with text: clear it (elsewhere Esc cancels the job)"),
    ("Shift+F10, Menu", "Open the context menu of the focused list"),
    ("Enter", "Library: show the current file's details"),
)


def about_html(catalog_path: object | None = None) -> str:
    parts = [
        f"<h3>Phonovault {escape(__version__)}</h3>",
        f"<p>{escape(MISSION)}</p>",
        f"<p>Licence: {LICENCE} (free software: you may share and change it under the "
        "terms of the GNU General Public License, version 3 or later).</p>",
        f"<p><small>Qt {escape(qVersion())}, PySide6 {escape(PySide6.__version__)}, "
        f"Python {escape(platform.python_version())}",
    ]
    if catalog_path is not None:
        parts.append(f"<br>Catalog: {escape(str(catalog_path))}")
    return "".join(parts) + "</small></p>"


def _menu_text(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…")


def shortcut_rows(window: QMainWindow) -> list[tuple[str, str]]:
    """(keys, "Menu › Action") for every menu action with a shortcut, then the other keys."""
    rows = []
    for top in window.menuBar().actions():
        menu = top.menu()
        if not isinstance(menu, QMenu):
            continue
        for action in menu.actions():
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys and not action.isSeparator():
                rows.append((keys, f"{_menu_text(top.text())} › {_menu_text(action.text())}"))
    return rows + list(OTHER_KEYS)


class ShortcutsDialog(QDialog):
    """Every keyboard shortcut of the window, in a table (non-modal)."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard Shortcuts")
        rows = shortcut_rows(window)
        self.table = table = QTableWidget(len(rows), 2, self)
        table.setHorizontalHeaderLabels(["Keys", "Does"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setShowGrid(False)
        table.setAlternatingRowColors(True)
        for r, (keys, does) in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(keys))
            table.setItem(r, 1, QTableWidgetItem(does))
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)  # ~30 rows
        header.setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.resize(560, 560)

    def rows(self) -> list[tuple[str, str]]:
        t = self.table
        return [(t.item(r, 0).text(), t.item(r, 1).text()) for r in range(t.rowCount())]


def guide_markdown() -> str | None:
    """The README as installed (pictures left out: they are not installed), or None."""
    try:
        text = metadata.metadata("phonovault").get_payload()
    except metadata.PackageNotFoundError:
        return None
    if not isinstance(text, str) or not text.strip():
        return None
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)
    # A table that only held pictures is now rows of bare pipes: drop them.
    return "\n".join(line for line in text.splitlines() if not re.fullmatch(r"[|\s:-]+", line))


class GuideDialog(QDialog):
    """The user guide (the README), opened at the window's section (non-modal)."""

    def __init__(self, markdown: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Phonovault User Guide")
        self.browser = QTextBrowser(self)
        self.browser.setOpenExternalLinks(True)
        self.browser.setMarkdown(markdown)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(820, 700)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, lambda: self.scroll_to(GUIDE_HEADING))

    def scroll_to(self, heading: str) -> bool:
        """Put the heading named ``heading`` at the top of the view."""
        block = self.browser.document().begin()
        while block.isValid():
            if block.blockFormat().headingLevel() and block.text().strip() == heading:
                browser = self.browser
                browser.moveCursor(QTextCursor.MoveOperation.End)  # then back: heading on top
                browser.ensureCursorVisible()
                browser.setTextCursor(QTextCursor(block))
                browser.ensureCursorVisible()
                return True
            block = block.next()
        return False


class HelpMenu(QObject):
    """Builds the window's Help menu and owns the windows it opens."""

    def __init__(self, window: QMainWindow, catalog_path: object | None = None) -> None:
        super().__init__(window)
        self._window = window
        self._catalog_path = catalog_path
        self.about_box: QMessageBox | None = None
        self.shortcuts_dialog: ShortcutsDialog | None = None
        self.guide_dialog: GuideDialog | None = None
        self._guide = guide_markdown()
        self.act_guide = self._action("User Guide", QKeySequence.StandardKey.HelpContents,
                                      self.show_guide)  # fmt: skip
        if self._guide is None:
            self.act_guide.setEnabled(False)
            self.act_guide.setToolTip("The user guide is not installed (see README.md)")
        self.act_shortcuts = self._action("Keyboard Shortcuts", "Ctrl+/", self.show_shortcuts)
        self.act_about = self._action("About Phonovault", None, self.show_about)
        self.act_about.setMenuRole(QAction.MenuRole.AboutRole)
        self.act_about_qt = self._action("About Qt", None, QApplication.aboutQt)
        self.act_about_qt.setMenuRole(QAction.MenuRole.AboutQtRole)
        menu = window.menuBar().addMenu("&Help")
        menu.addActions([self.act_guide, self.act_shortcuts])
        menu.addSeparator()
        menu.addActions([self.act_about, self.act_about_qt])
        self.menu = menu

    def _action(
        self, text: str, keys: str | QKeySequence.StandardKey | None, slot: object
    ) -> QAction:
        action = QAction(text, self._window)
        if keys is not None:
            action.setShortcut(QKeySequence(keys))
        action.triggered.connect(slot)
        return action

    def show_about(self) -> QMessageBox:
        if self.about_box is None:
            box = QMessageBox(self._window)
            box.setWindowTitle("About Phonovault")
            box.setIconPixmap(QIcon(str(resource_path("phonovault.svg"))).pixmap(64, 64))
            box.setTextFormat(Qt.TextFormat.RichText)
            box.setText(about_html(self._catalog_path))
            box.setStandardButtons(QMessageBox.StandardButton.Ok)
            self.about_box = box
        self.about_box.open()  # window-modal, without a nested event loop
        return self.about_box

    def show_shortcuts(self) -> ShortcutsDialog:
        if self.shortcuts_dialog is None:
            self.shortcuts_dialog = ShortcutsDialog(self._window)
        self.shortcuts_dialog.show()
        self.shortcuts_dialog.raise_()
        return self.shortcuts_dialog

    def show_guide(self) -> GuideDialog | None:
        if self._guide is None:
            return None
        if self.guide_dialog is None:
            self.guide_dialog = GuideDialog(self._guide, self._window)
        self.guide_dialog.show()
        self.guide_dialog.raise_()
        return self.guide_dialog
