"""The details pane on a real catalog: fields, history, findings, and the off-thread cover."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from mutagen.flac import FLAC, Picture
from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtGui import QColor, QImage

from phonovault.core.catalog import Catalog
from phonovault.core.config import Settings
from phonovault.core.fixity.scan import scan
from phonovault.core.fixity.verify import verify
from phonovault.core.library.roots import add_root
from phonovault.gui.context import AppContext
from phonovault.gui.views.details_pane import DetailsPane


def png_bytes(width: int = 300, height: int = 200) -> bytes:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#3b82c4"))
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    assert image.save(buffer, "PNG")
    return bytes(buffer.data())


def add_cover(path: Path) -> None:
    picture = Picture()
    picture.type, picture.mime, picture.data = 3, "image/png", png_bytes()
    audio = FLAC(path)
    audio.add_picture(picture)
    audio.save()


@pytest.fixture
def setup(qtbot, tmp_path: Path, make_file):
    """A pane over a scanned catalog: a FLAC with a cover, one without, an MP3 with broken
    audio (audio-changed, with a finding). Returns (ctx, pane, {name: (id, path)})."""
    root = tmp_path / "Music"
    covered = make_file("flac16", "A/covered.flac", root=root)
    add_cover(covered)
    make_file("flac24", "A/plain.flac", root=root)
    broken = make_file("mp3", "B/broken.mp3", root=root)
    catalog = Catalog(tmp_path / "c.sqlite")
    add_root(catalog, root)
    scan(catalog)
    data = bytearray(broken.read_bytes())
    data[len(data) // 2] ^= 0xFF
    broken.write_bytes(bytes(data))
    st = broken.stat()
    os.utime(broken, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert verify(catalog).summary == {"ok": 2, "audio-changed": 1}
    ctx = AppContext(catalog, Settings())
    pane = DetailsPane(ctx)
    qtbot.addWidget(pane)
    pane.resize(360, 640)
    pane.show()
    by_name = {r.path.rsplit("/", 1)[-1]: (r.id, Path(r.path)) for r in catalog.library_rows()}
    yield ctx, pane, by_name
    pane._pool.waitForDone(5000)
    catalog.close()


def test_nothing_selected_shows_a_friendly_message(setup) -> None:
    _ctx, pane, files = setup
    assert pane.stack.currentIndex() == 0
    assert pane.placeholder.text() == "Select a file to see its details"
    pane.show_file(files["plain.flac"][0])
    assert pane.stack.currentIndex() == 1
    pane.show_file(None)
    assert pane.stack.currentIndex() == 0 and pane.record is None


def test_shows_tags_technical_fixity_and_history(setup) -> None:
    ctx, pane, files = setup
    file_id, path = files["plain.flac"]
    pane.show_file(file_id)
    record = ctx.catalog.file(file_id)
    assert pane.title.text() == "T flac24"
    assert pane.subtitle.text() == "Artist — Album (2001)"
    assert pane.state_label.text() == "OK"
    assert pane.tags_tree.value_of("Title") == "T flac24"
    raw = json.loads(record.raw_tags or "{}")
    assert pane.tags_tree.value_of("title") == "; ".join(raw["title"])  # raw Vorbis key
    assert pane.tech_tree.value_of("Sample rate") == "96,000 Hz"
    assert pane.tech_tree.value_of("Bit depth") == "24 bit"
    assert pane.tech_tree.value_of("Quality") == "24/96"
    assert pane.fixity_tree.value_of("File hash") == record.file_hash
    assert pane.fixity_tree.value_of("Audio hash") == record.audio_hash
    assert pane.fixity_tree.value_of("Algorithm") == "blake3"
    assert pane.path.text() == os.fspath(path)
    history = ctx.catalog.history(file_id)
    assert pane.history.count() == len(history) == 2  # first scan, then verify
    assert "OK" in pane.history.item(0).text()


def test_history_is_newest_first_and_findings_are_listed(setup) -> None:
    ctx, pane, files = setup
    file_id, _ = files["broken.mp3"]
    pane.show_file(file_id)
    assert pane.state_label.text() == "Audio changed"
    assert "audio differs" in pane.state_detail.text()
    assert pane.history.item(0).text().split(" — ")[1].startswith("Audio changed")
    assert pane.history.item(pane.history.count() - 1).text().split(" — ")[1].startswith("OK")
    findings = ctx.catalog.findings_for_file(file_id)
    assert len(findings) == 1 and pane.findings.count() == 1
    assert pane.findings.item(0).text() == findings[0].message
    assert pane.tabs.tabText(3) == "Findings (1)"
    pane.show_file(files["plain.flac"][0])
    assert pane.tabs.tabText(3) == "Findings"
    assert pane.findings.item(0).text() == "No findings for this file"


def test_cover_loads_off_the_ui_thread(qtbot, setup) -> None:
    _ctx, pane, files = setup
    pane.show_file(files["covered.flac"][0])
    assert not pane.has_cover()  # not yet: the read runs on a pool thread
    qtbot.waitUntil(pane.has_cover, timeout=5000)
    assert pane.cover.pixmap().width() <= pane.cover.width()
    assert "300×200" in pane.cover.toolTip()
    pane.show_file(files["plain.flac"][0])
    assert not pane.has_cover() and pane.cover.text() == "No cover"
    pane.show_file(files["covered.flac"][0])
    assert pane.has_cover()  # an album's tracks share one cover: cached by its hash


def test_a_stale_cover_never_replaces_the_current_file(qtbot, setup) -> None:
    _ctx, pane, files = setup
    pane.show_file(files["covered.flac"][0])
    stale_request = pane._latest.value
    pane.show_file(files["plain.flac"][0])  # the user moved on before the cover arrived
    pane._pool.waitForDone(5000)
    qtbot.wait(50)  # let any queued result arrive
    assert not pane.has_cover() and pane.cover.text() == "No cover"
    pane._cover_done(stale_request, QImage(10, 10, QImage.Format.Format_RGB32), "x", "")
    assert not pane.has_cover()


def test_cover_read_errors_are_shown(qtbot, setup) -> None:
    _ctx, pane, files = setup
    file_id, path = files["covered.flac"]
    path.unlink()  # the catalog still says it has a cover
    pane.show_file(file_id)
    qtbot.waitUntil(lambda: "not found" in pane.cover.text(), timeout=5000)
    assert not pane.has_cover()


def test_a_file_gone_from_the_catalog_says_so(setup) -> None:
    _ctx, pane, _files = setup
    pane.show_file(987_654)
    assert pane.stack.currentIndex() == 0
    assert pane.placeholder.text() == "This file is no longer in the catalog"


def test_reloads_when_a_job_changes_the_catalog(qtbot, setup) -> None:
    ctx, pane, files = setup
    file_id, _ = files["broken.mp3"]
    pane.show_file(file_id)
    pane.tabs.setCurrentIndex(2)
    with qtbot.waitSignal(ctx.jobs.idle, timeout=20000):
        ctx.accept([file_id])
    qtbot.waitUntil(lambda: pane.state_label.text() == "OK", timeout=2000)
    assert pane.history.item(0).text().split(" — ")[1].startswith("Accepted as new baseline")
    assert pane.tabs.currentIndex() == 2  # the user's tab stays


def test_a_tag_edit_shows_what_changed_field_by_field(setup) -> None:
    ctx, pane, files = setup
    file_id, path = files["covered.flac"]
    audio = FLAC(path)
    audio["title"] = ["A new title"]
    audio["comment"] = ["ripped again"]
    audio.clear_pictures()
    audio.save()
    assert verify(ctx.catalog).summary.get("tags-changed") == 1
    pane.show_file(file_id)
    assert pane.fixity_tree.value_of("title") == "T flac16 → A new title"
    assert pane.fixity_tree.value_of("comment") == "added: ripped again"
    assert (pane.fixity_tree.value_of("cover") or "").startswith("removed (was 1 picture")
    heading = pane.fixity_tree.topLevelItem(0)
    assert heading is not None and heading.text(0) == "Changed since the baseline"
    assert "title 'T flac16' -> 'A new title'" in pane.state_detail.text()
    assert any("A new title" in pane.findings.item(i).text() for i in range(pane.findings.count()))


def test_the_path_footer_keeps_the_file_name_in_view(setup) -> None:
    """A long path scrolls to its end, so the file's name is what shows; the whole path is
    still there to copy and in the tooltip."""
    _ctx, pane, files = setup
    file_id, path = files["plain.flac"]
    pane.resize(300, 640)
    pane.show_file(file_id)
    assert pane.path.text() == str(path) and pane.path.toolTip() == str(path)
    assert pane.path.cursorPosition() == len(str(path))
    pane.grab()  # laid out and painted, as on screen: the line edit scrolls to its cursor
    visible = pane.path.fontMetrics().horizontalAdvance("plain.flac")
    assert pane.path.cursorRect().left() < pane.path.width() and visible < pane.path.width()
