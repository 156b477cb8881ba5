"""Scanning and verification end to end, on real generated audio files and a real catalog."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import mutagen
import pytest
from audiogen import flip_audio_byte

from phonovault.core.catalog import Catalog
from phonovault.core.fixity.scan import ScanOptions, scan
from phonovault.core.fixity.verify import accept, verify
from phonovault.core.jobs import CancelToken
from phonovault.core.library.roots import add_root


@pytest.fixture
def lib(tmp_path: Path, make_file) -> Path:
    root = tmp_path / "Music"
    import audiogen

    for i, kind in enumerate(["flac16", "mp3", "vorbis", "aac", "wav"]):
        make_file(kind, f"Artist/Album/{i:02d} song{audiogen.KINDS[kind].suffix}", root=root)
    (root / "Artist/Album/cover.jpg").write_bytes(b"\xff\xd8\xff not really")
    return root


@pytest.fixture
def catalog(tmp_path: Path):
    with Catalog(tmp_path / "catalog.sqlite") as cat:
        yield cat


def by_name(report) -> dict[str, str]:
    return {Path(r.path).name: r.state for r in report.results}


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file's sha256 and mtime: the read-only promise is checked against this."""
    return {
        str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_first_scan_indexes_everything_and_writes_nothing(lib: Path, catalog: Catalog) -> None:
    before = snapshot(lib)
    add_root(catalog, lib)
    report = scan(catalog)
    assert report.indexed == 5
    assert report.skipped == 1  # cover.jpg
    assert report.failed == []
    again = scan(catalog)
    assert (again.indexed, again.unchanged, again.updated) == (0, 5, 0)
    assert again.bytes_read == 0  # a no-change rescan is a stat walk
    result = verify(catalog)
    assert set(by_name(result).values()) == {"ok"}
    assert snapshot(lib) == before


def test_tag_edit_with_preserved_mtime_is_tags_changed(lib: Path, catalog: Catalog) -> None:
    add_root(catalog, lib)
    scan(catalog)
    target = lib / "Artist/Album/00 song.flac"
    st = target.stat()
    f = mutagen.File(target)
    f["title"] = ["A new title"]
    f.save()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # "preserve timestamps"
    states = by_name(verify(catalog))
    assert states["00 song.flac"] == "tags-changed"
    assert set(states.values()) == {"ok", "tags-changed"}
    # the new file hash is the baseline now; the old one stays in the history
    assert by_name(verify(catalog))["00 song.flac"] == "ok"
    rec = catalog.file_by_path(catalog.roots()[0].id, b"Artist/Album/00 song.flac")
    assert rec is not None and rec.title == "A new title"
    assert [h.state for h in catalog.history(rec.id)] == ["ok", "tags-changed", "ok"]


@pytest.mark.parametrize(
    "name", ["00 song.flac", "01 song.mp3", "02 song.ogg", "03 song.m4a", "04 song.wav"]
)
def test_flipped_audio_byte_with_mtime_restored_is_corrupt(
    lib: Path, catalog: Catalog, name: str
) -> None:
    add_root(catalog, lib)
    scan(catalog)
    flip_audio_byte(lib / "Artist/Album" / name)
    states = by_name(verify(catalog))
    assert states[name] == "corrupt"
    assert list(states.values()).count("ok") == 4
    assert any(f.kind == "corrupt" and f.severity == "error" for f in catalog.findings())
    assert by_name(verify(catalog))[name] == "corrupt"  # stays until repaired or accepted


def test_flipped_byte_then_touched_is_audio_changed_and_accept_clears_it(
    lib: Path, catalog: Catalog
) -> None:
    add_root(catalog, lib)
    scan(catalog)
    target = lib / "Artist/Album/01 song.mp3"
    flip_audio_byte(target)
    os.utime(target)  # something wrote to it
    assert by_name(verify(catalog))["01 song.mp3"] == "audio-changed"
    assert accept(catalog, target) == "audio-changed"
    assert by_name(verify(catalog))["01 song.mp3"] == "ok"
    assert catalog.journal()[0].action == "accept"
    assert not [f for f in catalog.findings() if f.kind == "audio-changed"]


def test_delete_is_missing_and_rename_is_moved(lib: Path, catalog: Catalog) -> None:
    add_root(catalog, lib)
    scan(catalog)
    (lib / "Artist/Album/00 song.flac").unlink()
    (lib / "Artist/Album/01 song.mp3").rename(lib / "Artist/renamed.mp3")
    report = verify(catalog)
    states = by_name(report)
    assert states["00 song.flac"] == "missing"
    assert states["renamed.mp3"] == "moved"
    moved = next(r for r in report.results if r.state == "moved")
    assert moved.moved_from == str(lib / "Artist/Album/01 song.mp3")
    # history follows the file to its new path
    rec = catalog.file_by_path(catalog.roots()[0].id, b"Artist/renamed.mp3")
    assert rec is not None and [h.state for h in catalog.history(rec.id)][-1] == "moved"
    assert by_name(verify(catalog))["renamed.mp3"] == "ok"


def test_scan_recognises_a_move_by_hash(lib: Path, catalog: Catalog) -> None:
    add_root(catalog, lib)
    scan(catalog)
    rec = catalog.file_by_path(catalog.roots()[0].id, b"Artist/Album/02 song.ogg")
    assert rec is not None
    (lib / "Other").mkdir()
    (lib / "Artist/Album/02 song.ogg").rename(lib / "Other/02 song.ogg")
    report = scan(catalog)
    assert report.moved == [(str(lib / "Artist/Album/02 song.ogg"), str(lib / "Other/02 song.ogg"))]
    assert report.missing == 0 and report.indexed == 0
    assert catalog.file(rec.id).relpath == b"Other/02 song.ogg"


@pytest.mark.parametrize("how", ["removed", "emptied"])
def test_unmounted_root_is_offline_not_missing(
    lib: Path, catalog: Catalog, tmp_path: Path, how: str
) -> None:
    add_root(catalog, lib)
    scan(catalog)
    shutil.move(lib, tmp_path / "elsewhere")
    if how == "emptied":
        lib.mkdir()  # an empty mount point left behind
    report = verify(catalog)
    assert set(by_name(report).values()) == {"offline"}
    assert report.offline_roots and report.offline_roots[0][0] == str(lib)
    rescan = scan(catalog)
    assert rescan.missing == 0 and rescan.offline_roots
    assert catalog.state_counts() == {"ok": 5}  # nothing forgotten, nothing judged


def test_bad_files_become_findings_and_the_scan_goes_on(lib: Path, catalog: Catalog) -> None:
    (lib / "empty.flac").write_bytes(b"")
    (lib / "garbage.mp3").write_bytes(os.urandom(5000))
    good = (lib / "Artist/Album/00 song.flac").read_bytes()
    (lib / "truncated.flac").write_bytes(good[:30])
    add_root(catalog, lib)
    report = scan(catalog)
    failed = {Path(f.path).name: f.reason for f in report.failed}
    assert set(failed) == {"empty.flac", "garbage.mp3", "truncated.flac"}
    assert all(
        reason.startswith("tags unreadable: ") and len(reason) > 20 for reason in failed.values()
    )
    assert report.indexed == 8  # they are still tracked for fixity
    kinds = {(Path(f.path).name, f.kind) for f in catalog.findings()}
    assert ("garbage.mp3", "rule:tags-unreadable") in kinds


def test_non_utf8_names_round_trip(tmp_path: Path, make_file, catalog: Catalog) -> None:
    root = tmp_path / "lib"
    root.mkdir()
    name = b"caf\xe9 \xff.flac"  # Latin-1 bytes: not valid UTF-8
    raw_path = os.fsencode(root) + b"/" + name
    with open(raw_path, "wb") as fh:
        fh.write(make_file("flac16").read_bytes())
    add_root(catalog, root)
    assert scan(catalog).indexed == 1
    rec = catalog.file_by_path(catalog.roots()[0].id, name)
    assert rec is not None and rec.relpath == name
    report = verify(catalog)
    assert [r.state for r in report.results] == ["ok"]
    assert os.fsencode(report.results[0].path) == raw_path


def test_symlink_loop_and_outside_link_are_not_followed(
    tmp_path: Path, make_file, catalog: Catalog
) -> None:
    root = tmp_path / "lib"
    make_file("mp3", "a/x.mp3", root=root)
    outside = make_file("flac16", "outside/y.flac", root=tmp_path)
    (root / "a/loop").symlink_to(root / "a")
    (root / "out").symlink_to(outside.parent)
    add_root(catalog, root)
    report = scan(catalog)
    assert report.indexed == 1
    assert any("outside the root" in note for _, note in report.notes)


def test_cancelled_scan_resumes(lib: Path, catalog: Catalog) -> None:
    add_root(catalog, lib)
    token = CancelToken()

    def progress(p) -> None:
        token.cancel()  # at the first report: the rest of the library is left unread

    first = scan(catalog, options=ScanOptions(workers=1), progress=progress, cancel=token)
    assert first.cancelled and first.indexed < 5
    second = scan(catalog)
    assert second.indexed + first.indexed == 5
    assert second.unchanged == first.indexed


def test_interrupted_verify_resumes_where_it_stopped(lib: Path, catalog: Catalog) -> None:
    add_root(catalog, lib)
    scan(catalog)
    token = CancelToken()

    def progress(p) -> None:
        token.cancel()

    first = verify(catalog, workers=1, progress=progress, cancel=token)
    assert first.cancelled and len(first.results) < 5
    done_first = len([r for r in first.results if r.state == "ok"])
    second = verify(catalog)
    assert second.resumed
    assert len(second.results) == 5 - done_first
    third = verify(catalog)
    assert not third.resumed and len(third.results) == 5


def test_verify_oldest_fraction_scrubs_least_recently_verified_first(
    lib: Path, catalog: Catalog
) -> None:
    add_root(catalog, lib)
    scan(catalog)
    seen: list[str] = []
    for _ in range(3):  # 40 % of 5 files = 2 a run: three runs cover every file
        report = verify(catalog, oldest=0.4)
        assert len(report.results) == 2
        seen.extend(r.path for r in report.results)
    assert len(set(seen)) == 5


def test_containment_agrees_with_inside_root(tmp_path: Path) -> None:
    """verify's per-folder cache of realpaths answers as resolving every path in full does."""
    from phonovault.core.library.walk import Containment, inside_root

    root, outside = tmp_path / "Music", tmp_path / "elsewhere"
    (root / "A/B").mkdir(parents=True)
    outside.mkdir()
    (outside / "x.flac").write_bytes(b"x")
    (root / "A/B/plain.flac").write_bytes(b"p")
    (root / "A/B/out.flac").symlink_to(outside / "x.flac")  # a file link leaving the root
    (root / "A/B/in.flac").symlink_to(root / "A/B/plain.flac")  # one staying inside
    (root / "Linked").symlink_to(outside)  # a folder link leaving the root
    (root / "Inner").symlink_to(root / "A")  # one staying inside
    real = os.path.realpath(root)
    contained = Containment(real)
    paths = ["A/B/plain.flac", "A/B/out.flac", "A/B/in.flac", "Linked/x.flac",
             "Inner/B/plain.flac", "A/B/gone.flac"]  # fmt: skip
    answers = {p: contained(str(root / p)) for p in paths}
    assert answers == {p: inside_root(str(root / p), real) for p in paths}
    assert answers == {"A/B/plain.flac": True, "A/B/out.flac": False, "A/B/in.flac": True,
                       "Linked/x.flac": False, "Inner/B/plain.flac": True,
                       "A/B/gone.flac": True}  # fmt: skip
