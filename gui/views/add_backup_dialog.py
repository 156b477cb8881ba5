"""Adding a backup: which folder, which library folder it mirrors, and whether to verify it now.

A backup is compared with one library folder; picking the wrong one makes every copy look
missing. So the library folder is always shown and, when there are several, never picked
for the user: *Add backup* stays disabled until one is chosen. With a single library folder
it is preselected, in plain view.
"""

from __future__ import annotations

import os

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from phonovault.gui.style import state_color


def _inside(a: str, b: str) -> bool:
    a, b = a.rstrip(os.sep) + os.sep, b.rstrip(os.sep) + os.sep
    return a.startswith(b) or b.startswith(a)


class AddBackupDialog(QDialog):
    """Asks for the backup folder, the library folder it copies, and "verify it now"."""

    def __init__(self, roots: list[str], parent: QWidget | None = None, folder: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Add backup")
        self.setMinimumWidth(560)
        intro = QLabel(
            "A backup is a folder (an external drive, a NAS share) holding a copy of one of "
            "your library folders. Phonovault compares each copy with its library file and "
            "writes a small marker file into the backup folder, so it recognises the drive "
            "later; nothing else is written there.",
            self,
        )
        intro.setWordWrap(True)
        self.folder_edit = QLineEdit(folder, self)
        self.folder_edit.setPlaceholderText("The folder that holds the copy")
        self.folder_edit.textChanged.connect(self._update)
        choose = QPushButton("Choose…", self)
        choose.clicked.connect(self._choose_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(choose)
        self.root_combo = QComboBox(self)
        self.root_combo.addItems(roots)
        self.root_combo.setPlaceholderText("Choose the library folder it copies")
        self.root_combo.setCurrentIndex(0 if len(roots) == 1 else -1)
        self.root_combo.currentIndexChanged.connect(self._update)
        self.verify_check = QCheckBox("Verify it now (reads every copy once)", self)
        self.verify_check.setChecked(True)
        self.problem = QLabel(self)
        self.problem.setWordWrap(True)
        palette = self.problem.palette()
        palette.setColor(self.problem.foregroundRole(), state_color("corrupt"))
        self.problem.setPalette(palette)
        form = QFormLayout()
        form.addRow("Backup folder:", folder_row)
        form.addRow("A copy of:", self.root_combo)
        form.addRow("", self.verify_check)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.add_button = self.buttons.addButton(
            "Add backup", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self._update()

    def folder(self) -> str:
        return self.folder_edit.text().strip()

    def root(self) -> str | None:
        return self.root_combo.currentText() if self.root_combo.currentIndex() >= 0 else None

    def verify_now(self) -> bool:
        return self.verify_check.isChecked()

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose the backup folder", self.folder())
        if folder:
            self.folder_edit.setText(folder)

    def _update(self) -> None:
        folder, root = self.folder(), self.root()
        problem = ""
        if folder and not os.path.isdir(folder):
            problem = f"{folder} is not a folder."
        elif folder and root and _inside(os.path.realpath(folder), os.path.realpath(root)):
            problem = "A backup must be outside the library folder it copies (and not hold it)."
        self.problem.setText(problem)
        self.problem.setVisible(bool(problem))
        self.add_button.setEnabled(bool(folder and root and not problem))
