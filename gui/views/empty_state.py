"""First run: what Phonovault does, and one clear way to start."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from phonovault.gui.style import icon

TEXT = (
    "<h2>Keep your music safe</h2>"
    "<p>Phonovault catalogs the music files you own, records a checksum of every file and "
    "tells you when one rots, changes, moves or goes missing. It only reads your music: "
    "nothing is ever written to your files.</p>"
    "<p>Add the folder that holds your music to begin (or drop it onto this window).</p>"
)


class EmptyState(QWidget):
    add_folder = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        logo = QLabel(self)
        logo.setPixmap(icon("albums").pixmap(72, 72))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(logo)
        text = QLabel(TEXT, self)
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setFixedWidth(520)  # a fixed width lets the wrapped text get its full height
        layout.addWidget(text, 0, Qt.AlignmentFlag.AlignHCenter)
        self.button = QPushButton(icon("add-folder"), "Add music folder…", self)
        self.button.setDefault(True)
        self.button.setMinimumHeight(36)
        self.button.clicked.connect(self.add_folder)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
