"""The Backups page's list of copies that are not a match, per target, with what can be done
about them: refresh a corrupt, stale or missing copy from the library, restore a damaged or
gone library file from its copy, show a copy in its folder.

What the list shows is what each target's last verify stored (``catalog.copies``), read with
the rest of the page off the UI thread. An empty drive makes every copy "missing", so only
the first :data:`MAX_SHOWN` copies of a target are listed; the actions still act on all of
its copies when the target's own row is selected.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from phonovault.core.catalog import Catalog, Target
from phonovault.gui.reveal import show_in_folder as reveal
from phonovault.gui.style import icon, state_icon
from phonovault.gui.views.restore_flow import REFRESHABLE_COPIES, RESTORABLE_STATES

MAX_SHOWN = 1000  # copies listed per target
STATE_ORDER = ("corrupt", "missing", "stale", "unreadable", "moved", "only-in-backup",
               "tags-differ", "unknown")  # fmt: skip
STATE_LABELS = {
    "corrupt": "Corrupt", "missing": "Missing", "stale": "Stale (older version)",
    "unreadable": "Unreadable", "moved": "Moved", "only-in-backup": "Only in backup",
    "tags-differ": "Tags differ", "unknown": "Not judged",
}  # fmt: skip
_ICONS = {"stale": "audio-changed", "tags-differ": "tags-changed", "only-in-backup": "moved",
          "unknown": "offline"}  # fmt: skip
_ISSUE_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True, slots=True)
class CopyIssue:
    """One copy whose last verify was not a match."""

    state: str
    copy: str  # where the copy is, or should be, in the target (absolute)
    library: str  # its library file (absolute); "" when it belongs to none
    shown_copy: str  # the copy's path in the target, as listed under the target
    shown_library: str  # the library file's path in its library folder
    library_state: str  # that file's state now ("" for none)
    detail: str
    file_id: int | None


@dataclass(slots=True)
class TargetCopies:
    """A target's copies that are not a match: counts by state, the first ones, and the
    library files whose copies a refresh (or whose selves a restore) could heal."""

    target: Target
    counts: Counter[str] = field(default_factory=Counter)
    shown: list[CopyIssue] = field(default_factory=list)
    refreshable: list[int] = field(default_factory=list)  # file ids
    restorable: list[int] = field(default_factory=list)  # file ids

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _rank(state: str) -> int:
    return STATE_ORDER.index(state) if state in STATE_ORDER else len(STATE_ORDER)


def read_copies(catalog: Catalog, targets: list[Target]) -> list[TargetCopies]:
    """Loader-thread body: each target's copies that are not a match, worst first."""
    out = []
    for t in targets:
        root = catalog.root(t.root_id)
        known = {k.id: k for k in catalog.known_files(root.id).values()}
        rows = [c for c in catalog.copies(t.id).values() if c.state != "match"]
        rows.sort(key=lambda c: (_rank(c.state), c.relpath))
        found = TargetCopies(t)
        for c in rows:
            found.counts[c.state] += 1
            k = known.get(c.file_id) if c.file_id is not None else None
            lib_state = k.state if k is not None else ""
            if k is not None and c.state in REFRESHABLE_COPIES and k.state == "ok":
                found.refreshable.append(k.id)
            if k is not None and lib_state in RESTORABLE_STATES:
                found.restorable.append(k.id)
            if len(found.shown) < MAX_SHOWN:
                shown_copy, shown_lib = os.fsdecode(c.relpath), os.fsdecode(k.relpath) if k else ""
                library = os.path.join(root.path, shown_lib) if k else ""
                copy = os.path.join(t.path, shown_copy)
                found.shown.append(CopyIssue(c.state, copy, library, shown_copy, shown_lib,
                                             lib_state, c.detail or "", c.file_id))  # fmt: skip
        out.append(found)
    return out


def _names(found: list[TargetCopies]) -> list[str]:
    """How each target's row names it: its folder's name (the list above has the whole
    path), or the whole path where two targets share a name."""
    names = [os.path.basename(tc.target.path.rstrip(os.sep)) or tc.target.path for tc in found]
    return [
        n if names.count(n) == 1 else tc.target.path for n, tc in zip(names, found, strict=True)
    ]


def _summary(found: TargetCopies, name: str, online: bool) -> str:
    t = found.target
    if t.last_verified is None:
        return f"{name} — not verified yet"
    where = "" if online else " (offline: as of its last verify)"
    if not found.total:
        return f"{name} — every copy matches{where}"
    counts = sorted(found.counts.items(), key=lambda item: _rank(item[0]))
    parts = ", ".join(f"{n:,} {STATE_LABELS.get(s, s).lower()}" for s, n in counts)
    noun = "copy does" if found.total == 1 else "copies do"
    return f"{name} — {found.total:,} {noun} not match: {parts}{where}"


