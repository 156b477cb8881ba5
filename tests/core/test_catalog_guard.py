"""The catalog's guard with real catalogs (built by scanning generated audio) and real damage:
a page overwritten in the middle, a truncated file, a file that is not SQLite, an empty
file. Each is a clear error naming the newest good backup and the command that restores it,
and the damaged file is never written to. Backups rotate; a restore moves the damaged
catalog aside and brings the old data back."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import audiogen
import pytest

from phonovault.core.catalog import Catalog
from phonovault.core.catalog import guard as catalog_guard
from phonovault.core.catalog.guard import CatalogDamaged
from phonovault.core.cli.main import Out, build_parser, main
from phonovault.core.fixity.scan import scan
from phonovault.core.library.roots import add_root

FILES = 60


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lib") / "Music"
    audiogen.make_library(root, FILES, kinds=["flac16", "mp3", "vorbis"], seconds=0.2)
    return root


@pytest.fixture
def cat(tmp_path: Path, music: Path) -> Path:
    """A real catalog of FILES scanned files, cleanly closed, with one backup."""
    path = tmp_path / "data" / "catalog.sqlite"
    with Catalog(path) as catalog:
        add_root(catalog, music)
        assert scan(catalog).indexed == FILES
    catalog_guard.back_up(path, now=time.time() - 3600)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli(*args: str, catalog: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([*args, "--catalog", str(catalog)], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def run_catalog_free(*args: str, catalog: Path) -> tuple[int, str]:
    """A ``catalog ...`` command as ``cli.main`` dispatches one marked ``catalog_free``: with
    the catalog's path, never an open Catalog (so it works on a damaged one)."""
    ns: argparse.Namespace = build_parser().parse_args([*args, "--catalog", str(catalog)])
    assert ns.catalog_free
    out = io.StringIO()
    code = ns.func(ns, catalog, Out(out, io.StringIO(), False, False))
    return code, out.getvalue()


def file_count(path: Path) -> int:
    with Catalog(path, create=False) as catalog:
        return catalog.totals()[0]


