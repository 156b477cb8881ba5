"""Placeholder (being written)."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


class DetailsPane(QWidget):
    def __init__(self, ctx: object, parent: QWidget | None = None) -> None:
        super().__init__(parent)

    def show_file(self, file_id: int | None) -> None:
        pass
