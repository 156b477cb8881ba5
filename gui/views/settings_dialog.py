"""Placeholder (being written)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QWidget


class SettingsDialog(QDialog):
    def __init__(self, ctx: object, parent: QWidget | None = None) -> None:
        super().__init__(parent)
