"""The main window on a real catalog, offscreen."""

from __future__ import annotations

from pathlib import Path

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
