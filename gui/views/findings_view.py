"""Findings: what is wrong, grouped by severity and kind, with what it means and what to do.

A finding is only useful if a person knows what to do next, so each kind comes with a short
explanation and only the actions that fit it (accepting a new baseline makes sense for changed
audio, never for a missing file). The findings are read off the UI thread
(:class:`BackgroundQuery`): a catalog with many of them must not freeze the window.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Mapping

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from phonovault.core.catalog import Catalog, Finding
from phonovault.core.rules.engine import PLUGIN_PREFIX, RULE_PREFIX, RuleInfo
from phonovault.gui.context import AppContext
from phonovault.gui.loader import BackgroundQuery
from phonovault.gui.models.findings_model import (
    COLUMNS,
    ROLE_COUNT,
    ROLE_KIND,
    SEVERITIES,
    FindingsModel,
    FindingsTree,
    findings_tree,
    kind_label,
)
from phonovault.gui.reveal import show_in_folder as reveal
from phonovault.gui.style import icon
from phonovault.gui.views.accept_confirm import ask_accept, damage_warning
from phonovault.gui.views.restore_flow import RESTORABLE_STATES, RepairFlow

ACCEPTABLE = frozenset({"audio-changed", "corrupt"})
RESCANNABLE = frozenset({"missing", "unreadable", "rule:tags-unreadable"})

# kind -> (what it means, what to do). Plain language: the reader may not know what a hash is.
EXPLANATIONS = {
    "corrupt": (
        "The audio bytes changed although nothing wrote to the file: its size and modified "
        "time are what they were at the last check. That is what silent corruption (bit rot) "
        "or a failing disk looks like.",
        "Restore the file from a backup, then verify again, and check the disk's health. "
        "Accept it as the new baseline only if you are sure the change was intended: the "
        "damaged audio would become the reference.",
    ),
    "audio-changed": (
        "The audio differs from the baseline and the file was written to since (its modified "
        "time or size changed). Re-encoding, replacing it with another version, or an editor "
        "that touched the audio does this; so can damage followed by a write.",
        "If you re-encoded or replaced it on purpose, accept it as the new baseline. "
        "If you did not, restore it from a backup.",
    ),
    "missing": (
        "The file is no longer where the catalog expects it, and its bytes did not turn up "
        "anywhere else in the library folder. Its entry and history are kept.",
        "If you moved or renamed it, rescan so the catalog follows it. "
        "Otherwise restore it from a backup.",
    ),
    "unreadable": (
        "The file could not be read: a permission problem or an input/output error. "
        "I/O errors are an early warning of a failing disk.",
        "Check the file's permissions. If the disk reports I/O errors, copy what you can to a "
        "healthy disk now and restore the rest from a backup. Rescan once it is fixed.",
    ),
    "moved": (
        "The file was moved or renamed inside its library folder. Phonovault recognised it "
        "by its checksum, and its history followed it.",
        "Nothing: this is for your information.",
    ),
    "tags-changed": (
        "The tags (title, artist, cover art…) were edited; the audio itself is unchanged. "
        "The new checksum is the baseline now; the old one stays in the history.",
        "Nothing, unless you did not make or expect that edit.",
    ),
    "decode-error": (
        "Decoding the audio met damaged data: the format's own checks (frame checksums, "
        "bitstream rules) failed. A player will skip, click or stop there. The damage may be "
        "older than Phonovault's first scan, so the checksum alone could not see it.",
        "Restore the file from a backup or a fresh download or rip; decode-check the copy "
        "before you use it. If every copy is damaged, the message says where in the track.",
    ),
    "md5-mismatch": (
        "Every FLAC file carries an MD5 checksum of its decoded audio. This file decodes, but "
        "to different audio than it was made from: something changed it after encoding.",
        "Restore it from a backup or re-download or re-rip it. 'flac -t' gives the same "
        "verdict if you want a second opinion.",
    ),
    "truncated": (
        "The file ends early: less audio decodes than its header promises (or an Ogg stream "
        "lacks its last page). An interrupted download or copy does this.",
        "Download, copy or rip it again; restore it from a backup if one is complete.",
    ),
    "undecodable": (
        "No audio could be decoded from the file: it may not be the format its name says, "
        "or be damaged from the start.",
        "Check the file in a player. Replace it from a backup or the original source.",
    ),
    "cover-damaged": (
        "An embedded cover image does not decode. The audio is fine; players may show no "
        "cover or a broken one.",
        "Re-embed the cover with your tagger (this is a tag edit: the audio hash stays).",
    ),
}
SEVERITY_HINTS = {
    "error": "Files that are damaged, gone or unreadable. Deal with these first.",
    "warning": "Changes that need your decision, and files Phonovault cannot fully read.",
    "info": "Harmless changes Phonovault has already recorded. Nothing to do.",
}
NOTHING_SELECTED = "Select a finding to see what it means and what you can do about it."


PLUGIN_EXPLANATION = (
    "A plugin failed while checking tags. Phonovault switched it off for that check; every "
    "other rule still ran.",
    "Update or remove the plugin (the message names the error), then check the tags again.",
)


def read_findings(
    catalog: Catalog, min_severity: str, rules: Mapping[str, RuleInfo] | None = None
) -> tuple[FindingsTree, Mapping[str, RuleInfo]]:
    """Loader-thread body: the findings, grouped (paths relative to the library folders),
    rule findings named by their rules' titles; and the rules, for the explanations."""
    rules = rules or {}
    roots = [r.path for r in catalog.roots()]
    labels = {RULE_PREFIX + rule_id: info.rule.title for rule_id, info in rules.items()}
    return findings_tree(catalog.findings(min_severity=min_severity), roots, labels), rules


