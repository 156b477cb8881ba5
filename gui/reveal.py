"""Showing a file's folder in the system's file manager, and saying so when there is none.

``QDesktopServices.openUrl`` returns False when no file manager answers (a minimal desktop,
a remote session): the user then gets a sentence and the path to copy, never silence.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMessageBox, QWidget

_shown: set[QMessageBox] = set()


def show_in_folder(parent: QWidget | None, path: str, *, is_folder: bool = False) -> bool:
    """Open the folder holding ``path`` (or ``path`` itself when ``is_folder``). Returns
    whether a file manager took it; if none did, says so and offers to copy the path."""
    folder = path if is_folder else os.path.dirname(path)
    if QDesktopServices.openUrl(QUrl.fromLocalFile(folder)):
        return True
    box = QMessageBox(parent)
    box.setObjectName("no-file-manager")
    box.setIcon(QMessageBox.Icon.Information)
    box.setWindowTitle("Show in folder")
    box.setText("No file manager could open the folder.")
    box.setInformativeText(f"It is {folder}\n\nCopy the path to open it another way.")
    copy = box.addButton("Copy Path", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Close)
    copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(path))
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    _shown.add(box)  # without a parent, nothing else would keep the Python wrapper alive
    box.finished.connect(lambda _result: _shown.discard(box))
    box.open()
    return False
