"""Muting a rule for a whole album, and unmuting it, from the Albums page's context menu:
the real window over real files, the same engine calls as ``phonovault mute --album``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import audiogen
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from phonovault.core.cli.main import main
from phonovault.gui.app import build
from phonovault.gui.models.findings_model import ROLE_KIND
from phonovault.gui.views.album_mutes import MuteAlbumDialog, UnmuteAlbumDialog
from phonovault.gui.views.albums_view import AlbumsPage


def _library(root: Path) -> None:
    """Two albums of three FLACs without embedded art: Album 0000 keeps a cover.jpg beside
    its files (no findings), Album 0001 has none (cover-missing on each track); and a loose
    file with no album tag (and a cover beside it)."""
    paths = audiogen.make_library(root, 6, kinds=["flac16"], per_album=3)
    (paths[0].parent / "cover.jpg").write_bytes(audiogen.png(300, 300))  # a PNG: it shows
    (root / "Singles").mkdir()
    (root / "Singles" / "folder.png").write_bytes(audiogen.png(300, 300))
    loose = audiogen.encode(root / "Singles" / "loose.flac", "flac16")
    audiogen.tag(loose, {"title": "Loose", "artist": "Someone", "tracknumber": "1/1"})


def _app(qtbot, tmp_path: Path):
    root = tmp_path / "Music"
    root.mkdir()
    _library(root)
    ctx, window = build(tmp_path / "c.sqlite", tmp_path / "settings.json")
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(ctx.jobs.idle, timeout=30000):
        ctx.add_folders([str(root)], then_check=True)
    qtbot.waitUntil(lambda: not window.is_loading() and window.albums.model.rowCount() == 3,
                    timeout=10000)  # fmt: skip
    window.show_page("Albums")
    qtbot.waitExposed(window.albums)
    return ctx, window


def _cover_findings(ctx) -> set[str]:
    return {f.path.rsplit("/", 2)[-2] + "/" + f.path.rsplit("/", 1)[-1]
            for f in ctx.catalog.findings() if f.kind == "rule:cover-missing"}  # fmt: skip


def _right_click(qtbot, page: AlbumsPage, album: str) -> None:
    """Right-click the album's tile, as a person does, and wait for the menu to read the
    album's findings and mutes (its actions are enabled by them)."""
    model = page.model
    row = next(r for r in range(model.rowCount()) if model.index(r, 0).data() == album)
    index = model.index(row, 0)
    page.grid.scrollTo(index)
    viewport = page.grid.viewport()
    centre = page.grid.visualRect(index).center()
    with qtbot.waitSignals([page.mutes.menu.aboutToShow, page.mutes.read], timeout=3000):
        # What a right-click is made of: the press, then the context menu event the window
        # system sends (QTest's clicks carry no such event).
        qtbot.mousePress(viewport, Qt.MouseButton.RightButton, pos=centre)
        event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, centre,
                                  viewport.mapToGlobal(centre))  # fmt: skip
        QApplication.sendEvent(viewport, event)
        qtbot.mouseRelease(viewport, Qt.MouseButton.RightButton, pos=centre)
    assert page.grid.currentIndex().data() == album
    page.mutes.menu.hide()


def _rule_groups(window) -> set[str]:
    model = window.findings.model
    out = set()
    for severity in ("error", "warning", "info"):
        group = model.group_index(severity)
        for row in range(model.rowCount(group)):
            out.add(model.index(row, 0, group).data(ROLE_KIND))
    return out


