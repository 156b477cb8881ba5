"""The Albums grid shows the cover file beside an album's tracks when they embed no picture:
real files, a real scan, the real page; covers read off the UI thread."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import audiogen
import mutagen
import pytest
from mutagen.flac import Picture
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QColor, QImage, QPixmap

from phonovault.core.catalog import Catalog
from phonovault.core.config import Settings
from phonovault.core.fixity.scan import scan
from phonovault.core.library.roots import add_root
from phonovault.core.tags import folder_art
from phonovault.gui.context import AppContext
from phonovault.gui.models.album_model import AlbumModel, folder_art_files
from phonovault.gui.views.albums_view import AlbumsPage

RED, BLUE, GREEN = QColor(200, 30, 30), QColor(30, 60, 200), QColor(30, 160, 60)


def image_bytes(width: int, height: int, color: QColor, fmt: str = "PNG") -> bytes:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(color)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, fmt)
    return bytes(data.data())


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """Three albums of two FLACs. Album 0 embeds a red cover (and has a green folder.jpg,
    which must not win); album 1 embeds nothing but keeps a blue Cover.JPG (a JPEG); album 2
    has no cover at all."""
    root = tmp_path / "Music"
    paths = audiogen.make_library(root, 6, kinds=["flac16"], per_album=2)
    flac = mutagen.File(paths[0])
    picture = Picture()
    picture.type, picture.mime, picture.data = 3, "image/png", image_bytes(300, 300, RED)
    flac.add_picture(picture)
    flac.save()
    (paths[0].parent / "folder.jpg").write_bytes(image_bytes(300, 300, GREEN, "JPG"))
    (paths[2].parent / "Cover.JPG").write_bytes(image_bytes(400, 200, BLUE, "JPG"))
    return root


@pytest.fixture
def ctx(qapp, tmp_path: Path, library: Path) -> Iterator[AppContext]:
    catalog = Catalog(tmp_path / "c.sqlite")
    add_root(catalog, library)
    scan(catalog)
    context = AppContext(catalog, Settings(), tmp_path / "settings.json")
    yield context
    context.jobs.wait(10000)
    catalog.close()


@pytest.fixture
def page(qtbot, ctx: AppContext) -> Iterator[AlbumsPage]:
    widget = AlbumsPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(800, 600)
    with qtbot.waitSignal(widget.loaded, timeout=5000):
        widget.refresh()
    yield widget
    widget.loader.wait(5000)


def decoration(page: AlbumsPage, row: int) -> object:
    return page.model.index(row, 0).data(Qt.ItemDataRole.DecorationRole)


def wait_cover(qtbot, page: AlbumsPage, row: int) -> QPixmap:
    qtbot.waitUntil(lambda: isinstance(decoration(page, row), QPixmap), timeout=5000)
    pixmap = decoration(page, row)
    assert isinstance(pixmap, QPixmap)
    return pixmap


def near(a: QColor, b: QColor) -> bool:  # JPEG is lossy
    return all(abs(x - y) < 12 for x, y in zip(a.getRgb()[:3], b.getRgb()[:3], strict=True))


def test_an_album_without_embedded_art_shows_its_folder_cover(
    qtbot, page: AlbumsPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int] = []
    real_find = folder_art.find_folder_cover

    def spy(folder: str, root: str):
        threads.append(threading.get_ident())
        return real_find(folder, root)

    monkeypatch.setattr(folder_art, "find_folder_cover", spy)
    page.show()
    qtbot.waitExposed(page)
    assert [page.model.index(r, 0).data() for r in range(3)] == [
        "Album 0000", "Album 0001", "Album 0002"
    ]  # fmt: skip
    embedded, beside = wait_cover(qtbot, page, 0), wait_cover(qtbot, page, 1)
    assert embedded.toImage().pixelColor(64, 64) == RED  # embedded art wins over folder.jpg
    assert (beside.width(), beside.height()) == (128, 64)  # 400x200 scaled, aspect kept
    assert near(beside.toImage().pixelColor(64, 32), BLUE)
    page.loader.wait(5000)
    assert decoration(page, 2) is None  # no cover anywhere: the placeholder
    assert threads and threading.get_ident() not in threads  # looked for off the UI thread
    page.grab()  # the tiles paint with a folder cover


def test_a_refresh_keeps_the_folder_cover_and_a_new_one_replaces_it(
    qtbot, page: AlbumsPage, library: Path
) -> None:
    page.show()
    wait_cover(qtbot, page, 1)
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.refresh()
    assert isinstance(decoration(page, 1), QPixmap)  # unchanged: still cached, no flicker
    cover = library / "Artist 000" / "Album 0001" / "Cover.JPG"
    cover.write_bytes(image_bytes(300, 300, GREEN, "JPG"))
    stat = cover.stat()
    os.utime(cover, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.refresh()
    qtbot.waitUntil(
        lambda: (
            isinstance(decoration(page, 1), QPixmap)
            and near(decoration(page, 1).toImage().pixelColor(64, 64), GREEN)
        ),
        timeout=5000,
    )
    cover.unlink()  # gone: the placeholder comes back after the next refresh
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.refresh()
    page.loader.wait(5000)
    qtbot.wait(50)
    assert decoration(page, 1) is None


def test_a_cover_linked_from_outside_the_library_is_not_shown(
    qtbot, page: AlbumsPage, library: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(image_bytes(200, 200, GREEN))
    (library / "Artist 000" / "Album 0002" / "cover.png").symlink_to(outside)
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.refresh()
    page.show()
    wait_cover(qtbot, page, 1)
    decoration(page, 2)
    page.loader.wait(5000)
    qtbot.wait(50)
    assert decoration(page, 2) is None


def test_the_model_with_folder_covers_passes_the_model_tester(
    qtmodeltester, ctx: AppContext
) -> None:
    rows = ctx.catalog.album_rows()
    files = folder_art_files(ctx.catalog, rows)
    # Only albums without embedded art get a folder file: the lowest id of their files.
    assert set(files) == {("Artist 000", "Album 0001"), ("Artist 000", "Album 0002")}
    ids = ctx.catalog.album_file_ids("Artist 000", "Album 0001")
    assert files[("Artist 000", "Album 0001")] == min(ids)
    model = AlbumModel()
    model.set_albums(rows, files)
    qtmodeltester.check(model)
    assert model.cover_id(rows[1]) == min(ids) and model.cover_id(rows[0]) == rows[0].cover_file_id


def test_the_folder_pass_waits_until_the_page_is_on_screen(qtbot, page: AlbumsPage) -> None:
    """Finding the albums that may keep a cover file reads every file's album: a hidden
    Albums page (the window opens on the Library) does not pay for it."""
    row = page.model.album(1)
    assert row.album == "Album 0001" and row.cover_file_id is None
    assert page.model.cover_id(row) is None  # refreshed while hidden: not looked for yet
    with qtbot.waitSignal(page.model.dataChanged, timeout=5000) as changed:
        page.show()
    top, bottom, roles = changed.args
    assert (top.row(), bottom.row(), roles) == (0, 2, [Qt.ItemDataRole.DecorationRole])
    assert page.model.cover_id(row) is not None
    wait_cover(qtbot, page, 1)
