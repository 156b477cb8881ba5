"""The details pane: everything the catalog knows about one file, and its cover.

Showing a file costs three indexed catalog reads on the UI thread (the record, its history and
its findings: a millisecond). The cover is different: the catalog keeps only a summary of the
art, so its bytes are read from the file itself, which may sit on a sleeping disk. That read
runs on a pool thread and comes back as a signal tagged with a request number; a result for a
file the user has already moved past is dropped (STYLE.md, habit 2).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import OrderedDict

from PySide6.QtCore import QObject, Qt, QThreadPool, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QDesktopServices,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QImage,
    QKeyEvent,
    QKeySequence,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from phonovault.core.catalog import FileRecord
from phonovault.core.errors import NotInCatalogError, TagReadError
from phonovault.core.fixity.judge import tag_changes_of
from phonovault.core.integrity.checks import DecodeResult
from phonovault.core.integrity.decoding import last_decode
from phonovault.core.records import UNBASELINED_STATES
from phonovault.core.rules.engine import RULE_PREFIX, finding_details
from phonovault.core.tags.reading import read_cover
from phonovault.gui.context import AppContext
from phonovault.gui.models.library_model import clock, quality
from phonovault.gui.style import (
    SEVERITY_COLORS,
    STATE_LABELS,
    icon,
    severity_icon,
    state_color,
    state_icon,
)

log = logging.getLogger(__name__)

COVER_SIZE = 128
_COVER_CACHE = 64  # thumbnails kept, keyed by art hash (an album's tracks share one cover)
Section = tuple[str, list[tuple[str, str]]]  # a heading and its (field, value) rows
_MONO = frozenset({"File hash", "Audio hash", "SHA-256"})
# A rule hit's field names (TrackFacts attributes) -> the Tags tab row that shows them.
FIELD_ROWS = {
    "title": "Title", "artist": "Artist", "album": "Album", "albumartist": "Album artist",
    "track": "Track", "tracktotal": "Track", "disc": "Disc", "disctotal": "Disc",
    "date": "Date", "year": "Date", "genre": "Genre", "art": "Cover art",
    "mb_trackid": "MusicBrainz track", "mb_albumid": "MusicBrainz album",
    "mb_artistid": "MusicBrainz artist", "mb_albumartistid": "MusicBrainz album artist",
    "mb_releasegroupid": "MusicBrainz release group",
}  # fmt: skip


def when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "never"


def _pair(n: int | None, total: int | None) -> str:
    return "" if n is None else f"{n}/{total}" if total else str(n)


def _gain(gain: float | None, peak: float | None) -> str:
    if gain is None:
        return ""
    return f"{gain:+.2f} dB" + (f", peak {peak:.6f}" if peak is not None else "")


def art_text(r: FileRecord) -> str:
    if not r.art_count:
        return "none"
    size = f", front {r.art_width}×{r.art_height}" if r.art_width and r.art_height else ""
    return f"{r.art_count} picture(s){size}, {(r.art_bytes or 0) / 1000:,.0f} KB"


def tag_fields(r: FileRecord, flagged: frozenset[str] = frozenset()) -> list[Section]:
    """Normalized fields (what the rules and views use), then the raw tags as stored, so a
    user can see why a field reads the way it does. A ``flagged`` row is shown even when
    empty: a missing tag is what a rule flagged."""
    normalized = [
        ("Title", r.title), ("Artist", r.artist), ("Album", r.album),
        ("Album artist", r.albumartist), ("Track", _pair(r.track, r.tracktotal)),
        ("Disc", _pair(r.disc, r.disctotal)), ("Date", r.date), ("Genre", r.genre),
        ("MusicBrainz track", r.mb_trackid), ("MusicBrainz album", r.mb_albumid),
        ("MusicBrainz artist", r.mb_artistid), ("MusicBrainz album artist", r.mb_albumartistid),
        ("MusicBrainz release group", r.mb_releasegroupid),
        ("ReplayGain track", _gain(r.rg_track_gain, r.rg_track_peak)),
        ("ReplayGain album", _gain(r.rg_album_gain, r.rg_album_peak)),
    ]  # fmt: skip
    sections: list[Section] = []
    if r.tag_error:
        sections.append(("Tags cannot be read", [("Reason", r.tag_error)]))
    if "Cover art" in flagged:
        normalized.append(("Cover art", art_text(r)))
    shown = [(k, str(v) if v else "(missing)") for k, v in normalized if v or k in flagged]
    sections.append(("Normalized", shown))
    try:
        raw = json.loads(r.raw_tags) if r.raw_tags else {}
    except ValueError:
        raw = {"(stored tags)": ["cannot be parsed"]}
    rows = [(key, "; ".join(map(str, values))) for key, values in raw.items()]
    sections.append((f"Raw tags ({r.tag_formats})" if r.tag_formats else "Raw tags", rows))
    return sections


def tech_fields(r: FileRecord) -> list[Section]:
    channels = {1: "1 (mono)", 2: "2 (stereo)"}.get(r.channels or 0, str(r.channels or ""))
    rows = [
        ("Format", r.format or ""), ("Codec", r.codec or ""),
        ("Duration", f"{clock(r.duration)} ({r.duration:.3f} s)" if r.duration else ""),
        ("Sample rate", f"{r.sample_rate:,} Hz" if r.sample_rate else ""),
        ("Bit depth", f"{r.bit_depth} bit" if r.bit_depth else "n/a (lossy)"),
        ("Quality", quality(r.bit_depth, r.sample_rate)), ("Channels", channels),
        ("Bitrate", f"{r.bitrate / 1000:,.0f} kbps" if r.bitrate else ""),
        ("Size", f"{r.size / 1e6:,.2f} MB ({r.size:,} bytes)"),
        ("Tag blocks", (r.tag_formats or "none").replace(",", ", ")), ("Cover art", art_text(r)),
        ("Modified", when(r.mtime_ns / 1e9)),
    ]  # fmt: skip
    return [("Stream and file", [(k, v) for k, v in rows if v])]


def decode_text(decoded: tuple[float, DecodeResult] | None, state: str = "ok") -> str:
    """The last decode check, as the Fixity tab shows it."""
    if decoded is None:
        if state in UNBASELINED_STATES:  # its verdicts are not kept (see decoding.py)
            return "not kept while the audio differs from its baseline (see Findings)"
        return "never (Decode check in the file's menu)"
    at, result = decoded
    said = "; ".join(p.message for p in result.problems) or "plays cleanly"
    return f"{when(at)}: {said}"


def _payload_text(r: FileRecord) -> str:
    if r.audio_method == "file":
        return "whole file" + (f" ({r.audio_fallback})" if r.audio_fallback else "")
    return r.audio_method or ""


def change_fields(changes: list[dict[str, str | None]], state: str) -> list[Section]:
    """What a tag edit (or damage in the tag area) changed, field by field: old → new."""
    if not changes:
        return []
    heading = "Damaged since the baseline" if state == "corrupt" else "Changed since the baseline"
    rows = []
    for c in changes:
        old, new = c.get("old"), c.get("new")
        if old is None:
            rows.append((str(c.get("field")), f"added: {new}"))
        elif new is None:
            rows.append((str(c.get("field")), f"removed (was {old})"))
        else:
            rows.append((str(c.get("field")), f"{old} → {new}"))
    return [(heading, rows)]


def fixity_fields(
    r: FileRecord, decoded: tuple[float, DecodeResult] | None = None
) -> list[Section]:
    hashes = [
        ("File hash", r.file_hash or "not computed"),
        ("Audio hash", r.audio_hash or "not computed"),
        ("Algorithm", r.hash_algo or ""), ("Audio payload", _payload_text(r)),
        ("SHA-256", r.sha256 or "not stored"),
    ]  # fmt: skip
    checks = [("First seen", when(r.first_seen)), ("Last read", when(r.last_read)),
              ("Last verified", when(r.last_verified) or "never"),
              ("Decode check", decode_text(decoded, r.state))]  # fmt: skip
    return [("Hashes", hashes), ("Checks", checks)]


class KeyValueTree(QTreeWidget):
    """Field/value rows under bold headings; Ctrl+C copies the current row's whole value
    (people copy hashes into other tools)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderLabels(["Field", "Value"])
        self.setRootIsDecorated(False)
        self.setItemsExpandable(False)
        self.setIndentation(12)
        self.setAlternatingRowColors(True)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # hashes: keep both ends
        self.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

    def set_sections(self, sections: list[Section], marks: dict[str, str] | None = None) -> None:
        """Show ``sections``; rows named in ``marks`` stand out, with its text as tooltip
        (what a rule says about that field)."""
        marks = marks or {}
        self.clear()
        bold = QFont(self.font())
        bold.setBold(True)
        for heading, rows in sections:
            top = QTreeWidgetItem(self, [heading])
            top.setFirstColumnSpanned(True)
            top.setFont(0, bold)
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            if not rows:
                QTreeWidgetItem(top, ["", "none"]).setDisabled(True)
            for key, value in rows:
                item = QTreeWidgetItem(top, [key, value.replace("\n", " ⏎ ")])
                item.setToolTip(1, value)
                if key in _MONO:
                    item.setFont(1, self._mono)
                if key in marks:
                    self._mark(item, marks[key], bold)
        self.expandAll()
        self.resizeColumnToContents(0)  # a few dozen rows: measuring them is cheap
        cap = self.fontMetrics().averageCharWidth() * 24
        self.setColumnWidth(0, min(self.columnWidth(0) + 12, cap))

    def _mark(self, item: QTreeWidgetItem, text: str, bold: QFont) -> None:
        # The warning colour reads on light and dark palettes alike; bold carries the mark
        # for people who do not see the colour.
        brush = QBrush(QColor(SEVERITY_COLORS["warning"]))
        item.setIcon(0, severity_icon("warning"))
        for column in (0, 1):
            item.setFont(column, bold)
            item.setForeground(column, brush)
        item.setToolTip(0, text)  # column 1's tooltip is the whole value (Ctrl+C copies it)
        item.setData(0, Qt.ItemDataRole.UserRole, text)

    def mark_of(self, key: str) -> str | None:
        """What a rule said about the row ``key`` (None: not flagged)."""
        for i in range(self.topLevelItemCount()):
            top = self.topLevelItem(i)
            for j in range(top.childCount()):
                if top.child(j).text(0) == key:
                    return top.child(j).data(0, Qt.ItemDataRole.UserRole)
        return None

    def value_of(self, key: str) -> str | None:
        """The whole value of the first row called ``key``."""
        for i in range(self.topLevelItemCount()):
            top = self.topLevelItem(i)
            for j in range(top.childCount()):
                if top.child(j).text(0) == key:
                    return top.child(j).toolTip(1)
        return None

    def keyPressEvent(self, event: QKeyEvent) -> None:
        item = self.currentItem()
        if event.matches(QKeySequence.StandardKey.Copy) and item is not None:
            QGuiApplication.clipboard().setText(item.toolTip(1) or item.text(0))
            return
        super().keyPressEvent(event)


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
        text = QVBoxLayout()
        text.addWidget(self.title)
        text.addWidget(self.subtitle)
        text.addLayout(state_row)
        text.addWidget(self.state_detail)
        text.addStretch(1)
        header = QHBoxLayout()
        header.addWidget(self.cover, 0, Qt.AlignmentFlag.AlignTop)
        header.addLayout(text, 1)

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
        self.tabs = QTabWidget(content)
        for page, name in ((self.tags_tree, "Tags"), (self.tech_tree, "Technical"),
                           (fixity, "Fixity"), (self.findings, "Findings")):  # fmt: skip
            self.tabs.addTab(page, name)

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

        layout = QVBoxLayout(content)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(header)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(footer)
        return content

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
        self.path.setCursorPosition(0)
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

    def show_in_folder(self) -> None:
        if path := self.path.text():
            QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))
