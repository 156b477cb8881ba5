"""Backups: a placeholder until backup targets land (their own issue)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class BackupsPage(QWidget):
    def __init__(self, ctx: object, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        label = QLabel(
            "<h3>Backups</h3><p>Checking your backup drives copy by copy, coverage and "
            "healing from a good copy are coming in a later version.</p>",
            self,
        )
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(label)

    def refresh(self) -> None:
        """Nothing to show yet."""
