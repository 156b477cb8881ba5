"""Placeholder (being written)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget


class AlbumsPage(QWidget):
    file_selected = Signal(int)

    def __init__(self, ctx: object, parent: QWidget | None = None) -> None:
        super().__init__(parent)

    def refresh(self) -> None:
        pass