def rule_of(kind: str | None) -> str | None:
    """The rule id of a rule finding's kind (None for other kinds)."""
    return kind[len(RULE_PREFIX) :] if kind and kind.startswith(RULE_PREFIX) else None


def explanation_html(
    kind: str | None, severity: str | None = None, rules: Mapping[str, RuleInfo] | None = None
) -> str:
    """The explanation panel's text for a kind (or a severity group, or nothing)."""
    if kind is None:
        return SEVERITY_HINTS.get(severity or "", NOTHING_SELECTED)
    info = (rules or {}).get(rule_of(kind) or "")
    if info is not None:
        rule = info.rule
        todo = f"<p><b>What to do:</b> {html.escape(rule.fix)}</p>" if rule.fix else ""
        return (
            f"<b>{html.escape(rule.title)}</b> <small>({html.escape(rule.id)}, "
            f"{info.severity})</small><p>{html.escape(rule.explanation)}</p>{todo}"
            "<p>If it is not a problem here, mute it for this file"
            + (" (for an album rule: the whole album)" if rule.scope == "album" else "")
            + ".</p>"
        )
    if kind.startswith(PLUGIN_PREFIX):
        meaning, todo = PLUGIN_EXPLANATION
        name = html.escape(kind[len(PLUGIN_PREFIX) :])
        return f"<b>Plugin {name} failed</b><p>{meaning}</p><p><b>What to do:</b> {todo}</p>"
    meaning, todo = EXPLANATIONS.get(
        kind, ("A finding reported by a check.", "See the message of each file for details.")
    )
    return f"<b>{kind_label(kind)}</b><p>{meaning}</p><p><b>What to do:</b> {todo}</p>"


