"""The beets bridge against a real beets library built here with beets itself.

Each test builds a beets DB from real generated files (``Item.from_path`` + ``lib.add``, the
way ``beet import -A`` does), scans the same folder into a Phonovault catalog, then changes
the files, the DB or both and checks the drift report exactly. The beets DB is the user's:
every test that runs drift also checks its folder is byte-for-byte unchanged.
"""

from __future__ import annotations

import base64
import io
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mutagen
import pytest
from beets.library import Item, Library
from mutagen.id3 import TPE1, TRCK

from phonovault.core.catalog import Catalog
from phonovault.core.cli.main import main
from phonovault.core.fixity.scan import scan
from phonovault.core.jobs import Cancelled, CancelToken, Progress
from phonovault.core.library.roots import add_root
from phonovault.core.rules.beets import (
    BeetsDbError,
    DriftReport,
    FieldDrift,
    GoneItem,
    drift,
)

FILES = {
    "01.flac": "flac16",
    "02.mp3": "mp3",
    "03.ogg": "vorbis",
    "04.m4a": "aac",
    "05.opus": "opus",
    "06.wv": "wavpack",
}


@dataclass
class World:
    music: Path  # the beets music folder, also the Phonovault root
    album: Path
    db: Path  # the user's beets DB
    catalog: Path
    lib: Library
    items: dict[str, Item]


