"""The confirmation before files are accepted as their new baseline (Library, Findings).

Accepting makes the audio as it is now the reference every later check compares against.
For a file that fails its decode or integrity checks that would make the damage permanent
without a trace in later checks (DESIGN.md: ``accept`` "warns when the file fails its decode
check"), so the question names those findings, file by file, and its default answer is
Cancel: Enter or Esc never accepts damage by accident.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from PySide6.QtWidgets import QMessageBox, QWidget

from phonovault.core.catalog import Catalog
from phonovault.gui.models.findings_model import kind_label

TITLE = "Accept as new baseline"
MAX_LINES = 8  # findings named one by one; the rest are counted


def damage_lines(catalog: Catalog, files: Sequence[tuple[int, str]]) -> list[str]:
    """One line per error-severity finding of these (file id, path) pairs: what it is and
    what it says, with the file's name when there is more than one file."""
    lines = []
    for file_id, path in files:
        name = f"“{os.path.basename(path)}”: " if len(files) > 1 else ""
        for f in catalog.findings_for_file(file_id):
            if f.severity == "error":
                lines.append(f"• {name}{kind_label(f.kind)}: {f.message}")
    return lines


def damage_warning(catalog: Catalog, files: Sequence[tuple[int, str]]) -> str:
    """The paragraph naming the damage found in these files ("" when none)."""
    lines = damage_lines(catalog, files)
    if not lines:
        return ""
    shown = lines[:MAX_LINES]
    if len(lines) > MAX_LINES:
        shown.append(f"• …and {len(lines) - MAX_LINES:,} more")
    head = "This file fails its checks:" if len(files) == 1 else "These files fail their checks:"
    tail = (
        "Accepting would make the damage the reference: later checks would no longer "
        "report it. Restoring from a backup is usually the right fix."
    )
    return "\n".join([head, *shown]) + "\n\n" + tail


def ask_accept(parent: QWidget, text: str) -> bool:
    """Ask; only an explicit Yes accepts (Cancel is the default button)."""
    buttons = QMessageBox.StandardButton
    answer = QMessageBox.question(parent, TITLE, text, buttons.Yes | buttons.Cancel, buttons.Cancel)
    return answer == buttons.Yes