class CopiesBox(QGroupBox):
    """Per target, the copies that are not a match, and the actions on the selected ones.
    ``refresh_requested(target path or "", file ids)`` and ``restore_requested(file ids)``
    ask the page to plan (the page owns the repair dialog)."""

    refresh_requested = Signal(str, list)
    restore_requested = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Copies that do not match", parent)
        self.found: list[TargetCopies] = []
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(["Copy", "State", "Library file", "What the verify found"])
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        for column, width in enumerate((220, 120, 220)):
            self.tree.header().resizeSection(column, width)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.empty = QLabel("No backup has been verified yet.", self)
        self.refresh_button = QPushButton(icon("backups"), "Refresh from library…", self)
        self.refresh_button.setToolTip(
            "Plan to rewrite the selected corrupt, stale or missing copies from library files "
            "that verify ok; nothing is written yet"
        )
        self.restore_button = QPushButton(icon("library"), "Restore library file…", self)
        self.restore_button.setToolTip(
            "Plan to restore the damaged or gone library files of the selected copies; "
            "nothing is written yet"
        )
        self.folder_button = QPushButton(icon("folder"), "Show in folder", self)
        self.refresh_button.clicked.connect(self._refresh)
        self.restore_button.clicked.connect(self._restore)
        self.folder_button.clicked.connect(self.show_in_folder)
        buttons = QHBoxLayout()
        buttons.addWidget(self.empty, 1)
        for button in (self.folder_button, self.restore_button, self.refresh_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)
        layout.addLayout(buttons)
        self._update_buttons()

    def set_copies(self, found: list[TargetCopies], online: dict[int, bool]) -> None:
        self.found = found
        self.tree.clear()
        bold = QFont(self.tree.font())
        bold.setBold(True)
        for i, (tc, name) in enumerate(zip(found, _names(found), strict=True)):
            text = _summary(tc, name, online.get(tc.target.id, False))
            top = QTreeWidgetItem(self.tree, [text])
            top.setFirstColumnSpanned(True)
            top.setFont(0, bold)
            top.setData(0, _ISSUE_ROLE, i)
            top.setToolTip(0, text.replace(name, tc.target.path, 1))
            for issue in tc.shown:
                label = STATE_LABELS.get(issue.state, issue.state)
                texts = [issue.shown_copy, label, issue.shown_library, issue.detail]
                child = QTreeWidgetItem(top, texts)
                child.setIcon(1, state_icon(_ICONS.get(issue.state, issue.state)))
                child.setData(0, _ISSUE_ROLE, issue)
                for column, tip in enumerate((issue.copy, label, issue.library, issue.detail)):
                    child.setToolTip(column, tip)
            if len(tc.shown) < tc.total:
                more = QTreeWidgetItem(top, [f"…and {tc.total - len(tc.shown):,} more"])
                more.setFlags(Qt.ItemFlag.NoItemFlags)
            top.setExpanded(bool(tc.total))
        self.empty.setText("" if found else "No backup is registered yet.")
        self._update_buttons()

    # -- selection ---------------------------------------------------------------------------

    def selected(self) -> list[tuple[int, list[CopyIssue] | None]]:
        """(index of the target, its selected copies; None: the target's row, all copies)."""
        chosen: dict[int, list[CopyIssue] | None] = {}
        for item in self.tree.selectedItems():
            data = item.data(0, _ISSUE_ROLE)
            if isinstance(data, int):
                chosen[data] = None
            elif isinstance(data, CopyIssue) and item.parent() is not None:
                i = item.parent().data(0, _ISSUE_ROLE)
                if chosen.get(i, []) is not None:
                    chosen.setdefault(i, []).append(data)  # type: ignore[union-attr]
        return sorted(chosen.items(), key=lambda kv: kv[0])

    def _ids(self, kind: str) -> tuple[str, list[int]]:
        """The target path ("" for several) and the file ids the action acts on."""
        picked = self.selected()
        ids: list[int] = []
        for i, issues in picked:
            tc = self.found[i]
            if issues is None:
                ids += tc.refreshable if kind == "refresh" else tc.restorable
            elif kind == "refresh":
                ids += [c.file_id for c in issues if c.file_id is not None
                        and c.state in REFRESHABLE_COPIES and c.library_state == "ok"]  # fmt: skip
            else:
                ids += [c.file_id for c in issues if c.file_id is not None
                        and c.library_state in RESTORABLE_STATES]  # fmt: skip
        target = self.found[picked[0][0]].target.path if len(picked) == 1 else ""
        return target, list(dict.fromkeys(ids))

    def current_issue(self) -> CopyIssue | None:
        """The current copy, else the first selected one."""
        items = [self.tree.currentItem(), *self.tree.selectedItems()]
        for item in items:
            data = item.data(0, _ISSUE_ROLE) if item is not None else None
            if isinstance(data, CopyIssue):
                return data
        return None

    def _update_buttons(self) -> None:
        self.refresh_button.setEnabled(bool(self._ids("refresh")[1]))
        self.restore_button.setEnabled(bool(self._ids("restore")[1]))
        self.folder_button.setEnabled(self.current_issue() is not None)

    # -- actions -----------------------------------------------------------------------------

    def _refresh(self) -> None:
        target, ids = self._ids("refresh")
        if ids:
            self.refresh_requested.emit(target, ids)

    def _restore(self) -> None:
        if ids := self._ids("restore")[1]:
            self.restore_requested.emit(ids)

    def show_in_folder(self) -> None:
        """Open the copy's folder (for a missing copy: the nearest folder that exists)."""
        issue = self.current_issue()
        if issue is None:
            return
        folder = os.path.dirname(issue.copy)
        while folder and not os.path.isdir(folder) and os.path.dirname(folder) != folder:
            folder = os.path.dirname(folder)
        reveal(self, folder, is_folder=True)
