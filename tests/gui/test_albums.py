"""The Albums page on a real catalog of generated audio: grouping, worst state, covers, tracks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import audiogen
import mutagen
import pytest
from audiogen import flip_audio_byte
from mutagen.flac import Picture
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QColor, QImage, QPixmap

from phonovault.core.catalog import Catalog
from phonovault.core.config import Settings
from phonovault.core.fixity.scan import scan
from phonovault.core.fixity.verify import verify
from phonovault.core.library.roots import add_root
from phonovault.core.tags.reading import read_cover
from phonovault.gui.context import AppContext
from phonovault.gui.models import album_model
from phonovault.gui.models.album_model import ROLE_DETAIL, ROLE_STATE, AlbumModel
from phonovault.gui.views.albums_view import AlbumsPage

RED = QColor(200, 30, 30)


def png_bytes(width: int, height: int, color: QColor) -> bytes:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(color)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


@pytest.fixture
def ctx(qapp, tmp_path: Path) -> Iterator[AppContext]:
    """Three albums of four tracks (FLAC and MP3); album 0 has a red PNG cover on its first
    FLAC, album 1 has a corrupt track."""
    root = tmp_path / "Music"
    paths = audiogen.make_library(root, 12, kinds=["flac16", "mp3"], per_album=4)
    flac = mutagen.File(paths[0])
    picture = Picture()
    picture.type, picture.mime = 3, "image/png"
    picture.data = png_bytes(300, 200, RED)
    flac.add_picture(picture)
    flac.save()
    catalog = Catalog(tmp_path / "c.sqlite")
    add_root(catalog, root)
    scan(catalog)
    flip_audio_byte(paths[5])  # album 1, track 2
    verify(catalog)
    context = AppContext(catalog, Settings(), tmp_path / "settings.json")
    yield context
    context.jobs.wait(10000)
    catalog.close()


@pytest.fixture
def page(qtbot, ctx: AppContext) -> Iterator[AlbumsPage]:
    widget = AlbumsPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(800, 700)
    with qtbot.waitSignal(widget.loaded, timeout=5000):  # the albums are read off the UI thread
        widget.refresh()
    yield widget
    widget.loader.wait(5000)


def test_album_model_passes_the_model_tester(qtmodeltester, ctx: AppContext) -> None:
    model = AlbumModel()
    model.set_albums(ctx.catalog.album_rows())
    qtmodeltester.check(model)
    assert model.rowCount() == 3
    model.set_filter("album 0001")
    qtmodeltester.check(model)
    assert model.rowCount() == 1


def test_albums_are_grouped_with_counts_and_worst_state(page: AlbumsPage) -> None:
    model = page.model
    rows = [model.index(r, 0) for r in range(model.rowCount())]
    assert [i.data() for i in rows] == ["Album 0000", "Album 0001", "Album 0002"]
    assert [i.data(ROLE_DETAIL) for i in rows] == ["4 tracks · FLAC / MP3"] * 3
    assert [i.data(ROLE_STATE) for i in rows] == ["ok", "corrupt", "ok"]
    assert page.count.text() == "3 albums"


def test_cover_thumbnail_loads_off_the_ui_thread(
    qtbot, page: AlbumsPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int] = []

    def spy(path):
        threads.append(threading.get_ident())
        return read_cover(path)

    monkeypatch.setattr(album_model, "read_cover", spy, raising=True)
    page.show()
    with_cover, without = page.model.index(0, 0), page.model.index(2, 0)
    assert with_cover.data(Qt.ItemDataRole.DecorationRole) is None  # placeholder at first
    qtbot.waitUntil(
        lambda: isinstance(with_cover.data(Qt.ItemDataRole.DecorationRole), QPixmap), timeout=5000
    )
    pixmap = with_cover.data(Qt.ItemDataRole.DecorationRole)
    assert (pixmap.width(), pixmap.height()) == (128, 85)  # 300x200 scaled, aspect kept
    assert pixmap.toImage().pixelColor(64, 40) == RED
    page.loader.wait(5000)
    assert without.data(Qt.ItemDataRole.DecorationRole) is None  # no art: placeholder
    assert threads and threading.get_ident() not in threads


def test_filter_is_debounced_and_matches_album_or_artist(qtbot, page: AlbumsPage) -> None:
    page.filter.setText("0002")
    assert page.model.rowCount() == 3  # not on every keystroke
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=2000)
    assert page.model.index(0, 0).data() == "Album 0002"
    assert page.count.text() == "1 of 3 albums"
    page.filter.setText("artist 000")  # every album here is by Artist 000
    qtbot.waitUntil(lambda: page.model.rowCount() == 3, timeout=2000)


def test_choosing_an_album_lists_its_tracks_and_a_click_selects_the_file(
    qtbot, page: AlbumsPage, ctx: AppContext
) -> None:
    page.show()
    qtbot.waitExposed(page)
    album = page.model.index(1, 0)
    with qtbot.waitSignal(page.tracks_loaded, timeout=5000):  # read off the UI thread
        qtbot.mouseClick(
            page.grid.viewport(),
            Qt.MouseButton.LeftButton,
            pos=page.grid.visualRect(album).center(),
        )
    assert page.tracks.topLevelItemCount() == 4
    states = [page.tracks.topLevelItem(i).text(3) for i in range(4)]
    assert states == ["OK", "Corrupt", "OK", "OK"]
    item = page.tracks.topLevelItem(1)
    expected = ctx.catalog.album_file_ids("Artist 000", "Album 0001")[1]
    with qtbot.waitSignal(page.file_selected, timeout=2000) as blocker:
        qtbot.mouseClick(
            page.tracks.viewport(),
            Qt.MouseButton.LeftButton,
            pos=page.tracks.visualItemRect(item).center(),
        )
    assert blocker.args == [expected]
    assert ctx.catalog.file(expected).state == "corrupt"


def test_refresh_keeps_the_chosen_album(qtbot, page: AlbumsPage) -> None:
    with qtbot.waitSignal(page.tracks_loaded, timeout=5000):
        assert page.select_album("Artist 000", "Album 0002")
    with qtbot.waitSignals([page.loaded, page.tracks_loaded], timeout=5000):
        page.refresh()
    assert page.grid.currentIndex().data() == "Album 0002"
    assert page.tracks.topLevelItemCount() == 4
    assert not page.is_loading()


def test_choosing_another_album_while_tracks_load_shows_only_its_tracks(
    qtbot, page: AlbumsPage
) -> None:
    page.select_album("Artist 000", "Album 0000")
    with qtbot.waitSignal(page.tracks_loaded, timeout=5000):
        page.select_album("Artist 000", "Album 0002")  # before the first album's tracks land
    qtbot.waitUntil(lambda: not page.is_loading(), timeout=5000)
    titles = [page.tracks.topLevelItem(i).text(1) for i in range(page.tracks.topLevelItemCount())]
    assert titles == ["Song 8", "Song 9", "Song 10", "Song 11"]
    assert page.heading.text().startswith("Album 0002")
