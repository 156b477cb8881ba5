"""The offline banner: above every page, naming each music folder or backup drive that is not
there and what to do about it.

It is the loudest thing in the window on purpose (issue 15): an unplugged library must never
look like a healthy one. It shows only while something is offline.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from phonovault.gui.offline import OfflineStatus
from phonovault.gui.style import banner_style, icon

ROOT_ADVICE = (
    "{Its} files were not checked. Plug in the drive or mount the share; if the music has "
    "moved, add its new folder in Settings."
)
TARGET_ADVICE = "{Its} copies cannot be verified or used for repairs until connected."


def messages(status: OfflineStatus) -> tuple[list[tuple[str, str]], list[str]]:
    """(headline, why) per offline folder, then per offline backup drive; and what to do,
    said once per kind (however many folders or drives it is about)."""
    lines = [(f"Music folder “{f.path}” is offline", f.reason) for f in status.roots]
    lines += [(f"Backup drive “{t.path}” is not connected", t.reason) for t in status.targets]
    advice = []
    for items, text in ((status.roots, ROOT_ADVICE), (status.targets, TARGET_ADVICE)):
        if items:
            advice.append(text.format(Its="Its" if len(items) == 1 else "Their"))
    return lines, advice


class OfflineBanner(QFrame):
    """Hidden while everything is there; :meth:`set_status` fills and shows it."""

    check_again = Signal()
    open_settings = Signal()
    show_backups = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("offline-banner")
        self.setAccessibleName("Offline")
        self._restyle()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(10)
        badge = QLabel(self)
        badge.setPixmap(icon("severity-warning").pixmap(24, 24))
        layout.addWidget(badge, 0, Qt.AlignmentFlag.AlignTop)
        self._lines = QVBoxLayout()
        self._lines.setSpacing(3)
        layout.addLayout(self._lines, 1)
        self.labels: list[QLabel] = []
        buttons = QHBoxLayout()
        self.check_button = QPushButton("Check again", self)
        self.check_button.setToolTip("Look for the folders and drives again")
        self.check_button.clicked.connect(self.check_again)
        self.settings_button = QPushButton(icon("settings"), "Settings…", self)
        self.settings_button.setToolTip("Library folders: add the new one, remove the old one")
        self.settings_button.clicked.connect(self.open_settings)
        self.backups_button = QPushButton(icon("backups"), "Backups", self)
        self.backups_button.setToolTip("Show the backup drives")
        self.backups_button.clicked.connect(self.show_backups)
        for button in (self.check_button, self.settings_button, self.backups_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        layout.setAlignment(buttons, Qt.AlignmentFlag.AlignTop)
        self.status = OfflineStatus()
        self.hide()

    def set_status(self, status: OfflineStatus) -> None:
        self.status = status
        for label in self.labels:
            self._lines.removeWidget(label)
            label.deleteLater()
        self.labels = []
        lines, advice = messages(status)
        texts = [f"<b>{escape(headline)}</b> — {escape(why)}" for headline, why in lines]
        for text in texts + [escape(a) for a in advice]:
            label = QLabel(text, self)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self._lines.addWidget(label)
            self.labels.append(label)
        self.settings_button.setVisible(bool(status.roots))
        self.backups_button.setVisible(bool(status.targets))
        self.setVisible(bool(status))

    def text(self) -> str:
        """What the banner says, as plain text (one line per folder or drive, then what to
        do)."""
        lines, advice = messages(self.status)
        return "\n".join([f"{headline} — {why}" for headline, why in lines] + advice)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._restyle()

    def _restyle(self) -> None:
        style = banner_style(self.objectName())
        if style != self.styleSheet():  # setting it again would send another PaletteChange
            self.setStyleSheet(style)
