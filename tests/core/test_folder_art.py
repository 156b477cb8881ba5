"""Finding an album's cover file beside its tracks: names, case, content, symlinks, caching."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from audiogen import png
from mutagen.flac import FLAC, Picture

from phonovault.core.catalog import Catalog
from phonovault.core.cli.main import main
from phonovault.core.config import Settings
from phonovault.core.fixity.scan import scan
from phonovault.core.library.roots import add_root
from phonovault.core.plugin_api import load_plugins
from phonovault.core.rules.engine import check, list_rules
from phonovault.core.tags import folder_art
from phonovault.core.tags.folder_art import FolderCovers, find_folder_cover

PNG = png(40, 30)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
GUID = "{2A3B4C5D-1111-2222-3333-444455556666}"


@pytest.fixture
def album(tmp_path: Path) -> Path:
    folder = tmp_path / "Music" / "Band" / "Album"
    folder.mkdir(parents=True)
    (folder / "01.flac").write_bytes(b"fLaC")
    return folder


def found(folder: Path, root: Path) -> str | None:
    cover = find_folder_cover(str(folder), str(root))
    return None if cover is None else os.path.relpath(cover.path, folder)


def music(album: Path) -> Path:
    return album.parent.parent


@pytest.mark.parametrize(
    "name",
    ["cover.jpg", "Folder.JPG", "FRONT.png", "album.jpeg", "AlbumArt.webp", "albumart.gif",
     "AlbumArtSmall.jpg", "AlbumArtLarge.jpg", f"AlbumArt_{GUID}_Large.jpg"],
)  # fmt: skip
def test_the_well_known_names_count_in_any_case(album: Path, name: str) -> None:
    (album / name).write_bytes(PNG)
    assert found(album, music(album)) == name
    cover = find_folder_cover(str(album), str(music(album)))
    assert cover is not None and cover.mime == "image/png" and cover.size == len(PNG)


@pytest.mark.parametrize(
    "name", ["back.jpg", "booklet.jpg", "cd.png", "cover.txt", "cover.bmp", "covers.jpg",
             "my cover.jpg", "scan01.jpg", "cover.jpg.part"],
)  # fmt: skip
def test_other_images_and_names_are_not_the_cover(album: Path, name: str) -> None:
    (album / name).write_bytes(PNG)
    assert found(album, music(album)) is None


def test_the_best_name_wins_and_content_beats_the_extension(album: Path) -> None:
    (album / "AlbumArtSmall.jpg").write_bytes(JPEG)
    (album / "folder.jpg").write_bytes(JPEG)
    assert found(album, music(album)) == "folder.jpg"
    (album / "Cover.png").write_bytes(JPEG)  # a JPEG saved as .png: players show it
    assert found(album, music(album)) == "Cover.png"
    cover = find_folder_cover(str(album), str(music(album)))
    assert cover is not None and cover.mime == "image/jpeg"


def test_a_file_that_is_not_an_image_is_passed_over(album: Path) -> None:
    (album / "cover.jpg").write_bytes(b"")  # a download that never finished
    (album / "front.jpg").write_bytes(b"<html>404 Not Found</html>")
    assert found(album, music(album)) is None
    (album / "folder.png").write_bytes(PNG)
    assert found(album, music(album)) == "folder.png"


def test_none_found_in_an_empty_missing_or_unlistable_folder(album: Path, monkeypatch) -> None:
    assert found(album, music(album)) is None
    assert found(album / "gone", music(album)) is None
    (album / "cover.jpg").write_bytes(PNG)

    def denied(path):  # chmod means nothing to root, who runs these tests in CI
        raise PermissionError(13, "Permission denied", os.fspath(path))

    monkeypatch.setattr(folder_art.os, "scandir", denied)
    assert found(album, music(album)) is None


def test_reads_only_the_first_bytes_of_a_candidate(album: Path, monkeypatch) -> None:
    (album / "cover.png").write_bytes(PNG + b"\0" * 5_000_000)
    sizes: list[int] = []
    real_read = os.read

    def spy(fd: int, n: int) -> bytes:
        sizes.append(n)
        return real_read(fd, n)

    monkeypatch.setattr(folder_art.os, "read", spy)
    assert found(album, music(album)) == "cover.png"
    assert sizes == [16]


def test_a_symlink_out_of_the_root_is_never_followed(album: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.png").write_bytes(PNG)
    (album / "cover.jpg").symlink_to(outside / "secret.png")
    assert found(album, music(album)) is None
    # A folder that is a link out of the root is not looked in either.
    (outside / "folder.jpg").write_bytes(PNG)
    linked = music(album) / "Linked"
    linked.symlink_to(outside, target_is_directory=True)
    assert found(linked, music(album)) is None
    # Inside the root, links are fine.
    (album / "art").mkdir()
    (album / "art" / "front.png").write_bytes(PNG)
    (album / "front.png").symlink_to(album / "art" / "front.png")
    assert found(album, music(album)) == "front.png"


def test_a_fifo_named_cover_does_not_hang(album: Path) -> None:
    os.mkfifo(album / "cover.jpg")
    result: list[str | None] = []
    worker = threading.Thread(target=lambda: result.append(found(album, music(album))))
    worker.start()
    worker.join(5)
    assert not worker.is_alive() and result == [None]


def test_a_disc_folder_uses_the_cover_of_its_release_folder(album: Path) -> None:
    (album / "cover.jpg").write_bytes(JPEG)
    for disc in ("CD1", "Disc 2", "disk-3 (bonus)"):
        (album / disc).mkdir()
        assert found(album / disc, music(album)) == "../cover.jpg"
    (album / "CD1" / "folder.png").write_bytes(PNG)  # a disc's own cover comes first
    assert found(album / "CD1", music(album)) == "folder.png"
    (album / "Extras").mkdir()  # not a disc folder: its parent's cover is another matter
    assert found(album / "Extras", music(album)) is None


def test_never_above_the_root(album: Path) -> None:
    (album / "cover.jpg").write_bytes(PNG)
    disc = album / "CD1"
    disc.mkdir()
    assert found(disc, disc) is None  # the root is the disc folder: its parent is outside
    assert found(disc, album) == "../cover.jpg"


def test_the_cache_lists_a_folder_again_only_once_it_changed(album: Path, monkeypatch) -> None:
    listed: list[str] = []
    real_scandir = os.scandir

    def spy(path):
        listed.append(os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(folder_art.os, "scandir", spy)
    covers = FolderCovers()
    old = 1_600_000_000
    os.utime(album, (old, old))
    root = str(music(album))
    assert covers.find(str(album), root) is None
    assert covers.find(str(album), root) is None
    assert len(listed) == 1  # the second answer came from the cache
    (album / "cover.jpg").write_bytes(PNG)  # the folder's mtime moves
    cover = covers.find(str(album), root)
    assert cover is not None and cover.path == str(album / "cover.jpg")
    assert len(listed) == 2
    # Changed just now: not kept (coarse timestamps could hide the next change), so it is
    # listed again; once it has settled, it is kept.
    covers.find(str(album), root)
    assert len(listed) == 3
    os.utime(album, (old + 10, old + 10))
    covers.find(str(album), root)
    covers.find(str(album), root)
    assert len(listed) == 4


# -- the cover rule, through a real scan and check ---------------------------------------------


def _library(tmp_path: Path, make_file) -> Path:
    """Two albums of two FLACs without embedded art: "Framed" keeps a cover.jpg beside its
    tracks, "Bare" has none."""
    root = tmp_path / "Music"
    for album in ("Framed", "Bare"):
        for n in (1, 2):
            path = make_file("flac16", f"Band/{album}/{n:02d}.flac", root=root)
            flac = FLAC(path)
            flac.update({"album": album, "tracknumber": f"{n}/2", "title": f"Song {n}"})
            flac.save()
    (root / "Band/Framed/Cover.JPG").write_bytes(JPEG)
    return root


def _missing(catalog: Catalog) -> dict[str, str]:
    """Path under the root -> message, of every cover-missing finding stored."""
    return {
        f.path.split("/Music/", 1)[-1]: f.message
        for f in catalog.findings(min_severity="info")
        if f.kind == "rule:cover-missing"
    }


@pytest.fixture
def library(tmp_path: Path, make_file) -> Iterator[tuple[Path, Catalog]]:
    root = _library(tmp_path, make_file)
    with Catalog(tmp_path / "c.sqlite") as catalog:
        add_root(catalog, root)
        scan(catalog)
        yield root, catalog


def test_a_folder_cover_counts_as_the_albums_cover(library) -> None:
    _root, catalog = library
    report = check(catalog, plugins=load_plugins())
    assert _missing(catalog) == {
        "Band/Bare/01.flac": "no embedded cover, and no cover file in its folder",
        "Band/Bare/02.flac": "no embedded cover, and no cover file in its folder",
    }
    assert {h.rule_id for h in report.hits} == {"cover-missing"} and not report.problems


def test_with_folder_art_off_every_track_without_embedded_art_is_flagged(library) -> None:
    _root, catalog = library
    settings = Settings(rules={"cover-missing": {"folder_art": False}})
    report = check(catalog, plugins=load_plugins(), settings=settings)
    assert _missing(catalog) == {
        f"Band/{a}/{n:02d}.flac": "no embedded cover" for a in ("Framed", "Bare") for n in (1, 2)
    }
    assert not report.notes
    info = {i.rule.id: i for i in list_rules(load_plugins(), settings)}["cover-missing"]
    assert info.options == {"folder_art": False}
    # A value of the wrong type is ignored, with a note: the default (folder art counts) holds.
    report = check(catalog, plugins=load_plugins(),
                   settings=Settings(rules={"cover-missing": {"folder_art": "no"}}))  # fmt: skip
    assert report.notes == ["settings: rules.cover-missing.folder_art must be bool; using True"]
    assert set(_missing(catalog)) == {"Band/Bare/01.flac", "Band/Bare/02.flac"}


def test_a_cover_saved_later_clears_the_finding_at_the_next_check(library) -> None:
    root, catalog = library
    plugins = load_plugins()  # one set of plugins, as the GUI keeps: its folder memo too
    check(catalog, plugins=plugins)
    assert len(_missing(catalog)) == 2
    (root / "Band/Bare/folder.png").write_bytes(PNG)
    check(catalog, plugins=plugins)  # no rescan: a picture is not music, the scan skips it
    assert _missing(catalog) == {}
    (root / "Band/Bare/folder.png").unlink()
    check(catalog, plugins=plugins)
    assert len(_missing(catalog)) == 2


def test_embedded_art_still_decides_the_small_cover_rule(library, tmp_path: Path) -> None:
    root, catalog = library
    flac = FLAC(root / "Band/Framed/01.flac")
    picture = Picture()
    picture.type, picture.mime, picture.data = 3, "image/png", png(100, 100)
    flac.add_picture(picture)
    flac.save()
    scan(catalog)
    report = check(catalog, plugins=load_plugins())
    small = [h for h in report.hits if h.rule_id == "cover-small"]
    assert [Path(p).name for h in small for p in h.paths] == ["01.flac"]
    assert set(_missing(catalog)) == {"Band/Bare/01.flac", "Band/Bare/02.flac"}


def test_a_multi_disc_release_with_one_cover_above_its_disc_folders(tmp_path, make_file):
    root = tmp_path / "Music"
    for disc in ("CD1", "CD2"):
        make_file("flac16", f"Band/Double/{disc}/01.flac", root=root)
    (root / "Band/Double/cover.jpg").write_bytes(JPEG)
    make_file("flac16", "Band/Other/Extras/01.flac", root=root)  # not a disc folder
    (root / "Band/Other/cover.jpg").write_bytes(JPEG)
    with Catalog(tmp_path / "c.sqlite") as catalog:
        add_root(catalog, root)
        scan(catalog)
        check(catalog, plugins=load_plugins())
        assert set(_missing(catalog)) == {"Band/Other/Extras/01.flac"}


def test_an_offline_drive_keeps_its_cover_findings(library) -> None:
    root, catalog = library
    plugins = load_plugins()
    check(catalog, plugins=plugins)
    before = _missing(catalog)
    root.rename(root.with_name("Unplugged"))  # the root is gone: offline, the folder unseen
    report = check(catalog, plugins=plugins)
    assert report.offline == 4
    assert _missing(catalog) == before


def test_the_analyzer_alone(tmp_path: Path) -> None:
    """The hook as a third-party test would call it: a file without a root looks in its own
    folder only, and a file with embedded art is never looked into."""
    from phonovault.core.plugin_api import RuleOptions, TrackFacts
    from phonovault.plugins import cover_art

    (tmp_path / "CD1").mkdir()
    (tmp_path / "cover.jpg").write_bytes(JPEG)
    options = RuleOptions(frozenset({"cover-missing"}), {"cover-missing": {"folder_art": True}})
    beside = TrackFacts(1, str(tmp_path / "01.flac"))
    below = TrackFacts(2, str(tmp_path / "CD1" / "01.flac"))
    embedded = TrackFacts(3, str(tmp_path / "CD1" / "02.flac"), art_count=1)
    assert cover_art.phonovault_analyze_file(beside, options) == []
    [hit] = cover_art.phonovault_analyze_file(below, options)
    assert hit.rule_id == "cover-missing" and hit.file_ids == (2,)
    assert cover_art.phonovault_analyze_file(embedded, options) == []
    off = RuleOptions(frozenset(), {"cover-missing": {"folder_art": True}})  # rule switched off
    assert cover_art.phonovault_analyze_file(below, off) == []


def test_cli_check_passes_when_every_album_has_a_cover_file(library, tmp_path: Path) -> None:
    root, catalog = library
    (root / "Band/Bare/front.png").write_bytes(PNG)
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", "--catalog", str(catalog.path)], stdout=out, stderr=err)
    assert code == 0, out.getvalue() + err.getvalue()
    assert "no problems" in out.getvalue()
    out = io.StringIO()
    main(["rules", "show", "cover-missing", "--catalog", str(catalog.path)], stdout=out)
    assert "option folder_art = True" in out.getvalue()


def test_a_cover_saved_over_in_place_is_seen(album: Path) -> None:
    covers = FolderCovers()
    root = str(music(album))
    (album / "cover.png").write_bytes(PNG)
    old = 1_600_000_000
    os.utime(album, (old, old))  # settled: its answer is kept
    first = covers.find(str(album), root)
    assert first is not None and first.size == len(PNG)
    bigger = png(80, 60)
    (album / "cover.png").write_bytes(bigger)  # same name: the folder's mtime stays
    os.utime(album, (old, old))
    second = covers.find(str(album), root)
    assert second is not None and second.size == len(bigger) and second.version != first.version
    data = folder_art.read_folder_cover(second, root)
    assert data == bigger
    assert folder_art.read_folder_cover(second, root, limit=10) is None  # too big to show
    (album / "cover.png").unlink()
    os.utime(album, (old, old))
    assert covers.find(str(album), root) is None
    assert folder_art.read_folder_cover(second, root) is None  # gone since it was found