@pytest.fixture
def world(tmp_path: Path, make_file, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    music = (tmp_path / "Music").resolve()
    paths = {n: make_file(kind, f"Artist/Album/{n}", root=music) for n, kind in FILES.items()}
    db_dir = tmp_path / "beets"
    db_dir.mkdir()
    (db_dir / "config.yaml").write_text(f"directory: {music}\n")  # as a beets user has it
    monkeypatch.setenv("BEETSDIR", str(db_dir))
    monkeypatch.chdir(tmp_path)  # beets drops migration .bak files where it likes
    lib = Library(str(db_dir / "library.db"), directory=str(music))
    items = {}
    for name, path in paths.items():
        item = Item.from_path(str(path))
        lib.add(item)
        items[name] = item
    yield World(music, music / "Artist/Album", db_dir / "library.db", tmp_path / "pv.sqlite",
                lib, items)  # fmt: skip
    lib._close()


def scanned(w: World) -> Catalog:
    """The catalog brought in step with the disk (after the test's changes)."""
    catalog = Catalog(w.catalog)
    add_root(catalog, w.music)
    scan(catalog)
    return catalog


def folder_state(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def make_drift(w: World, make_file) -> Path:
    """One of each: a gone file, an unknown file, a DB edit and file edits. Returns the new
    file."""
    (w.album / "06.wv").unlink()
    new = make_file("flac16", "Other/new.flac", root=w.music)
    item = w.items["01.flac"]
    item.title = "X"
    item.store()
    mp3 = mutagen.File(w.album / "02.mp3")
    mp3.tags.add(TPE1(encoding=3, text=["Someone Else"]))
    mp3.tags.add(TRCK(encoding=3, text=["7/10"]))
    mp3.save()
    ogg = mutagen.File(w.album / "03.ogg")
    ogg["genre"] = ["Rock"]
    ogg.save()
    # Not drift: no date in the file and year 0 in beets both mean "not set".
    m4a = mutagen.File(w.album / "04.m4a")
    del m4a["\xa9day"]
    m4a.save()
    item = w.items["04.m4a"]
    item.year = 0
    item.store()
    return new


def test_drift_is_reported_exactly_and_the_db_is_untouched(world: World, make_file) -> None:
    new = make_drift(world, make_file)
    before = folder_state(world.db.parent)
    with scanned(world) as catalog:
        report = drift(catalog, world.db)
    a = world.album
    assert report == DriftReport(
        gone=[GoneItem(str(a / "06.wv"), world.items["06.wv"].id, "Artist", "Album",
                       "T wavpack")],
        unknown=[str(new)],
        differ=[
            FieldDrift(str(a / "01.flac"), "title", "X", "T flac16"),
            FieldDrift(str(a / "02.mp3"), "artist", "Artist", "Someone Else"),
            FieldDrift(str(a / "02.mp3"), "track", 1, 7),
            FieldDrift(str(a / "03.ogg"), "genre", "Jazz", "Rock"),
        ],
        items=6,
        files=6,
        errors=[],
        directory=str(world.music),
    )  # fmt: skip
    assert report.drifted
    # The read-only promise: same bytes, same mtime, no .bak or journal beside the DB.
    assert folder_state(world.db.parent) == before


def test_no_fields_reports_only_gone_and_unknown_on_disk(world: World, make_file) -> None:
    new = make_drift(world, make_file)
    stale = make_file("mp3", "Other/stale.mp3", root=world.music)
    with scanned(world) as catalog:
        stale.unlink()  # deleted since the scan: the catalog's news, not beets drift
        report = drift(catalog, world.db, check_fields=False)
    assert [g.path for g in report.gone] == [str(world.album / "06.wv")]
    assert report.unknown == [str(new)] and report.differ == [] and report.errors == []


def test_in_step_library_exits_0(world: World) -> None:
    scanned(world).close()
    code, out, err = cli("beets", "drift", "--db", str(world.db), "--catalog", str(world.catalog))
    assert (code, err) == (0, "")
    assert "no drift: beets and your files agree" in out


def test_cli_json_and_human_output(world: World, make_file) -> None:
    make_drift(world, make_file)
    odd = os.path.join(os.fsencode(world.music), b"caf\xe9.flac")
    os.rename(make_file("flac16", "odd.flac", root=world.music), odd)
    scanned(world).close()
    args = ("beets", "drift", "--db", str(world.db), "--catalog", str(world.catalog))
    code, out, _err = cli(*args, "--json")
    doc = json.loads(out)
    assert code == 1
    assert doc["summary"] == {
        "items": 6, "files": 7, "gone": 1, "unknown": 2, "differ": 4, "differ_files": 3,
        "errors": 0, "fields_checked": True, "seconds": doc["summary"]["seconds"],
    }  # fmt: skip
    assert doc["gone"][0]["path"] == str(world.album / "06.wv")
    assert {"path": str(world.album / "02.mp3"), "field": "track", "db": 1, "file": 7} in doc[
        "differ"
    ]
    (odd_doc,) = [u for u in doc["unknown"] if "path_b64" in u]
    assert base64.b64decode(odd_doc["path_b64"]) == odd
    assert odd_doc["path"].endswith("caf\ufffd.flac")
    code, out, _err = cli(*args)
    assert code == 1
    assert "Gone from disk (1):" in out and "Not in beets (2):" in out
    assert "Tags differ from the beets DB (4 fields in 3 files):" in out
    assert '    title: beets "X", file "T flac16"' in out
    assert "1 gone, 2 not in beets, 4 fields differ in 3 files" in out


def test_bad_db_is_a_sentence_and_exit_2(world: World, tmp_path: Path) -> None:
    scanned(world).close()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not an sqlite file at all, just some text " * 100)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    for db, words in (
        (garbage, "is not a beets library"),
        (other, "not a beets library (no items)"),
        (tmp_path / "nope.db", "no beets library at"),
        (tmp_path, "is a folder"),
    ):
        code, out, err = cli("beets", "drift", "--db", str(db), "--catalog", str(world.catalog))
        assert code == 2 and out == ""
        assert err.startswith("phonovault: error: ") and words in err, err
    code, out, err = cli(
        "beets", "drift", "--db", str(garbage), "--catalog", str(world.catalog), "--json"
    )
    assert code == 2 and "is not a beets library" in json.loads(out)["error"]
    with Catalog(world.catalog) as catalog, pytest.raises(BeetsDbError):
        drift(catalog, garbage)


def test_unreadable_music_file_is_an_error_entry(world: World) -> None:
    junk = world.album / "05.opus"
    junk.write_bytes(b"OggS but not really" * 50)
    with scanned(world) as catalog:
        report = drift(catalog, world.db)
    assert report.gone == [] and report.unknown == [] and report.differ == []
    assert [p for p, _ in report.errors] == [str(junk)]
    assert report.errors[0][1].startswith("tags unreadable: ")
    code, out, _err = cli("beets", "drift", "--db", str(world.db), "--catalog", str(world.catalog))
    assert code == 1 and "Could not check (1):" in out


def test_music_folder_is_found_or_refused(world: World, tmp_path: Path) -> None:
    """beets 2.x stores paths relative to its music folder, which lives in its config."""
    (world.db.parent / "config.yaml").unlink()
    with scanned(world) as catalog:
        # No --directory and no config.yaml: beets' default ~/Music, absent here: refused.
        with pytest.raises(BeetsDbError, match="--directory"):
            drift(catalog, world.db)
        with pytest.raises(BeetsDbError, match="drive plugged in"):
            drift(catalog, world.db, tmp_path / "unplugged")
        (world.db.parent / "config.yaml").write_text(f"directory: {world.music}\n")
        report = drift(catalog, world.db)
    assert report.directory == str(world.music) and not report.drifted


def test_symlinked_music_folder_matches_the_real_root(tmp_path: Path, make_file) -> None:
    """Compared by real path: beets reaching the music through a link still matches."""
    real = (tmp_path / "real").resolve()
    files = [make_file("flac16", f"A/{n}.flac", root=real) for n in range(2)]
    link = tmp_path / "link"
    link.symlink_to(real)
    (tmp_path / "b").mkdir()
    lib = Library(str(tmp_path / "b/library.db"), directory=str(link))
    for f in files:
        lib.add(Item.from_path(str(link / f.relative_to(real))))
    lib._close()
    with Catalog(tmp_path / "pv.sqlite") as catalog:
        add_root(catalog, real)
        scan(catalog)
        report = drift(catalog, tmp_path / "b/library.db", link)
    assert (report.items, report.files, report.drifted) == (2, 2, False)


def test_cancel_and_progress(world: World) -> None:
    seen: list[Progress] = []
    with scanned(world) as catalog:
        drift(catalog, world.db, progress=seen.append)
        token = CancelToken()
        token.cancel()
        with pytest.raises(Cancelled):
            drift(catalog, world.db, cancel=token)
    assert seen[-1].done == seen[-1].total == 6


def test_old_schema_db_in_a_fresh_process(world: World, tmp_path: Path) -> None:
    """A DB from an older beets (absolute paths, no migration records) makes beets migrate
    and print on open: that happens to the private copy, stdout stays one JSON document, and
    neither the user's DB folder nor ~/.config/beets is touched."""
    con = sqlite3.connect(world.db)
    with con:
        con.execute("DROP TABLE migrations")
        for item in world.items.values():
            con.execute("UPDATE items SET path = ? WHERE id = ?", (bytes(item.path), item.id))
    con.close()
    world.lib._close()
    scanned(world).close()
    before = folder_state(world.db.parent)
    home = tmp_path / "fresh-home"
    env = {k: v for k, v in os.environ.items() if k != "BEETSDIR"}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    proc = subprocess.run(
        [sys.executable, "-m", "phonovault.core.cli", "beets", "drift", "--db", str(world.db),
         "--catalog", str(world.catalog), "--json"],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["items"] == 6
    assert folder_state(world.db.parent) == before
    assert not (home / ".config" / "beets").exists()
    assert not list(tmp_path.glob("*.bak"))