class _MiddleElide(QStyledItemDelegate):
    """Elide paths in the middle (the file name matters most); messages elide at the end."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex) -> None:  # type: ignore[override]
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


class FindingsPage(QWidget):
    """The findings tree, an explanation panel, and the actions that fit the selection."""

    file_selected = Signal(int)
    loaded = Signal()  # the tree shows the findings of the latest refresh()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._restoring = False
        self.rules: Mapping[str, RuleInfo] = {}  # rule id -> rule, as of the latest read
        self.model = FindingsModel(self)
        self._query = BackgroundQuery(ctx.catalog, self)
        self._query.finished.connect(self._findings_loaded)
        self._query.failed.connect(self._load_failed)
        self.summary = QLabel(self)
        self.show_info = QCheckBox("Show information", self)
        self.show_info.setToolTip("Also list harmless changes: moved files, edited tags")
        self.show_info.toggled.connect(self.refresh)
        self.restore = RepairFlow(ctx, self)  # "Restore from backup…": plan, then confirm

        self._build_tree()
        panel = self._build_explanation()
        buttons = self._build_buttons()

        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.show_info)
        bottom = QHBoxLayout()
        bottom.addWidget(panel, 1)
        bottom.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tree, 3)
        layout.addLayout(bottom, 1)
        self._update_actions()

    def _build_tree(self) -> None:
        """The findings, grouped; file names kept visible, dates in a fixed column."""
        self.tree = QTreeView(self)
        self.tree.setModel(self.model)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setItemDelegateForColumn(0, _MiddleElide(self.tree))  # keep file names
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(0, 360)
        header.resizeSection(2, self.fontMetrics().horizontalAdvance("8888-88-88 88:88") + 24)
        self.tree.selectionModel().selectionChanged.connect(self._selection_changed)
        self.tree.selectionModel().currentChanged.connect(self._current_changed)
        self.tree.doubleClicked.connect(lambda _index: self._show_file())

    def _build_explanation(self) -> QFrame:
        """The panel explaining the selected kind of finding and what to do about it."""
        self.explanation = QLabel(NOTHING_SELECTED, self)
        self.explanation.setWordWrap(True)
        self.explanation.setMinimumHeight(self.fontMetrics().height() * 6)
        panel = QFrame(self)
        panel.setFrameShape(QFrame.Shape.StyledPanel)
        panel_layout = QVBoxLayout(panel)
        panel_layout.addWidget(self.explanation)
        panel_layout.addStretch(1)
        return panel

    def _build_buttons(self) -> QVBoxLayout:
        """The actions that fit the selection, in a column beside the explanation."""
        self.restore_button = self._button("backups", "Restore from backup…", self._restore)
        self.restore_button.setToolTip(
            "Plan a restore of the selected files from verified good copies; nothing is written yet"
        )
        self.restore.busy_changed.connect(lambda _busy: self._update_actions())
        self.accept_button = self._button("verify", "Accept as new baseline", self._accept)
        self.accept_button.setToolTip("Take the files as they are now as their new reference")
        self.show_button = self._button("library", "Show file", self._show_file)
        self.folder_button = self._button("folder", "Show in folder", self._show_folder)
        self.rescan_button = self._button("scan", "Rescan", self._rescan)
        self.rescan_button.setToolTip("Scan the folders of the selected files again")
        self.mute_button = self._button("cancel", "Mute…", self._mute)
        self.mute_button.setToolTip(
            "Stop reporting this rule for the selected files (album rules: their albums)"
        )
        buttons = QVBoxLayout()
        for button in (
            self.restore_button,
            self.accept_button,
            self.rescan_button,
            self.mute_button,
            self.show_button,
            self.folder_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        return buttons

    def _button(self, icon_name: str, text: str, slot: Callable[[], None]) -> QPushButton:
        button = QPushButton(icon(icon_name), text, self)
        button.clicked.connect(slot)
        return button

    # -- data ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read the findings, keeping collapsed groups, selection and current row.

        The read runs off the UI thread; ``loaded`` says when the tree shows it."""
        severity = "info" if self.show_info.isChecked() else "warning"
        rules = self.ctx.rule_infos  # called on the loader thread: the first call loads plugins
        self._query.request(lambda catalog: read_findings(catalog, severity, rules()))

    def is_loading(self) -> bool:
        return self._query.is_busy()

    def _load_failed(self, message: str) -> None:
        self.summary.setText(f"Cannot read the catalog: {message}")

    def _findings_loaded(self, loaded: tuple[FindingsTree, Mapping[str, RuleInfo]]) -> None:
        tree, self.rules = loaded
        collapsed = self._collapsed_groups()
        selected = {f.id for f in self.selected_findings()}
        current = self.model.finding(self.tree.currentIndex())
        self.model.set_tree(tree)
        # Expand the groups, not every row: expandAll() asks the model about each of
        # thousands of leaves (~100 ms for 10k findings) to learn they have no children.
        # Before any spanning, which lays the tree out: expanding then only marks groups.
        groups = []
        for sev in SEVERITIES:
            sev_index = self.model.group_index(sev)
            if sev_index.isValid():
                kinds = [
                    self.model.index(r, 0, sev_index) for r in range(self.model.rowCount(sev_index))
                ]
                groups.append((sev_index, kinds))
                for index in [sev_index, *kinds]:
                    if (sev, index.data(ROLE_KIND)) not in collapsed:
                        self.tree.expand(index)
        for sev_index, kinds in groups:
            self.tree.setFirstColumnSpanned(sev_index.row(), QModelIndex(), True)
            for kind_index in kinds:
                self.tree.setFirstColumnSpanned(kind_index.row(), sev_index, True)
        self._restore_selection(selected, current)
        self._update_summary()
        self._update_actions()
        self.loaded.emit()

    def _collapsed_groups(self) -> set[tuple[str, str | None]]:
        out: set[tuple[str, str | None]] = set()
        for sev in SEVERITIES:
            sev_index = self.model.group_index(sev)
            if not sev_index.isValid():
                continue
            if not self.tree.isExpanded(sev_index):
                out.add((sev, None))
            for row in range(self.model.rowCount(sev_index)):
                kind_index = self.model.index(row, 0, sev_index)
                if not self.tree.isExpanded(kind_index):
                    out.add((sev, kind_index.data(ROLE_KIND)))
        return out

    def _restore_selection(self, selected: set[int], current: Finding | None) -> None:
        """Select again what was selected, in one go (one signal, not one per row)."""
        selection = QItemSelection()
        last = len(COLUMNS) - 1
        for finding_id in selected:
            index = self.model.finding_index(finding_id)
            if index.isValid():
                selection.select(index, self.model.finding_index(finding_id, last))
        selection_model = self.tree.selectionModel()
        self._restoring = True  # a refresh must not pull the details pane to this page's file
        try:
            if current is not None:
                index = self.model.finding_index(current.id)
                if index.isValid():
                    selection_model.setCurrentIndex(
                        index, QItemSelectionModel.SelectionFlag.NoUpdate
                    )
            selection_model.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        finally:
            self._restoring = False

    def _update_summary(self) -> None:
        parts = []
        for sev, word in (("error", "error"), ("warning", "warning"), ("info", "note")):
            n = int(self.model.group_index(sev).data(ROLE_COUNT) or 0)
            if n:
                parts.append(f"{n:,} {word}" + ("" if n == 1 else "s"))
        self.summary.setText(
            ", ".join(parts) if parts else "Nothing needs your attention. Every file checks out."
        )

    # -- selection and actions ----------------------------------------------------------------

    def selected_findings(self) -> list[Finding]:
        """The selected leaves (groups in the selection are ignored: actions act on files)."""
        rows = self.tree.selectionModel().selectedRows(0)
        found = (self.model.finding(index) for index in rows)
        return [f for f in found if f is not None]

    def _selection_changed(self, *_args: object) -> None:
        self._update_actions()

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        finding = self.model.finding(current)
        if finding is not None and finding.file_id is not None and not self._restoring:
            self.file_selected.emit(finding.file_id)
        self._update_actions()

    def _update_actions(self) -> None:
        current = self.tree.currentIndex()
        kind = current.data(ROLE_KIND) if current.isValid() else None
        severity = None
        if current.isValid() and kind is None:
            severity = next((s for s in SEVERITIES if self.model.group_index(s) == current), None)
        self.explanation.setText(explanation_html(kind, severity, self.rules))
        leaves = self.selected_findings()
        kinds = {f.kind for f in leaves} or ({kind} if kind else set())
        self.restore_button.setVisible(bool(kinds & RESTORABLE_STATES))
        self.restore_button.setEnabled(not self.restore.is_busy() and bool(self._restorable_ids()))
        self.accept_button.setVisible(bool(kinds) and kinds <= ACCEPTABLE)
        self.accept_button.setEnabled(any(f.file_id is not None for f in leaves))
        self.rescan_button.setVisible(bool(kinds & RESCANNABLE))
        self.rescan_button.setEnabled(bool(leaves))
        self.mute_button.setVisible(bool(kinds) and all(rule_of(k) for k in kinds))
        self.mute_button.setEnabled(any(f.file_id is not None for f in leaves))
        target = self._current_finding()
        self.show_button.setEnabled(target is not None and target.file_id is not None)
        self.folder_button.setEnabled(
            target is not None and bool(target.path) and os.path.isdir(os.path.dirname(target.path))
        )

    def _current_finding(self) -> Finding | None:
        finding = self.model.finding(self.tree.currentIndex())
        if finding is None:
            leaves = self.selected_findings()
            finding = leaves[0] if leaves else None
        return finding

    def _accept(self) -> None:
        chosen = [f for f in self.selected_findings() if f.kind in ACCEPTABLE and f.file_id]
        if not chosen:
            return
        n = len(chosen)
        files = "this file" if n == 1 else f"these {n} files"
        text = (
            f"Accept {files} as they are now as the new baseline?\n\n"
            "Future checks will compare against the current audio. The old checksums stay "
            "in the history."
        )
        files = list({f.file_id: f.path for f in chosen if f.file_id is not None}.items())
        if warning := damage_warning(self.ctx.catalog, files):
            text += "\n\n" + warning
        elif any(f.kind == "corrupt" for f in chosen):
            text += (
                "\n\nSome of them look like bit rot (changed without being written to). "
                "Restoring them from a backup is usually the right thing to do."
            )
        if ask_accept(self, text):
            self.ctx.accept([file_id for file_id, _path in files])

    def _restorable_ids(self) -> list[int]:
        """The files of the selected corrupt or missing findings, each once."""
        found = self.selected_findings()
        return list(
            dict.fromkeys(f.file_id for f in found if f.kind in RESTORABLE_STATES and f.file_id)
        )

    def _restore(self) -> None:
        if ids := self._restorable_ids():
            self.restore.restore(ids)

    def _mute(self) -> None:
        targets = [
            (rule_id, f.file_id)
            for f in self.selected_findings()
            if (rule_id := rule_of(f.kind)) and f.file_id is not None
        ]
        if not targets:
            return
        albums = any(
            (info := self.rules.get(r)) is not None and info.rule.scope == "album"
            for r, _ in targets
        )
        what = "this finding" if len(targets) == 1 else f"these {len(targets)} findings"
        reason, ok = QInputDialog.getText(
            self,
            "Mute",
            f"Why is {what} not a problem? The reason is kept in the catalog."
            + ("\nAlbum rules are muted for the whole album." if albums else ""),
        )
        if ok and reason.strip():
            self.ctx.mute(targets, reason.strip())

    def _show_file(self) -> None:
        finding = self._current_finding()
        if finding is not None and finding.file_id is not None:
            self.file_selected.emit(finding.file_id)

    def _show_folder(self) -> None:
        finding = self._current_finding()
        if finding is not None and finding.path:
            reveal(self, finding.path)

    def _rescan(self) -> None:
        roots = sorted(
            {
                self.ctx.catalog.file(f.file_id).root_id
                for f in self.selected_findings()
                if f.file_id
            }
        )
        self.ctx.scan(roots or None, title="Rescan")