def test_mute_a_rule_for_an_album_and_unmute_it(qtbot, tmp_path: Path) -> None:
    ctx, window = _app(qtbot, tmp_path)
    page = window.albums
    assert _cover_findings(ctx) == {f"Album 0001/{n:02d} Song {n + 2}.flac" for n in (1, 2, 3)}

    # An album whose folder cover keeps it clean has nothing to mute.
    _right_click(qtbot, page, "Album 0000")
    assert not page.mutes.act_mute.isEnabled() and not page.mutes.act_unmute.isEnabled()
    assert page.mutes.act_mute.toolTip() == "No rule has findings on this album."

    _right_click(qtbot, page, "Album 0001")
    assert page.mutes.act_mute.isEnabled() and not page.mutes.act_unmute.isEnabled()
    page.mutes.act_mute.trigger()
    dialog = page.mutes.mute_dialog
    assert isinstance(dialog, MuteAlbumDialog) and dialog.isVisible()
    choices = [dialog.rule.itemData(i) for i in range(dialog.rule.count())]
    assert choices == ["cover-missing"]  # only the rules with findings on this album
    assert dialog.rule.itemText(0) == "No embedded cover art (cover-missing) · 3 files"
    assert not dialog.ok.isEnabled()  # a mute needs a reason
    qtbot.keyClicks(dialog.reason_edit, "   ")
    assert not dialog.ok.isEnabled()
    dialog.reason_edit.clear()
    qtbot.keyClicks(dialog.reason_edit, "the cover is on the box")
    with qtbot.waitSignal(ctx.jobs.idle, timeout=10000):
        dialog.ok.click()
    # Gone at once, as the engine's mute clears the findings it silences; no check needed.
    assert _cover_findings(ctx) == set()
    qtbot.waitUntil(lambda: "rule:cover-missing" not in _rule_groups(window), timeout=5000)
    # The very mute the command line makes: an album mute with the reason.
    out = io.StringIO()
    assert main(["mutes", "--json", "--catalog", str(tmp_path / "c.sqlite")], stdout=out) == 0
    [stored] = json.loads(out.getvalue())["mutes"]
    assert stored == {"rule": "cover-missing", "path": None, "albumartist": "Artist 000",
                      "album": "Album 0001", "reason": "the cover is on the box",
                      "since": stored["since"]}  # fmt: skip
    with qtbot.waitSignal(ctx.jobs.idle, timeout=30000):
        ctx.check()  # the next check keeps the album quiet
    assert ctx.jobs.history[-1].result.muted == 3
    assert _cover_findings(ctx) == set()

    # Unmute from the same menu: the mute is lifted and the album checked again.
    qtbot.waitUntil(lambda: not window.is_loading(), timeout=10000)
    _right_click(qtbot, page, "Album 0001")
    assert page.mutes.act_unmute.isEnabled() and page.mutes.act_unmute.text() == "Unmute… (1)"
    assert not page.mutes.act_mute.isEnabled()  # its findings are muted: nothing left to mute
    page.mutes.act_unmute.trigger()
    dialog = page.mutes.unmute_dialog
    assert isinstance(dialog, UnmuteAlbumDialog) and dialog.isVisible()
    assert dialog.list.count() == 1
    assert dialog.list.item(0).text() == "cover-missing — whole album: the cover is on the box"
    assert dialog.list.item(0).checkState() == Qt.CheckState.Checked  # the only one: ticked
    with qtbot.waitSignal(ctx.jobs.idle, timeout=30000):
        dialog.ok.click()
    assert [j.title for j in ctx.jobs.history[-2:]] == [
        "Unmute 1 rule(s)", "Check tags after unmuting",
    ]  # fmt: skip
    assert ctx.catalog.mutes() == []
    assert len(_cover_findings(ctx)) == 3  # back, without the user running a check
    qtbot.waitUntil(lambda: "rule:cover-missing" in _rule_groups(window), timeout=5000)
    window.close()


def test_cancelling_the_dialogs_changes_nothing(qtbot, tmp_path: Path) -> None:
    ctx, window = _app(qtbot, tmp_path)
    page = window.albums
    _right_click(qtbot, page, "Album 0001")
    page.mutes.act_mute.trigger()
    dialog = page.mutes.mute_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.reason_edit, "changed my mind")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert not dialog.isVisible()
    qtbot.wait(100)
    assert ctx.catalog.mutes() == [] and len(_cover_findings(ctx)) == 3
    assert all(not j.title.startswith("Mute") for j in ctx.jobs.history)
    window.close()


def test_files_without_an_album_tag_offer_no_album_mute(qtbot, tmp_path: Path) -> None:
    _ctx, window = _app(qtbot, tmp_path)
    page = window.albums
    _right_click(qtbot, page, "Unknown album")
    assert not page.mutes.act_mute.isEnabled()
    assert "no album tag" in page.mutes.act_mute.toolTip()
    page.mutes.ask_mute()  # even if asked directly: nothing opens
    assert page.mutes.mute_dialog is None
    # A right-click beside the tiles opens no menu.
    page.grid.customContextMenuRequested.emit(QPoint(-5, -5))
    assert not page.mutes.menu.isVisible()
    window.close()


def test_unmute_lists_the_albums_mutes_and_those_of_its_files(qtbot, tmp_path: Path) -> None:
    ctx, window = _app(qtbot, tmp_path)
    page = window.albums
    catalog = str(tmp_path / "c.sqlite")
    track = tmp_path / "Music" / "Artist 000" / "Album 0001" / "02 Song 4.flac"
    # One file muted on the command line, the album's own mute from the GUI.
    assert main(["mute", "cover-missing", str(track), "--reason", "a single",
                 "--catalog", catalog], stdout=io.StringIO()) == 0  # fmt: skip
    with qtbot.waitSignal(ctx.jobs.idle, timeout=10000):
        page.mutes.mute_album(("Artist 000", "Album 0001"), "cover-missing", "boxed set")
    _right_click(qtbot, page, "Album 0001")
    assert page.mutes.act_unmute.text() == "Unmute… (2)"
    page.mutes.act_unmute.trigger()
    dialog = page.mutes.unmute_dialog
    assert dialog is not None
    texts = [dialog.list.item(i).text() for i in range(dialog.list.count())]
    assert texts == ["cover-missing — whole album: boxed set",
                     "cover-missing — 02 Song 4.flac: a single"]  # fmt: skip
    assert not dialog.ok.isEnabled()  # several: none ticked until the user picks
    dialog.list.item(0).setCheckState(Qt.CheckState.Checked)
    assert dialog.ok.isEnabled()
    with qtbot.waitSignal(ctx.jobs.idle, timeout=30000):
        dialog.ok.click()
    assert [(m.rule_id, m.reason) for m in ctx.catalog.mutes()] == [("cover-missing", "a single")]
    # The album's mute is lifted, the file's stays: two of its three tracks are flagged again.
    assert _cover_findings(ctx) == {"Album 0001/01 Song 3.flac", "Album 0001/03 Song 5.flac"}
    window.close()
