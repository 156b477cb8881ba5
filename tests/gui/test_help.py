"""Keyboard and help (issue 15): the Help menu (user guide, shortcuts, About with the version),
Ctrl+1…5 for the pages, Esc that clears a focused filter instead of cancelling the job, and
Shift+F10 / the Menu key opening the focused list's context menu."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMenu

from phonovault.core import __version__
from phonovault.gui.app import build
from phonovault.gui.help import LICENCE
from phonovault.gui.main_window import PAGES


@pytest.fixture
def app(qtbot, tmp_path: Path, make_file):
    """A shown, active window on a scanned folder of three real files."""
    root = tmp_path / "Music"
    for kind, rel in (("flac16", "A/One/01.flac"), ("mp3", "A/One/02.mp3"),
                      ("vorbis", "B/Two/01.ogg")):  # fmt: skip
        make_file(kind, rel, root=root)
    ctx, window = build(tmp_path / "c.sqlite", tmp_path / "s.json")
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    job = ctx.add_folders([str(root)])
    qtbot.waitUntil(lambda: job.state == "done" and window.library.model.rowCount() == 3)
    yield ctx, window
    ctx.jobs.cancel_all()
    ctx.jobs.wait(10000)
    window.close()


def menu_texts(menu: QMenu) -> list[str]:
    return [a.text() for a in menu.actions() if not a.isSeparator()]


def test_help_menu_has_guide_shortcuts_and_about(qtbot, app) -> None:
    _ctx, window = app
    tops = [a.text() for a in window.menuBar().actions()]
    assert tops[-1] == "&Help"
    assert menu_texts(window.help.menu) == [
        "User Guide",
        "Keyboard Shortcuts",
        "About Phonovault",
        "About Qt",
    ]
    assert window.help.act_guide.shortcut().toString()  # F1 where the platform has it


def test_about_shows_version_mission_and_licence(qtbot, app) -> None:
    _ctx, window = app
    window.help.act_about.trigger()
    box = window.help.about_box
    qtbot.waitUntil(box.isVisible)
    assert f"Phonovault {__version__}" in box.text()
    assert "safe for decades" in box.text() and LICENCE == "GPL-3.0-or-later"
    assert LICENCE in box.text() and str(window.ctx.catalog_path) in box.text()
    box.accept()


def test_shortcut_list_comes_from_the_menus(qtbot, app) -> None:
    _ctx, window = app
    window.help.act_shortcuts.trigger()
    dialog = window.help.shortcuts_dialog
    qtbot.waitUntil(dialog.isVisible)
    rows = dialog.rows()
    for n, name in enumerate(PAGES, start=1):
        assert (f"Ctrl+{n}", f"View › {name}") in rows
    assert ("Ctrl+Shift+V", "Check › Verify All") in rows
    assert ("Esc", "Check › Cancel Job") in rows
    assert ("Esc", "In a filter with text: clear it (elsewhere Esc cancels the job)") in rows
    assert {"Shift+F10, Menu", "Ctrl+F", "Ctrl+/"} <= {keys for keys, _ in rows}
    dialog.close()


def test_user_guide_opens_at_the_window_section(qtbot, app) -> None:
    _ctx, window = app
    dialog = window.help.show_guide()
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.browser.verticalScrollBar().value() > 0)
    top = dialog.browser.cursorForPosition(QPoint(5, 5)).block().text()
    assert top == "The window"
    assert "Library" in dialog.browser.toPlainText() and "![" not in dialog.browser.toMarkdown()
    dialog.close()


def test_ctrl_1_to_5_switch_pages(qtbot, app) -> None:
    _ctx, window = app
    pages = [window.library, window.albums, window.findings, window.backups, window.activity]
    for n in (3, 5, 2, 4, 1):
        qtbot.keyClick(
            window.library.view, Qt.Key(Qt.Key.Key_0 + n), Qt.KeyboardModifier.ControlModifier
        )
        assert window.pages.currentWidget() is pages[n - 1]
        assert window.sidebar.currentRow() == n - 1
        assert window.page_actions.checkedAction().text() == PAGES[n - 1]


def test_esc_clears_a_focused_filter_and_leaves_the_job_running(qtbot, app) -> None:
    ctx, window = app
    release = threading.Event()

    def hold(catalog, progress, cancel):  # a job that runs until cancelled
        while not cancel.cancelled and not release.wait(0.02):
            pass

    job = ctx.jobs.submit("Hold", hold)
    qtbot.waitUntil(lambda: job.state == "running")
    edit = window.library.filter_edit
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus)
    qtbot.keyClicks(edit, "flac")
    qtbot.waitUntil(lambda: window.library.model.rowCount() == 1)
    qtbot.keyClick(edit, Qt.Key.Key_Escape)
    assert edit.text() == "" and not job.cancel.cancelled
    qtbot.waitUntil(lambda: window.library.model.rowCount() == 3)
    assert job.state == "running" and edit.hasFocus()
    qtbot.keyClick(edit, Qt.Key.Key_Escape)  # an empty filter: Esc cancels the job as before
    qtbot.waitUntil(lambda: job.state == "cancelled")
    release.set()


def close_menus(shown: list[list[str]]) -> QTimer:
    """Close each popup menu as soon as it is open, noting what it offered."""

    def close() -> None:
        popup = QApplication.activePopupWidget()
        if isinstance(popup, QMenu):
            shown.append(menu_texts(popup))
            popup.close()

    timer = QTimer(interval=10)
    timer.timeout.connect(close)
    timer.start()
    return timer


@pytest.mark.parametrize(
    "key, modifier",
    [
        (Qt.Key.Key_Menu, Qt.KeyboardModifier.NoModifier),
        (Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier),
    ],
)
def test_keyboard_opens_the_focused_lists_context_menu(qtbot, app, key, modifier) -> None:
    _ctx, window = app
    view = window.library.view
    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    view.setCurrentIndex(window.library.model.index(1, 0))
    shown: list[list[str]] = []
    timer = close_menus(shown)
    with qtbot.waitSignal(view.customContextMenuRequested, timeout=3000) as asked:
        qtbot.keyClick(view, key, modifier)
    qtbot.waitUntil(lambda: len(shown) == 1)
    timer.stop()
    assert view.indexAt(asked.args[0]).row() == 1  # at the current row, like a right-click
    assert shown[0][:2] == ["Show details", "Show in folder"]


def test_keyboard_context_menu_reaches_a_line_edit_too(qtbot, app) -> None:
    """Not only tables: the focused filter field gets its own (standard) menu."""
    _ctx, window = app
    edit = window.library.filter_edit
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus)
    shown: list[list[str]] = []
    timer = close_menus(shown)
    qtbot.keyClick(edit, Qt.Key.Key_Menu)
    qtbot.waitUntil(lambda: len(shown) == 1)
    timer.stop()
    assert any("Paste" in t for t in shown[0])
