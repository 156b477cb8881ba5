"""The details pane: everything the catalog knows about one file, and its cover.

Showing a file costs three indexed catalog reads on the UI thread (the record, its history and
its findings: a millisecond). The cover is different: the catalog keeps only a summary of the
art, so its bytes are read from the file itself, which may sit on a sleeping disk. That read
runs on a pool thread and comes back as a signal tagged with a request number; a result for a
file the user has already moved past is dropped (STYLE.md, habit 2).
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict

from PySide6.QtCore import QObject, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QFont, QImage, QPalette, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from phonovault.core.catalog import FileRecord
from phonovault.core.errors import NotInCatalogError, TagReadError
from phonovault.core.fixity.judge import tag_changes_of
from phonovault.core.integrity.decoding import last_decode
from phonovault.core.rules.engine import RULE_PREFIX, finding_details
from phonovault.core.tags.reading import read_cover
from phonovault.gui.context import AppContext
from phonovault.gui.reveal import show_in_folder as reveal
from phonovault.gui.style import STATE_LABELS, icon, severity_icon, state_color, state_icon
from phonovault.gui.views.details_fields import (
    FIELD_ROWS,
    KeyValueTree,
    art_text,
    change_fields,
    fixity_fields,
    tag_fields,
    tech_fields,
    when,
)
from phonovault.gui.views.restore_flow import RESTORABLE_STATES, RepairFlow

log = logging.getLogger(__name__)

COVER_SIZE = 128
_COVER_CACHE = 64  # thumbnails kept, keyed by art hash (an album's tracks share one cover)


class _Latest:
    """The newest cover request number. Only the UI thread writes it; loader threads read
    it (one int, atomic under the GIL) to skip work nobody will look at."""

    def __init__(self) -> None:
        self.value = 0


class _CoverSignals(QObject):
    done = Signal(int, object, object, str)  # request, QImage | None, art hash, text if none


def _load_cover(path: str, request: int, art_hash: str | None, pixels: int, latest: _Latest,
                signals: _CoverSignals) -> None:  # fmt: skip
    """Pool-thread body: read and scale one cover (QImage, unlike QPixmap, is safe here)."""
    if request != latest.value:  # the user moved on while this waited
        return
    image, text = None, "No cover"
    try:
        picture = read_cover(path)
        if picture is not None:
            loaded = QImage.fromData(picture.data)
            if loaded.isNull():
                text = f"Cover cannot be decoded ({picture.mime or 'unknown type'})"
            else:
                mode = Qt.TransformationMode.SmoothTransformation
                image = loaded.scaled(pixels, pixels, Qt.AspectRatioMode.KeepAspectRatio, mode)
    except TagReadError as exc:
        text = exc.reason
    except Exception:  # a bug: log it, show something plain
        log.exception("reading the cover of %s failed", path)
        text = "Cover cannot be read"
    signals.done.emit(request, image, art_hash, text)


class DetailsPane(QWidget):
    """Header with cover and state, tabs (Tags, Technical, Fixity, Findings), path footer."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.file_id: int | None = None
        self.record: FileRecord | None = None
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._latest = _Latest()
        self._cover_signals = _CoverSignals(self)
        self._cover_signals.done.connect(self._cover_done)
        self._covers: OrderedDict[str, QImage] = OrderedDict()
        self.restore = RepairFlow(ctx, self)  # "Restore from backup…": plan, then confirm
        self.stack = QStackedWidget(self)
        self.placeholder = QLabel(self)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self._build_content())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        # Re-read after jobs (an accept or verify changes state and history), coalesced.
        self._reload_timer = QTimer(self, singleShot=True, interval=200)
        self._reload_timer.timeout.connect(self.reload)
        ctx.catalog_changed.connect(self._reload_timer.start)
        self.show_file(None)

    def _build_content(self) -> QWidget:
        content = QWidget(self)
        header = self._build_header(content)
        self.tabs = self._build_tabs(content)
        footer = self._build_footer(content)
        layout = QVBoxLayout(content)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(header)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(footer)
        return content

    def _build_header(self, content: QWidget) -> QHBoxLayout:
        """The cover beside the title, artist and album, and the state."""
        self.cover = QLabel(content)
        self.cover.setFixedSize(COVER_SIZE, COVER_SIZE)
        self.cover.setFrameShape(QFrame.Shape.StyledPanel)
        self.cover.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.cover.setWordWrap(True)
        self.cover.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.state_icon = QLabel(content)
        self.title, self.subtitle, self.state_label, self.state_detail = labels = [
            QLabel(content) for _ in range(4)
        ]
        for label in labels:
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = QFont(self.title.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.title.setFont(font)
        self.state_detail.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        state_row = QHBoxLayout()
        state_row.addWidget(self.state_icon)
        state_row.addWidget(self.state_label, 1)
        # Where the damage is shown, the fix is offered: a plan for this file alone, shown
        # in the repair dialog before anything is written.
        self.restore_button = QPushButton(icon("backups"), "Restore from backup…", content)
        self.restore_button.setToolTip(
            "Plan a restore of this file from a verified good copy; nothing is written yet"
        )
        self.restore_button.clicked.connect(self.restore_from_backup)
        self.restore.busy_changed.connect(self._restore_busy)
        restore_row = QHBoxLayout()
        restore_row.addWidget(self.restore_button)
        restore_row.addStretch(1)
        text = QVBoxLayout()
        text.addWidget(self.title)
        text.addWidget(self.subtitle)
        text.addLayout(state_row)
        text.addWidget(self.state_detail)
        text.addLayout(restore_row)
        text.addStretch(1)
        header = QHBoxLayout()
        header.addWidget(self.cover, 0, Qt.AlignmentFlag.AlignTop)
        header.addLayout(text, 1)
        return header

    def _build_tabs(self, content: QWidget) -> QTabWidget:
        """Tags, Technical, Fixity (with the history) and Findings."""
        self.tags_tree, self.tech_tree, self.fixity_tree = (KeyValueTree(content) for _ in "123")
        self.history, self.findings = QListWidget(content), QListWidget(content)
        for listing in (self.history, self.findings):
            listing.setWordWrap(True)
            listing.setAlternatingRowColors(True)
        fixity = QWidget(content)
        fixity_layout = QVBoxLayout(fixity)
        fixity_layout.addWidget(self.fixity_tree, 3)
        fixity_layout.addWidget(QLabel("History, newest first", fixity))
        fixity_layout.addWidget(self.history, 2)
        tabs = QTabWidget(content)
        for page, name in ((self.tags_tree, "Tags"), (self.tech_tree, "Technical"),
                           (fixity, "Fixity"), (self.findings, "Findings")):  # fmt: skip
            tabs.addTab(page, name)
        return tabs

    def _build_footer(self, content: QWidget) -> QHBoxLayout:
        """The path, whole and copyable, and a button opening its folder."""
        self.path = QLineEdit(content)  # selectable and copyable whole; scrolls, never wraps
        self.path.setReadOnly(True)
        self.path.setFrame(False)
        self.path.setStyleSheet("QLineEdit { background: transparent; }")  # follows light/dark
        self.folder_button = QToolButton(content)
        self.folder_button.setIcon(icon("folder"))
        self.folder_button.setText("Show in folder")
        self.folder_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.folder_button.clicked.connect(self.show_in_folder)
        footer = QHBoxLayout()
        footer.addWidget(self.path, 1)
        footer.addWidget(self.folder_button)
        return footer

    # -- showing a file ---------------------------------------------------------------------

    def show_file(self, file_id: int | None) -> None:
        """Show one file (None: the friendly empty state)."""
        self.file_id = file_id
        if file_id is None:
            self._show_message("Select a file to see its details")
            return
        try:
            record = self.ctx.catalog.file(file_id)
            path = self.ctx.file_path(file_id)
        except NotInCatalogError:
            self._show_message("This file is no longer in the catalog")
            return
        previous, self.record = self.record, record
        self._fill_header(record)
        marks = self._rule_marks(file_id)
        self.tags_tree.set_sections(tag_fields(record, frozenset(marks)), marks)
        self.tech_tree.set_sections(tech_fields(record))
        decoded = last_decode(self.ctx.catalog, file_id)
        changes = change_fields(tag_changes_of(self.ctx.catalog, file_id), record.state)
        self.fixity_tree.set_sections(changes + fixity_fields(record, decoded))
        self._fill_history(file_id)
        self._fill_findings(file_id)
        self.path.setText(path)
        self.path.setCursorPosition(len(path))  # scrolled to the end: the file name shows
        self.path.setToolTip(path)
        if previous is None or previous.id != record.id or previous.art_hash != record.art_hash:
            self._load_cover(record, path)
        self.stack.setCurrentIndex(1)

    def reload(self) -> None:
        """Re-read the shown file (after a job changed the catalog), on the same tab."""
        if self.file_id is not None:
            tab = self.tabs.currentIndex()
            self.show_file(self.file_id)
            self.tabs.setCurrentIndex(tab)

    def _rule_marks(self, file_id: int) -> dict[str, str]:
        """Tags tab row -> what the rules flagged there (one indexed read of this file)."""
        infos = self.ctx.rule_infos(load=False)
        messages = {f.kind: f.message for f in self.ctx.catalog.findings_for_file(file_id)}
        marks: dict[str, list[str]] = {}
        for rule_id, detail in finding_details(self.ctx.catalog, file_id).items():
            info = infos.get(rule_id)
            title = info.rule.title if info else rule_id
            text = f"{title}: {messages.get(RULE_PREFIX + rule_id, '')}"
            if detail.fix:
                text += f"\nFix: {detail.fix}"
            for name in detail.fields:
                marks.setdefault(FIELD_ROWS.get(name, name), []).append(text)
        return {row: "\n\n".join(texts) for row, texts in marks.items()}

    def _show_message(self, text: str) -> None:
        self.record = None
        self._latest.value += 1  # any cover still loading is now stale
        self.placeholder.setText(text)
        self.stack.setCurrentIndex(0)

    def _fill_header(self, r: FileRecord) -> None:
        self.title.setText(r.title or os.path.basename(os.fsdecode(r.relpath)))
        parts = [r.artist or "Unknown artist", r.album or "Unknown album"]
        self.subtitle.setText(" — ".join(parts) + (f" ({r.date})" if r.date else ""))
        self.state_icon.setPixmap(state_icon(r.state).pixmap(16, 16))
        self.state_label.setText(STATE_LABELS.get(r.state, r.state))
        palette = self.state_label.palette()
        palette.setColor(QPalette.ColorRole.WindowText, state_color(r.state))
        self.state_label.setPalette(palette)
        checked = f"checked {when(r.last_verified)}" if r.last_verified else "never verified"
        self.state_detail.setText(f"{r.state_detail}\n{checked}" if r.state_detail else checked)
        self.restore_button.setVisible(r.state in RESTORABLE_STATES)

    def _fill_history(self, file_id: int) -> None:
        self.history.clear()
        for entry in reversed(self.ctx.catalog.history(file_id)):
            accepted = entry.state == "accepted"
            label = "Accepted as new baseline" if accepted else (
                STATE_LABELS.get(entry.state, entry.state)
            )  # fmt: skip
            text = f"{when(entry.at)} — {label}" + (f"\n{entry.detail}" if entry.detail else "")
            item = QListWidgetItem(state_icon("ok" if accepted else entry.state), text)
            self.history.addItem(item)
            pairs = (("file", entry.file_hash), ("audio", entry.audio_hash))
            item.setToolTip("\n".join(f"{n} hash {v}" for n, v in pairs if v) or label)

    def _fill_findings(self, file_id: int) -> None:
        self.findings.clear()
        found = self.ctx.catalog.findings_for_file(file_id)
        infos = self.ctx.rule_infos(load=False)
        for f in found:
            info = infos.get(f.kind[len(RULE_PREFIX) :]) if f.kind.startswith(RULE_PREFIX) else None
            text = f"{info.rule.title}: {f.message}" if info else f.message
            item = QListWidgetItem(severity_icon(f.severity), text, self.findings)
            item.setToolTip(f"{f.kind}, {f.severity}, since {when(f.created)}")
        if not found:
            item = QListWidgetItem("No findings for this file", self.findings)
            item.setFlags(Qt.ItemFlag.NoItemFlags)
        self.tabs.setTabText(3, f"Findings ({len(found)})" if found else "Findings")

    # -- cover ------------------------------------------------------------------------------

    def _load_cover(self, r: FileRecord, path: str) -> None:
        self._latest.value += 1
        self.cover.setPixmap(QPixmap())
        self.cover.setToolTip(art_text(r) if r.art_count else "")
        if not r.art_count:
            self.cover.setText(f"Tags unreadable:\n{r.tag_error}" if r.tag_error else "No cover")
            return
        cached = self._covers.get(r.art_hash or "")
        if cached is not None:
            self._covers.move_to_end(r.art_hash or "")
            self._set_cover(cached)
            return
        self.cover.setText("Loading cover…")
        pixels = int((COVER_SIZE - 4) * self.devicePixelRatioF())
        args = (path, self._latest.value, r.art_hash, pixels, self._latest, self._cover_signals)
        self._pool.start(lambda: _load_cover(*args))

    def _cover_done(self, request: int, image: QImage | None, art_hash: str | None,
                    text: str) -> None:  # fmt: skip
        if image is not None and art_hash:
            self._covers[art_hash] = image
            while len(self._covers) > _COVER_CACHE:
                self._covers.popitem(last=False)
        if request != self._latest.value:
            return  # the pane shows another file now
        if image is None:
            self.cover.setText(text)
        else:
            self._set_cover(image)

    def _set_cover(self, image: QImage) -> None:
        pixmap = QPixmap.fromImage(image)
        pixmap.setDevicePixelRatio(self.devicePixelRatioF())
        self.cover.setPixmap(pixmap)

    def has_cover(self) -> bool:
        pixmap = self.cover.pixmap()
        return pixmap is not None and not pixmap.isNull()

    def restore_from_backup(self) -> None:
        """Plan a restore of the shown file (off the UI thread); the dialog confirms it."""
        if self.record is not None and self.record.state in RESTORABLE_STATES:
            self.restore.restore([self.record.id])

    def _restore_busy(self, busy: bool) -> None:
        self.restore_button.setEnabled(not busy)
        self.restore_button.setText("Planning…" if busy else "Restore from backup…")

    def show_in_folder(self) -> None:
        if path := self.path.text():
            reveal(self, path)
