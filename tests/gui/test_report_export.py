"""File > Export Health Report…: the dialog, the job on the queue, the file it writes."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from phonovault.core.report.health import HealthReport
from phonovault.gui.app import build
from phonovault.gui.report_export import JSON_FILTER


def _app(qtbot, tmp_path: Path, make_file):
    root = tmp_path / "Music"
    make_file("flac16", "Band/Album/01.flac", root=root)
    make_file("mp3", "Band/Album/02.mp3", root=root)
    ctx, window = build(tmp_path / "c.sqlite", tmp_path / "s.json")
    qtbot.addWidget(window)
    job = ctx.add_folders([str(root)])
    qtbot.waitUntil(lambda: job.state == "done", timeout=20000)
    return ctx, window


def _menu_action(window, text: str):
    file_menu = window.menuBar().actions()[0].menu()
    return next(a for a in file_menu.actions() if a.text() == text)


def test_the_menu_action_asks_where_and_writes_the_page(qtbot, tmp_path: Path, make_file) -> None:
    _ctx, window = _app(qtbot, tmp_path, make_file)
    exporter = window.report_export
    _menu_action(window, "Export Health Report…").trigger()
    dialog = exporter.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.testOption(QFileDialog.Option.DontUseNativeDialog)
    assert dialog.acceptMode() == QFileDialog.AcceptMode.AcceptSave
    out = tmp_path / "Reports" / "health.html"
    out.parent.mkdir()
    dialog.selectFile(str(out))
    with qtbot.waitSignal(exporter.written, timeout=20000) as done:
        dialog.accept()
    path, report = done.args
    assert path == str(out) and isinstance(report, HealthReport)
    assert report.summary.files == 2 and not report.needs_attention
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Healthy" in page
    assert "Health report saved to" in window.statusBar().currentMessage()
    assert exporter.dialog is None  # closed; the next export opens where this one saved
    assert exporter.folder == str(out.parent)
    window.close()


def test_json_chosen_in_the_dialog_writes_json(qtbot, tmp_path: Path, make_file) -> None:
    _ctx, window = _app(qtbot, tmp_path, make_file)
    exporter = window.report_export
    dialog = exporter.choose()
    dialog.selectNameFilter(JSON_FILTER)
    dialog.selectFile(str(tmp_path / "health.txt"))
    with qtbot.waitSignal(exporter.written, timeout=20000):
        dialog.accept()
    doc = json.loads((tmp_path / "health.txt").read_text(encoding="utf-8"))
    assert doc["summary"]["files"] == 2 and doc["healthy"] is True
    window.close()


def test_a_music_file_name_is_refused_and_said_so(qtbot, tmp_path: Path, make_file) -> None:
    ctx, window = _app(qtbot, tmp_path, make_file)
    exporter = window.report_export
    target = tmp_path / "oops.flac"
    with qtbot.waitSignal(exporter.failed, timeout=20000) as failed:
        job = exporter.export(str(target))
    assert job.state == "failed" and "music file" in (job.error or "")
    assert failed.args == [str(target), job.error]
    assert not target.exists()
    assert "failed" in window.statusBar().currentMessage()
    assert ctx.jobs.history[-1] is job
    window.close()


def test_a_saved_report_offers_open(qtbot, tmp_path: Path, make_file, monkeypatch) -> None:
    """The end of an export is a message with Open (the page in the browser) and Show in
    Folder, not only a status-bar line."""
    from PySide6.QtGui import QDesktopServices

    _ctx, window = _app(qtbot, tmp_path, make_file)
    exporter = window.report_export
    opened: list[str] = []
    monkeypatch.setattr(
        QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True
    )
    out = tmp_path / "health.html"
    with qtbot.waitSignal(exporter.written, timeout=20000):
        exporter.export(str(out))
    box = exporter.saved_box
    assert box is not None and box.isVisible() and str(out) in box.informativeText()
    open_button = next(b for b in box.buttons() if b.text() == "Open")
    assert box.defaultButton() is open_button
    open_button.click()
    assert opened == [str(out)]
    window.close()
