"""Compare with beets library: a real beets DB built with beets, the job through the queue,
and the report dialog's tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from beets.library import Item, Library
from PySide6.QtWidgets import QFileDialog

from phonovault.core.rules.beets import DriftReport
from phonovault.gui.app import build
from phonovault.gui.views.beets_dialog import BeetsDriftDialog

NAMES = {"01.flac": "flac16", "02.mp3": "mp3", "03.ogg": "vorbis"}


@pytest.fixture
def beets_db(tmp_path: Path, make_file, monkeypatch: pytest.MonkeyPatch):
    """A beets library over Music/Artist/Album, then drift: one file gone, one new file,
    one title edited in the DB. Returns (music folder, DB path)."""
    music = (tmp_path / "Music").resolve()
    paths = {n: make_file(kind, f"Artist/Album/{n}", root=music) for n, kind in NAMES.items()}
    db_dir = tmp_path / "beets"
    db_dir.mkdir()
    (db_dir / "config.yaml").write_text(f"directory: {music}\n")
    monkeypatch.setenv("BEETSDIR", str(db_dir))
    monkeypatch.chdir(tmp_path)  # beets drops migration .bak files where it likes
    lib = Library(str(db_dir / "library.db"), directory=str(music))
    items = {}
    for name, path in paths.items():
        items[name] = Item.from_path(str(path))
        lib.add(items[name])
    items["01.flac"].title = "Edited in beets"
    items["01.flac"].store()
    lib._close()
    paths["03.ogg"].unlink()
    make_file("flac16", "Other/new.flac", root=music)
    return music, db_dir / "library.db"


def _app(qtbot, tmp_path: Path, music: Path):
    ctx, window = build(tmp_path / "c.sqlite", tmp_path / "s.json")
    qtbot.addWidget(window)
    added = ctx.add_folders([str(music)])
    qtbot.waitUntil(lambda: added.state == "done", timeout=20000)
    return ctx, window


def test_drift_job_and_dialog_tables(qtbot, tmp_path: Path, beets_db) -> None:
    music, db = beets_db
    ctx, window = _app(qtbot, tmp_path, music)
    before = db.read_bytes()
    job = ctx.beets_drift(db)
    qtbot.waitUntil(lambda: job.state in ("done", "failed"), timeout=30000)
    assert job.state == "done", job.error
    report = job.result
    assert isinstance(report, DriftReport)
    assert (report.items, report.files) == (3, 3)
    assert db.read_bytes() == before  # read-only

    dialog = BeetsDriftDialog(report, str(db), window)
    qtbot.addWidget(dialog)
    assert dialog.summary.text().startswith("3 items in beets, 3 files in Phonovault")
    assert dialog.gone_table.rowCount() == 1
    assert dialog.gone_table.item(0, 0).text() == str(music / "Artist/Album/03.ogg")
    assert dialog.gone_table.item(0, 1).text() == "Artist – Album – T vorbis"
    assert dialog.unknown_table.rowCount() == 1
    assert dialog.unknown_table.item(0, 0).text() == str(music / "Other/new.flac")
    assert dialog.differ_table.rowCount() == 1
    row = [dialog.differ_table.item(0, c).text() for c in range(4)]
    assert row == [str(music / "Artist/Album/01.flac"), "title", "Edited in beets", "T flac16"]
    assert [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())] == [
        "Gone from disk (1)",
        "Not in beets (1)",
        "Tags differ (1)",
    ]
    assert dialog.errors_table is None
    window.close()


def test_menu_action_opens_the_dialog_when_the_job_is_done(
    qtbot, tmp_path: Path, beets_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    music, db = beets_db
    _ctx, window = _app(qtbot, tmp_path, music)
    filters = []

    def pick(_parent, _caption, _dir, filter_):
        filters.append(filter_)
        return str(db), filter_.split(";;")[0]

    monkeypatch.setattr(QFileDialog, "getOpenFileName", pick)
    assert window.act_beets in window.menuBar().actions()[1].menu().actions()
    window.act_beets.trigger()
    assert filters == ["beets library (*.db *.blb);;All files (*)"]
    qtbot.waitUntil(lambda: window.beets_dialog is not None, timeout=30000)
    dialog = window.beets_dialog
    assert dialog.isVisible()
    counts = [t.rowCount() for t in (dialog.gone_table, dialog.unknown_table, dialog.differ_table)]
    assert counts == [1, 1, 1]
    dialog.close()
    window.close()


def test_garbage_db_fails_with_a_sentence(qtbot, tmp_path: Path) -> None:
    garbage = tmp_path / "library.db"
    garbage.write_bytes(b"this is not an SQLite database at all, just text\n" * 40)
    _ctx, window = build(tmp_path / "c.sqlite", tmp_path / "s.json")
    qtbot.addWidget(window)
    job = window.compare_with_beets(str(garbage))
    qtbot.waitUntil(lambda: job.state in ("done", "failed"), timeout=20000)
    assert job.state == "failed"
    assert job.error and "internal error" not in job.error
    assert "not a beets library" in job.error and str(garbage) in job.error
    assert "Traceback" not in job.error and "\n" not in job.error
    assert job.error in window.statusBar().currentMessage()
    assert window.beets_dialog is None
    window.close()
