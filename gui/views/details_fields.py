"""What the details pane shows of a file, as field/value sections, and the tree that shows them.

The section builders are plain functions of the catalog's record (no Qt), so the pane only
fills :class:`KeyValueTree` widgets with what they return.
"""

from __future__ import annotations

import json
import time

from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
)
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from phonovault.core.catalog import FileRecord
from phonovault.core.integrity.checks import DecodeResult
from phonovault.core.records import UNBASELINED_STATES
from phonovault.gui.models.library_columns import clock, quality
from phonovault.gui.style import SEVERITY_COLORS, severity_icon

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
