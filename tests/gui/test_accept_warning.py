"""Accepting damage is never silent: on a real truncated Opus file (audio-changed, with
decode findings), the "Accept as new baseline" confirmation in the Library's row menu and in
Findings names the file's error findings, defaults to Cancel (Enter accepts nothing) and
speaks no command-line words; an explicit Yes still accepts."""

from __future__ import annotations

import os
from pathlib import Path

import audiogen
import pytest
from PySide6.QtCore import QItemSelectionModel, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from phonovault.core.catalog import Catalog
from phonovault.core.fixity.scan import scan
from phonovault.core.fixity.verify import verify
from phonovault.core.library.roots import add_root
from phonovault.gui.app import build

CLI_WORDS = ("phonovault ", "'accept'", "--yes", "repair apply", "run '")


@pytest.fixture
def library(tmp_path: Path, make_file):
    """A FLAC that is fine and an Opus file cut short after the scan (verified with a
    decode check: audio-changed, truncated, undecodable)."""
    root = tmp_path / "Music"
    make_file("flac16", "A/fine.flac", root=root)
    opus = make_file("opus", "A/cut.opus", root=root)
    replaced = make_file("mp3", "A/replaced.mp3", root=root)
    catalog_path = tmp_path / "c.sqlite"
    with Catalog(catalog_path) as catalog:
        add_root(catalog, root)
        scan(catalog)
        data = opus.read_bytes()
        opus.write_bytes(data[: len(data) * 2 // 3])
        audiogen.encode(replaced, "mp3", seed=5, freq=660)  # another, sound, recording
        assert verify(catalog, decode=True).summary == {"ok": 1, "audio-changed": 2}
        file_id = next(r.id for r in catalog.library_rows() if r.path == os.fspath(opus))
        kinds = {f.kind: f.severity for f in catalog.findings_for_file(file_id)}
        assert kinds["truncated"] == "error"
    return catalog_path, opus, file_id


def answer_next_box(press: QMessageBox.StandardButton | None = None) -> dict[str, object]:
    """Look at the next message box once it shows, then press ``press`` (None: Enter, the
    default button). The box runs its own event loop, so a timer does the looking."""
    seen: dict[str, object] = {}

    def look() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(10, look)  # not shown yet: look again after the next events
            return
        seen["title"], seen["text"] = box.windowTitle(), box.text()
        seen["default"] = box.standardButton(box.defaultButton())
        seen["buttons"] = box.standardButtons()
        if press is None:
            QTest.keyClick(box, Qt.Key.Key_Return)
        else:
            box.button(press).click()

    QTimer.singleShot(0, look)
    return seen


def open_window(qtbot, catalog_path: Path):
    ctx, window = build(catalog_path, catalog_path.with_name("settings.json"))
    qtbot.addWidget(window)
    window.show()
    page = window.library
    qtbot.waitUntil(lambda: page.model.total_count() > 0 and not page.is_loading(), timeout=5000)
    return ctx, window


def check_warning(seen: dict[str, object]) -> None:
    text = str(seen["text"])
    assert seen["title"] == "Accept as new baseline"
    assert "Truncated: The last Ogg page is incomplete" in text
    assert "Does not decode: No audio could be decoded" in text
    assert "Restoring from a backup is usually the right fix" in text
    assert seen["default"] == QMessageBox.StandardButton.Cancel
    assert not any(word in text for word in CLI_WORDS), text


def test_library_accept_names_the_findings_and_defaults_to_cancel(qtbot, library) -> None:
    catalog_path, _opus, file_id = library
    ctx, window = open_window(qtbot, catalog_path)
    page = window.library
    page.select_file(file_id)
    actions = {a.text(): a for a in page.context_menu().actions()}
    seen = answer_next_box()  # Enter: the default
    actions["Accept as new baseline…"].trigger()
    check_warning(seen)
    assert "“T opus”" in str(seen["text"])
    assert not ctx.jobs.is_busy() and ctx.jobs.history == []
    assert ctx.catalog.file(file_id).state == "audio-changed"
    # an explicit Yes still accepts
    seen = answer_next_box(QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(ctx.jobs.idle, timeout=20000):
        assert page.accept_selected()
    assert ctx.catalog.file(file_id).state == "ok"
    assert ctx.catalog.history(file_id)[-1].state == "accepted"
    window.close()


def test_findings_accept_names_the_findings_and_defaults_to_cancel(qtbot, library) -> None:
    catalog_path, _opus, file_id = library
    ctx, window = open_window(qtbot, catalog_path)
    page = window.findings
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.refresh()
    leaf = page.model.index(0, 0, page.model.group_index("warning", "audio-changed"))
    assert page.model.finding(leaf).file_id == file_id
    flags = QItemSelectionModel.SelectionFlag
    page.tree.selectionModel().setCurrentIndex(leaf, flags.ClearAndSelect | flags.Rows)
    assert page.accept_button.isVisibleTo(page)
    seen = answer_next_box()
    page.accept_button.click()
    check_warning(seen)
    assert ctx.jobs.history == [] and ctx.catalog.file(file_id).state == "audio-changed"
    window.close()


def test_a_change_without_damage_is_asked_plainly_and_still_defaults_to_cancel(
    qtbot, library
) -> None:
    catalog_path, _opus, _file_id = library
    ctx, window = open_window(qtbot, catalog_path)
    replaced = next(r for r in ctx.catalog.library_rows() if r.path.endswith("replaced.mp3"))
    assert not [f for f in ctx.catalog.findings_for_file(replaced.id) if f.severity == "error"]
    page = window.library
    page.select_file(replaced.id)
    seen = answer_next_box(QMessageBox.StandardButton.Cancel)
    assert page.accept_selected() is False
    text = str(seen["text"])
    assert "new baseline" in text and "fails its checks" not in text
    assert seen["default"] == QMessageBox.StandardButton.Cancel
    assert not any(word in text for word in CLI_WORDS), text
    assert ctx.jobs.history == []
    window.close()
