"""An offline music folder or backup drive is the loudest thing in the window (issue 15): a
banner on every page naming it and what to do, its files Offline (grey, their own icon) in the
Library, and a status line that says "not checked" instead of "healthy". Real catalogs, real
audio files, real folders moved away and back."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import audiogen
import pytest
from PySide6.QtCore import Qt

import phonovault.gui.offline as offline_module
from phonovault.core.catalog import LibraryRow
from phonovault.gui.app import build
from phonovault.gui.main_window import PAGES
from phonovault.gui.models.library_columns import Column
from phonovault.gui.models.library_model import LibraryModel
from phonovault.gui.models.offline import OfflineFolder, OfflineRoots
from phonovault.gui.status_line import Summary, summary_text
from phonovault.gui.style import state_icon


def wait_job(qtbot, job, state: str = "done"):
    qtbot.waitUntil(lambda: job.state not in ("queued", "running"), timeout=30000)
    assert job.state == state, job.error
    return job.result


def settled(window) -> bool:
    return not window.is_loading() and not window.offline.is_checking()


@pytest.fixture
def app(qtbot, tmp_path: Path, make_file):
    """A window on a catalog of one scanned music folder of three real files."""
    root = tmp_path / "Music"
    for kind, rel in (("flac16", "A/One/01.flac"), ("mp3", "A/One/02.mp3"),
                      ("vorbis", "B/Two/01.ogg")):  # fmt: skip
        make_file(kind, rel, root=root)
    ctx, window = build(tmp_path / "c.sqlite", tmp_path / "s.json")
    qtbot.addWidget(window)
    window.show()
    wait_job(qtbot, ctx.add_folders([str(root)]))
    qtbot.waitUntil(lambda: "3 healthy" in window.summary.text() and settled(window))
    yield ctx, window, root
    ctx.jobs.wait(10000)
    window.close()


def states_shown(window) -> list[str]:
    model = window.library.model
    return [model.data(model.index(r, Column.STATE)) for r in range(model.rowCount())]


def test_a_moved_away_library_is_offline_on_every_page(qtbot, app, tmp_path: Path) -> None:
    ctx, window, root = app
    assert window.banner.isHidden() and states_shown(window) == ["OK"] * 3
    root.rename(tmp_path / "Music.elsewhere")  # the drive is unplugged
    for _ in range(2):  # two Verify All runs, as in the issue
        wait_job(qtbot, ctx.verify())
    qtbot.waitUntil(lambda: window.banner.isVisible() and settled(window), timeout=10000)

    text = window.banner.text()
    assert f"Music folder “{root}” is offline" in text
    assert "folder not found" in text and "Plug in the drive or mount the share" in text
    assert "add its new folder in Settings" in text and window.banner.settings_button.isVisible()
    for name in PAGES:  # the banner sits above the pages: every page shows it
        window.show_page(name)
        assert window.banner.isVisible() and window.pages.currentWidget().isVisible()
    window.show_page("Library")

    model = window.library.model
    assert states_shown(window) == ["Offline"] * 3
    assert [model.shown_state(r) for r in range(3)] == ["offline"] * 3
    assert model.offline_roots().folders[0].path == str(root)
    index = model.index(0, Column.STATE)
    assert model.data(index, Qt.ItemDataRole.DecorationRole).cacheKey() == (
        state_icon("offline").cacheKey()
    )
    assert model.data(index, Qt.ItemDataRole.ForegroundRole).name() == "#8a8f98"  # grey
    tip = model.data(index, Qt.ItemDataRole.ToolTipRole)
    assert "Not checked" in tip and str(root) in tip and "last check found: OK" in tip
    assert model.row_data(0).state == "ok"  # the catalog keeps the last verdict

    summary = window.summary.text()
    assert f"Music folder “{root}” offline: not checked" in summary
    assert "healthy" not in summary and "every file verified" not in summary


def test_the_folder_coming_back_clears_it_and_rescans(qtbot, app, tmp_path: Path) -> None:
    ctx, window, root = app
    moved = tmp_path / "Music.elsewhere"
    root.rename(moved)
    window.offline.check()
    qtbot.waitUntil(lambda: window.banner.isVisible() and settled(window), timeout=10000)
    assert states_shown(window) == ["Offline"] * 3
    moved.rename(root)  # plugged back in
    with qtbot.waitSignal(window.offline.returned, timeout=10000) as back:
        window.banner.check_button.click()
    assert back.args[0] == frozenset(r.id for r in ctx.catalog.roots())
    rescans = [j for j in ctx.jobs.history + ctx.jobs.pending() if "back online" in j.title]
    assert len(rescans) == 1
    wait_job(qtbot, rescans[0])
    qtbot.waitUntil(lambda: "3 healthy" in window.summary.text() and settled(window))
    assert window.banner.isHidden() and states_shown(window) == ["OK"] * 3


def test_one_folder_of_two_offline_keeps_counting_the_other(qtbot, app, tmp_path, make_file):
    ctx, window, root = app
    nas = tmp_path / "NAS"
    make_file("opus", "C/Three/01.opus", root=nas)
    make_file("aac", "C/Three/02.m4a", root=nas)
    wait_job(qtbot, ctx.add_folders([str(nas)]))
    qtbot.waitUntil(lambda: "5 healthy" in window.summary.text() and settled(window))
    shutil.rmtree(nas)  # the share is gone
    wait_job(qtbot, ctx.verify())
    qtbot.waitUntil(lambda: "offline" in window.summary.text() and settled(window))
    summary = window.summary.text()
    assert f"Music folder “{nas}” offline: not checked (2 files)" in summary
    assert "3 healthy · 0 need attention" in summary
    assert sorted(states_shown(window)) == ["OK"] * 3 + ["Offline"] * 2
    window.library.model.sort(Column.STATE, Qt.SortOrder.AscendingOrder)  # worst first
    assert states_shown(window) == ["Offline"] * 2 + ["OK"] * 3
    assert f"Music folder “{nas}” is offline" in window.banner.text()
    assert str(root) not in window.banner.text()


def test_an_unplugged_backup_drive_is_named_in_the_banner(qtbot, app, tmp_path: Path) -> None:
    ctx, window, root = app
    backup = tmp_path / "Backup"
    shutil.copytree(root, backup)
    wait_job(qtbot, ctx.add_target(backup, root))
    qtbot.waitUntil(lambda: settled(window))
    assert window.banner.isHidden()
    shutil.rmtree(backup)  # the drive is not plugged in
    wait_job(qtbot, ctx.verify_backup(None))
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=10000)
    text = window.banner.text()
    assert f"Backup drive “{backup}” is not connected" in text and "folder not found" in text
    assert "Music folder" not in text  # the library itself is fine
    assert window.banner.backups_button.isVisible() and window.banner.settings_button.isHidden()
    window.banner.backups_button.click()
    assert window.pages.currentWidget() is window.backups
    assert "3 healthy" in window.summary.text()


def test_the_check_runs_off_the_ui_thread_once_per_root(qtbot, app, monkeypatch) -> None:
    """A hung network mount must not freeze the window: while the check waits, the window
    keeps working (here: its status line re-reads and lands)."""
    _ctx, window, _root = app
    release, calls, ui = threading.Event(), [], threading.current_thread()
    real = offline_module.offline_reason

    def hung(catalog, root):
        calls.append(threading.current_thread())
        release.wait(10)
        return real(catalog, root)

    monkeypatch.setattr(offline_module, "offline_reason", hung)
    window.offline.check()
    qtbot.waitUntil(lambda: len(calls) == 1)
    window.summary.setText("")
    window._update_summary()
    qtbot.waitUntil(lambda: "3 healthy" in window.summary.text())  # the UI went on
    assert window.offline.is_checking() and calls[0] is not ui
    release.set()
    qtbot.waitUntil(lambda: not window.offline.is_checking())
    assert len(calls) == 1  # one root, one check: no file is looked at


def _row(n: int, path: str, state: str) -> LibraryRow:
    return LibraryRow(n, path, f"T{n}", "A", "B", None, n, None, "FLAC", 1.0, 16, 44100,
                      1000, state, None)  # fmt: skip


def test_the_model_shows_and_sorts_offline_rows(qtbot, qtmodeltester) -> None:
    model = LibraryModel()
    model.set_rows([_row(1, "/m/a.flac", "ok"), _row(2, "/nas/b.flac", "corrupt"),
                    _row(3, "/nas/c.flac", "ok"), _row(4, "/m/d.flac", "missing")])  # fmt: skip
    model.sort(Column.STATE, Qt.SortOrder.AscendingOrder)
    assert [model.file_id(r) for r in range(4)] == [2, 4, 1, 3]
    offline = OfflineRoots((OfflineFolder(7, "/nas", "folder not found"),))
    with qtbot.waitSignal(model.offline_changed):
        model.set_offline(offline)
    assert [model.file_id(r) for r in range(4)] == [4, 2, 3, 1]  # missing, offline, ok
    assert [model.shown_state(r) for r in range(4)] == ["missing", "offline", "offline", "ok"]
    qtmodeltester.check(model)
    model.set_rows([_row(1, "/m/a.flac", "ok"), _row(3, "/nas/c.flac", "corrupt")])  # reload
    assert [model.shown_state(r) for r in range(2)] == ["offline", "ok"]
    model.set_offline(OfflineRoots())
    assert [model.file_id(r) for r in range(2)] == [3, 1]
    assert not offline.covers("/nasty/x.flac") and offline.covers_root(7)


def test_status_line_wording() -> None:
    nas = OfflineRoots((OfflineFolder(2, "/mnt/nas", "gone"),))
    both = OfflineRoots((*nas.folders, OfflineFolder(3, "/media/usb/Music", "gone")))
    base = dict(files=10, size=10_000_000, oldest=None, albums=2, problems=0, attention=1)
    online = Summary(**base, offline_ids=frozenset(), offline_files=0, offline_attention=0)
    assert "9 healthy · 1 need attention · every file verified since never" in summary_text(
        online, OfflineRoots()
    )
    partly = Summary(**base, offline_ids=frozenset({2}), offline_files=4, offline_attention=1)
    assert summary_text(partly, nas).endswith(
        "Music folder “/mnt/nas” offline: not checked (4 files) · 6 healthy · 0 need attention"
    )
    gone = Summary(**base, offline_ids=frozenset({2, 3}), offline_files=10, offline_attention=1)
    assert summary_text(gone, both).endswith("2 music folders offline (nas, Music): not checked")
    assert "healthy" not in summary_text(gone, both)


def test_a_folder_unplugged_before_the_start_shows_at_once(qtbot, tmp_path: Path) -> None:
    """A catalog opened with its folder already gone shows the banner at once."""
    root = tmp_path / "Music"
    audiogen.make_library(root, 2, kinds=["flac16"])
    ctx, window = build(tmp_path / "c.sqlite", tmp_path / "s.json")
    qtbot.addWidget(window)
    wait_job(qtbot, ctx.add_folders([str(root)]))
    qtbot.waitUntil(lambda: "2 healthy" in window.summary.text() and settled(window))
    window.close()
    shutil.rmtree(root)
    ctx, window = build(tmp_path / "c.sqlite", tmp_path / "s.json")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.banner.isVisible() and settled(window), timeout=10000)
    assert f"“{root}” offline: not checked" in window.summary.text()
    qtbot.waitUntil(lambda: window.library.model.rowCount() == 2)
    assert states_shown(window) == ["Offline"] * 2
    window.close()