def btree_page_near_middle(path: Path) -> int:
    """The b-tree page nearest the middle of the file (interior or leaf, table or index):
    damage there is damage quick_check must see, not a free page's."""
    data = path.read_bytes()
    size = int.from_bytes(data[16:18], "big")
    pages = len(data) // size
    for distance in range(pages):
        for n in (pages // 2 + distance, pages // 2 - distance):
            if 1 < n < pages and data[n * size] in (2, 5, 10, 13):
                return n
    raise AssertionError("no b-tree page")


def damage_page(path: Path, page: int) -> None:
    data = bytearray(path.read_bytes())
    size = int.from_bytes(data[16:18], "big")
    data[page * size : page * size + 100] = bytes(range(100, 200))
    path.write_bytes(bytes(data))


def assert_names_backup(message: str, catalog: Path, backup: Path) -> None:
    assert str(catalog) in message and "damaged" in message
    assert str(backup) in message
    assert f"phonovault catalog restore {backup} --catalog {catalog}" in message
    assert "moved aside, not deleted" in message


def test_corrupted_page_is_a_clear_error_naming_the_backup(cat: Path) -> None:
    [backup] = catalog_guard.list_backups(cat)
    damage_page(cat, btree_page_near_middle(cat))
    before = sha(cat)
    with pytest.raises(CatalogDamaged) as info:
        Catalog(cat, create=False)
    assert_names_backup(str(info.value), cat, backup.path)
    assert info.value.backup == backup
    code, _out, err = cli("status", catalog=cat)
    assert code == 2 and "it is damaged" in err and str(backup.path) in err
    assert sha(cat) == before  # never written, never "mended"
    assert not Path(f"{cat}-wal").exists() or Path(f"{cat}-wal").stat().st_size == 0


def test_damage_after_an_unclean_close_is_found(cat: Path, tmp_path: Path) -> None:
    """A process killed with its -wal file behind: quick_check runs on the next open, even
    when the catalog is big enough for checks to be daily."""
    code = (
        "import os, sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('UPDATE roots SET last_scan = 1')\n"
        "os.kill(os.getpid(), 9)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(cat)], check=False)
    assert Path(f"{cat}-wal").stat().st_size > 0
    damage_page(cat, btree_page_near_middle(cat))
    catalog_guard.ALWAYS_CHECK_BELOW, saved = 0, catalog_guard.ALWAYS_CHECK_BELOW
    try:
        with pytest.raises(CatalogDamaged, match="catalog restore"):
            Catalog(cat, create=False)
    finally:
        catalog_guard.ALWAYS_CHECK_BELOW = saved


def test_big_catalog_is_checked_daily_after_a_clean_close(
    cat: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented policy for catalogs too big to check on every open: after a clean
    close, damage is found by the daily check (or 'catalog check'), not on every open."""
    monkeypatch.setattr(catalog_guard, "ALWAYS_CHECK_BELOW", 0)
    Catalog(cat, create=False).close()  # checked now (no stamp yet): stamps it
    damage_page(cat, btree_page_near_middle(cat))
    Catalog(cat, create=False).close()  # clean close, checked today: not checked again
    code, text = run_catalog_free("catalog", "check", catalog=cat)
    assert code == 1 and ": damaged: " in text and "phonovault catalog restore" in text
    stamp = catalog_guard.backups_dir(cat) / ".catalog.checked"
    day_ago = time.time() - catalog_guard.CHECK_EVERY - 60
    os.utime(stamp, (day_ago, day_ago))
    catalog_guard._checked_here.clear()  # a new process
    with pytest.raises(CatalogDamaged):
        Catalog(cat, create=False)


def test_truncated_catalog(cat: Path) -> None:
    [backup] = catalog_guard.list_backups(cat)
    size = cat.stat().st_size
    os.truncate(cat, size // 2 // 4096 * 4096)
    with pytest.raises(CatalogDamaged, match="truncated") as info:
        Catalog(cat, create=False)
    assert_names_backup(str(info.value), cat, backup.path)
    os.truncate(cat, 4096 * 3 + 1000)  # not even whole pages
    with pytest.raises(CatalogDamaged, match="whole number of 4096-byte pages"):
        Catalog(cat, create=False)


@pytest.mark.parametrize("content", [b"not a database at all, just text\n" * 200, b"fLaC"])
def test_not_a_sqlite_file(cat: Path, music: Path, content: bytes) -> None:
    content = content if content != b"fLaC" else next(music.rglob("*.flac")).read_bytes()
    cat.write_bytes(content)
    with pytest.raises(CatalogDamaged, match="not a SQLite database") as info:
        Catalog(cat, create=True)  # even 'roots add' never turns it into a catalog
    assert_names_backup(str(info.value), cat, catalog_guard.list_backups(cat)[0].path)
    assert cat.read_bytes() == content


def test_zero_byte_catalog(cat: Path, tmp_path: Path) -> None:
    cat.write_bytes(b"")
    for create in (False, True):  # a catalog with backups was a real one: never re-created
        with pytest.raises(CatalogDamaged, match=r"empty \(0 bytes\)"):
            Catalog(cat, create=create)
    assert cat.read_bytes() == b""
    # without backups too: a new catalog is made under a temp name, so an empty file under a
    # catalog's name is never ours (a sync tool's truncation, a mistyped --catalog)
    fresh = tmp_path / "new" / "c.sqlite"
    fresh.parent.mkdir()
    fresh.write_bytes(b"")
    for create in (False, True):
        with pytest.raises(CatalogDamaged, match="no good backup"):
            Catalog(fresh, create=create)
    code, _out, err = cli("roots", "add", str(tmp_path), catalog=fresh)
    assert code != 0 and "empty" in err
    assert fresh.read_bytes() == b""
    assert sorted(p.name for p in fresh.parent.iterdir()) == ["c.sqlite"]


def test_failed_roots_add_leaves_nothing_behind(tmp_path: Path) -> None:
    fresh = tmp_path / "data" / "catalog.sqlite"
    code, _out, err = cli("roots", "add", str(tmp_path / "no such folder"), catalog=fresh)
    assert code != 0 and "not a folder" in err
    assert not fresh.parent.exists() or list(fresh.parent.iterdir()) == []
    code, _out, _err = cli("roots", "add", str(tmp_path), catalog=fresh)
    assert code == 0 and fresh.stat().st_size > 0
    leftovers = [p.name for p in fresh.parent.iterdir() if ".create-" in p.name]
    assert leftovers == []


def test_newest_backup_damaged_names_the_older_good_one(cat: Path) -> None:
    older = catalog_guard.list_backups(cat)[0]
    newer = catalog_guard.back_up(cat)
    damage_page(newer.path, btree_page_near_middle(newer.path))
    damage_page(cat, btree_page_near_middle(cat))
    with pytest.raises(CatalogDamaged) as info:
        Catalog(cat, create=False)
    assert info.value.backup == older
    assert str(newer.path) not in str(info.value)


def test_restore_brings_back_the_old_data(cat: Path, music: Path) -> None:
    [backup] = catalog_guard.list_backups(cat)
    damage_page(cat, btree_page_near_middle(cat))
    damaged = sha(cat)
    code, text = run_catalog_free("catalog", "restore", backup.path.name, catalog=cat)
    assert code == 0 and f"restored {cat} from {backup.path}" in text
    aside = [p for p in cat.parent.iterdir() if ".before-restore-" in p.name]
    assert [sha(p) for p in aside if p.suffix == ".sqlite"] == [damaged]  # kept, not deleted
    assert backup.path.exists()  # the backup itself stays
    assert file_count(cat) == FILES
    with Catalog(cat, create=False) as catalog:
        assert catalog.integrity_ok() and catalog.state_counts() == {"ok": FILES}
        assert scan(catalog).unchanged == FILES  # and carries on where it was


def test_restore_moves_the_wal_aside_with_its_catalog(cat: Path) -> None:
    [backup] = catalog_guard.list_backups(cat)
    code = (
        "import os, sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('DELETE FROM history')\n"
        "os.kill(os.getpid(), 9)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(cat)], check=False)
    done = catalog_guard.restore(cat, backup.path)
    aside = next(p for p in done.moved_aside if p.suffix == ".sqlite")
    assert done.moved_aside == [aside, Path(f"{aside}-wal"), Path(f"{aside}-shm")]
    assert aside.name.startswith("catalog.before-restore-")
    with sqlite3.connect(f"file:{aside}?mode=ro", uri=True) as db:  # still pairs with its -wal
        assert db.execute("SELECT count(*) FROM history").fetchone()[0] == 0
    assert not Path(f"{cat}-wal").exists()
    assert file_count(cat) == FILES


def test_restore_refuses_a_damaged_backup(cat: Path) -> None:
    [backup] = catalog_guard.list_backups(cat)
    damage_page(backup.path, btree_page_near_middle(backup.path))
    before = sha(cat)
    code, _out, err = cli("catalog", "restore", str(backup.path), catalog=cat)
    assert code == 2 and "cannot be used" in err
    assert sha(cat) == before and not [p for p in cat.parent.iterdir() if "restore" in p.name]


def test_restore_through_main_on_a_healthy_catalog(cat: Path) -> None:
    [backup] = catalog_guard.list_backups(cat)
    with Catalog(cat) as catalog:
        catalog.add_root(cat.parent)  # a change after the backup
    code, out, _err = cli("catalog", "restore", str(backup.path), catalog=cat)
    assert code == 0 and "restored" in out
    with Catalog(cat, create=False) as catalog:
        assert len(catalog.roots()) == 1


def test_rotation_keeps_the_newest_k(cat: Path) -> None:
    folder = catalog_guard.backups_dir(cat)
    (folder / "notes.txt").write_text("mine")  # not ours: never touched
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    stale = folder / f".catalog.backup-{dead}-{'0' * 32}.tmp"
    live = folder / f".catalog.backup-{os.getpid()}-{'1' * 32}.tmp"
    stale.write_bytes(b"half a backup")
    live.write_bytes(b"being written")
    start = time.time()
    made = [catalog_guard.back_up(cat, now=start + n) for n in range(3 * catalog_guard.KEEP)]
    kept = catalog_guard.list_backups(cat)
    assert [b.path for b in kept] == [b.path for b in reversed(made[-catalog_guard.KEEP :])]
    assert not stale.exists() and live.exists() and (folder / "notes.txt").exists()
    for b in kept:
        assert catalog_guard.check_catalog(b.path) is None
        with sqlite3.connect(b.path) as db:  # one self-contained file
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    live.unlink()


def test_backups_folder_never_fills(cat: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many opens of a changing catalog, each due a backup: the folder holds K backups and
    the check stamp, nothing more."""
    monkeypatch.setattr(catalog_guard, "BACKUP_EVERY", 0.0)
    for n in range(12):
        with Catalog(cat, create=False) as catalog:
            catalog.mark_root_scanned(catalog.roots()[0].id, float(n))
        time.sleep(1.01 if n == 5 else 0)  # some land in the same second: numbered names
    folder = catalog_guard.backups_dir(cat)
    names = sorted(os.listdir(folder))
    assert len(catalog_guard.list_backups(cat)) == catalog_guard.KEEP
    assert len(names) == catalog_guard.KEEP + 1 and ".catalog.checked" in names


def test_backup_on_open_at_most_daily_and_only_when_changed(cat: Path) -> None:
    [first] = catalog_guard.list_backups(cat)  # an hour old
    for _ in range(3):
        Catalog(cat, create=False).close()
    assert catalog_guard.list_backups(cat) == [first]  # less than a day since
    day_ago = time.time() - catalog_guard.BACKUP_EVERY - 60
    os.rename(first.path, first.path.with_name(
        "catalog-" + time.strftime("%Y%m%d-%H%M%S", time.gmtime(day_ago)) + ".sqlite"))  # fmt: skip
    os.utime(cat, (day_ago - 60, day_ago - 60))
    Catalog(cat, create=False).close()
    assert len(catalog_guard.list_backups(cat)) == 1  # unchanged since: no new copy
    with Catalog(cat, create=False) as catalog:
        catalog.mark_root_scanned(catalog.roots()[0].id, 1.0)
    Catalog(cat, create=False).close()
    newest = catalog_guard.list_backups(cat)
    assert len(newest) == 2 and time.time() - newest[0].taken < 60


def test_catalog_cli_lists_backs_up_and_checks(cat: Path) -> None:
    code, out, _ = cli("catalog", "backup", catalog=cat)
    assert code == 0 and "checked" in out
    code, out, _ = cli("catalog", "backups", "--json", catalog=cat)
    doc = json.loads(out)
    assert code == 0 and len(doc["backups"]) == 2 and doc["keep"] == catalog_guard.KEEP
    assert doc["backups"][0]["taken"] >= doc["backups"][1]["taken"]
    code, out, _ = cli("catalog", "check", "--full", catalog=cat)
    assert code == 0 and out.strip().endswith("ok")
