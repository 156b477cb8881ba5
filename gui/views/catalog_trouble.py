"""When the catalog cannot be opened: what is wrong, in words, and the ways on.

A damaged catalog (not SQLite, truncated, failing its check) is never written to or mended.
The window offers what a person can do about it: restore the newest good backup (the damaged
file is renamed aside, not deleted), open another catalog, or set the damaged one aside and
start a new catalog (a scan rebuilds the checksums; the music is not touched). No command
lines and no internals: the technical reason is under "Details".
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QPushButton, QWidget

from phonovault.core.catalog.guard import CatalogDamaged
from phonovault.core.errors import CatalogError

RESTORE, OTHER, NEW = "restore", "other", "new"
# A Python bytes literal in a message (b'...'): internals, not words.
_BYTES_REPR = re.compile(r""":? ?(?:it starts with )?b(['"]).*?\1""")


def plain(problem: str) -> str:
    """The technical reason without Python reprs."""
    return _BYTES_REPR.sub("", problem).strip().rstrip(":")


class CatalogTrouble(QMessageBox):
    """Ask what to do about a catalog that did not open; :attr:`choice` says what was
    picked (:data:`RESTORE`, :data:`OTHER`, :data:`NEW`) or None to quit."""

    def __init__(self, error: CatalogError, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.choice: str | None = None
        self.setWindowTitle("Phonovault")
        self.setIcon(QMessageBox.Icon.Critical)
        damaged = isinstance(error, CatalogDamaged)
        self.backup = error.backup if isinstance(error, CatalogDamaged) else None
        self.setText("Phonovault cannot open its catalog")
        if damaged:
            body = (f"The catalog {path} is damaged or is not a Phonovault catalog. "
                    "Phonovault has not written to it and will not try to mend it. "
                    "Your music files are not affected.")  # fmt: skip
            if self.backup is not None:
                when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.backup.taken))
                body += (f"\n\nThe newest good backup of it is from {when}. Restoring it "
                         "keeps the damaged file beside it under another name.")  # fmt: skip
            else:
                body += ("\n\nThere is no good backup of it. You can start a new catalog: "
                         "the damaged file is kept under another name, and a scan of your "
                         "music folders rebuilds the checksums.")  # fmt: skip
            self.setDetailedText(plain(getattr(error, "problem", str(error))))
        else:
            body = plain(str(error)).replace("'phonovault ", "'")
        self.setInformativeText(body)
        self.buttons: dict[str, QPushButton] = {}
        if self.backup is not None:
            self._button(RESTORE, "Restore the Backup", QMessageBox.ButtonRole.AcceptRole)
        self._button(OTHER, "Open Another Catalog…", QMessageBox.ButtonRole.ActionRole)
        if damaged:
            self._button(NEW, "Start a New Catalog", QMessageBox.ButtonRole.ActionRole)
        quit_button = self.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
        self.setEscapeButton(quit_button)
        self.setDefaultButton(self.buttons.get(RESTORE, quit_button))

    def _button(self, choice: str, text: str, role: QMessageBox.ButtonRole) -> None:
        button = self.addButton(text, role)
        button.clicked.connect(lambda: setattr(self, "choice", choice))
        self.buttons[choice] = button


def ask(error: CatalogError, path: Path) -> tuple[str, Path | None] | None:
    """Show :class:`CatalogTrouble` and return (choice, other catalog's path), or None."""
    dialog = CatalogTrouble(error, path)
    dialog.exec()
    if dialog.choice == OTHER:
        chosen, _ = QFileDialog.getOpenFileName(
            None, "Open a Phonovault catalog", str(path.parent), "Catalogs (*.sqlite);;All (*)"
        )
        return (OTHER, Path(chosen)) if chosen else ask(error, path)
    return (dialog.choice, None) if dialog.choice else None
