"""The main window on a real catalog, offscreen."""

from __future__ import annotations

import threading
from pathlib import Path

from phonovault.core.catalog import Catalog
from phonovault.core.fixity.scan import scan
from phonovault.core.library.roots import add_root
from phonovault.gui.app import build


def test_first_run_shows_the_empty_state(qtbot, tmp_path: Path) -> None:
    _ctx, window = build(tmp_path / "c.sqlite", tmp_path / "settings.json")
    qtbot.addWidget(window)
    window.show()
    assert window.pages.currentWidget() is window.empty
    assert window.windowTitle() == "Phonovault"
    assert not window.grab().isNull()
    window.close()


def test_add_folder_scans_and_leaves_the_empty_state(qtbot, tmp_path: Path, make_file) -> None:
    root = tmp_path / "Music"
    make_file("flac16", "a.flac", root=root)
    make_file("mp3", "b.mp3", root=root)
    ctx, window = build(tmp_path / "c.sqlite", tmp_path / "settings.json")
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(ctx.jobs.idle, timeout=20000):
        ctx.add_folders([str(root)])
    qtbot.waitUntil(lambda: "2 files" in window.summary.text(), timeout=5000)
    assert window.pages.currentWidget() is window.library
    window.close()


def test_watcher_rescans_when_music_appears(qtbot, tmp_path: Path, make_file) -> None:
    root = tmp_path / "Music"
    make_file("flac16", "a.flac", root=root)
    ctx, window = build(tmp_path / "c.sqlite", tmp_path / "s.json", watch=True, debounce=0.2)
    qtbot.addWidget(window)
    with qtbot.waitSignal(ctx.jobs.idle, timeout=20000):
        ctx.add_folders([str(root)])
    qtbot.waitUntil(lambda: "1 file ·" in window.summary.text(), timeout=5000)
    qtbot.waitUntil(lambda: window.watch_label.text() == "Watching for changes", timeout=5000)
    make_file("mp3", "new/b.mp3", root=root)  # appears while the app is open
    qtbot.waitUntil(lambda: "2 files" in window.summary.text(), timeout=15000)
    window.close()


def test_a_change_while_the_views_still_read_waits_for_their_reads(
    qtbot, tmp_path: Path, make_file, monkeypatch
) -> None:
    """A burst of jobs must not keep dropping reads for newer ones: the refresh after a
    change starts once the reads running have landed."""
    root = tmp_path / "Music"
    make_file("flac16", "a.flac", root=root)
    path = tmp_path / "c.sqlite"
    with Catalog(path) as catalog:
        add_root(catalog, root)
        scan(catalog)
    ctx, window = build(path, tmp_path / "settings.json")
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: "1 file ·" in window.summary.text() and not window.is_loading())
    release = threading.Event()
    counts = Catalog.summary_counts
    monkeypatch.setattr(Catalog, "summary_counts", lambda c: release.wait(5) and counts(c))
    refreshes: list[int] = []
    refresh = window.refresh
    monkeypatch.setattr(window, "refresh", lambda: refreshes.append(1) or refresh())
    ctx.catalog_changed.emit()
    qtbot.waitUntil(lambda: refreshes == [1], timeout=5000)
    make_file("mp3", "b.mp3", root=root)
    with Catalog(path) as catalog:
        scan(catalog)
    ctx.catalog_changed.emit()  # while the status line's read still runs
    qtbot.wait(600)
    assert refreshes == [1] and window.is_loading()
    release.set()
    qtbot.waitUntil(lambda: len(refreshes) == 2 and not window.is_loading(), timeout=5000)
    assert "2 files" in window.summary.text()
    assert window.library.model.total_count() == 2
    window.close()


def test_the_details_follow_the_page_shown(qtbot, tmp_path: Path, make_file) -> None:
    """A file picked in the Library is not what the details show on Albums (where nothing is
    picked yet), and comes back with the Library."""
    root = tmp_path / "Music"
    make_file("flac16", "A/B/01.flac", root=root)
    ctx, window = build(tmp_path / "c.sqlite", tmp_path / "settings.json")
    qtbot.addWidget(window)
    window.show()
    job = ctx.add_folders([str(root)])
    qtbot.waitUntil(lambda: job.state == "done" and not window.is_loading(), timeout=30000)
    [row] = ctx.catalog.library_rows()
    window.library.file_selected.emit(row.id)
    assert window.details.file_id == row.id
    window.show_page("Albums")
    assert window.details.file_id is None
    window.show_page("Backups")
    assert window.details.file_id is None
    window.show_page("Library")
    assert window.details.file_id == row.id
    window.close()
