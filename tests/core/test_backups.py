"""Backup targets with real files and real folders: every kind of difference between a
library and its copy, incremental re-verification, unplugged drives, coverage and the CLI."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import audiogen
import pytest
from audiogen import flip_audio_byte

from phonovault.core.backups import targets as backups_module
from phonovault.core.backups.coverage import coverage
from phonovault.core.backups.targets import MARKER_NAME, add_target, targets_status, verify_target
from phonovault.core.catalog import Catalog
from phonovault.core.cli.main import main
from phonovault.core.errors import BackupError
from phonovault.core.fixity.scan import scan
from phonovault.core.fixity.verify import accept, verify
from phonovault.core.library.roots import add_root


@pytest.fixture
def catalog(tmp_path: Path):
    with Catalog(tmp_path / "c.sqlite") as cat:
        yield cat


@pytest.fixture
def lib(tmp_path: Path, catalog: Catalog) -> tuple[Path, list[Path]]:
    root = tmp_path / "Music"
    paths = audiogen.make_library(root, 8, kinds=["flac16", "mp3"], per_album=4)
    add_root(catalog, root)
    scan(catalog)
    return root, paths


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def states(report) -> dict[str, str]:
    return {os.path.basename(r.copy): r.state for r in report.results}


def test_clean_backup_matches_and_marker_is_the_only_write(
    tmp_path: Path, catalog: Catalog, lib
) -> None:
    root, paths = lib
    backup = tmp_path / "Backup"
    shutil.copytree(root, backup)
    before = snapshot(backup)
    target = add_target(catalog, backup, root)
    marker = json.loads((backup / MARKER_NAME).read_text())
    assert marker["id"] == target.marker_id and marker["root"] == str(root)
    after_add = snapshot(backup)
    assert set(after_add) - set(before) == {MARKER_NAME}
    report = verify_target(catalog, target)
    assert report.summary == {"match": len(paths)} and report.all_good
    assert report.files_read == len(paths)
    assert snapshot(backup) == after_add  # verify wrote nothing
    assert [online for _, online, _ in targets_status(catalog)] == [True]
    assert catalog.targets()[0].last_verified is not None
    assert add_target(catalog, backup, root) == catalog.targets()[0]  # idempotent


def test_every_kind_of_difference(tmp_path: Path, catalog: Catalog, lib) -> None:
    root, paths = lib
    backup = tmp_path / "Backup"
    shutil.copytree(root, backup)
    target = add_target(catalog, backup, root)
    copy = {p.name: backup / p.relative_to(root) for p in paths}
    names = [p.name for p in paths]  # 8 files: flac, mp3, flac, mp3, ...
    # tags-differ: the copy was re-tagged
    audiogen.tag(copy[names[0]], {"title": "edited on the backup"})
    # stale: the library file got new audio, accepted as its new baseline; backup is old
    new_audio = audiogen.encode(tmp_path / "new.mp3", "mp3", seconds=1.0, seed=9, freq=880)
    paths[1].write_bytes(new_audio.read_bytes())
    assert verify(catalog).summary.get("audio-changed") == 1
    accept(catalog, paths[1])
    # corrupt: one flipped byte in the copy's audio
    flip_audio_byte(copy[names[2]])
    # missing: the copy is gone
    copy[names[3]].unlink()
    # moved: the copy was renamed
    (backup / "Elsewhere").mkdir()
    copy[names[4]].rename(backup / "Elsewhere" / "renamed.flac")
    # only-in-backup: a file the library never had
    extra = audiogen.encode(backup / "Extra" / "bonus.flac", "flac16", seed=5, freq=300)
    before = snapshot(backup)

    report = verify_target(catalog, target)
    got = states(report)
    assert got[names[0]] == "tags-differ"
    assert got[names[1]] == "stale"
    assert got[names[2]] == "corrupt"
    assert got[names[3]] == "missing"
    assert got["renamed.flac"] == "moved"
    assert got[extra.name] == "only-in-backup"
    assert [got[n] for n in names[5:]] == ["match"] * 3
    moved = next(r for r in report.results if r.state == "moved")
    assert moved.path == str(paths[4]) and moved.file_id is not None
    assert not report.all_good
    assert snapshot(backup) == before
    # stored, so coverage and repair can use them
    stored = catalog.copies(target.id)
    assert stored[b"Elsewhere/renamed.flac"].state == "moved"
    assert stored[os.fsencode(paths[3].relative_to(root))].state == "missing"
    assert stored[b"Extra/bonus.flac"].file_id is None


def test_copy_of_a_deleted_original_is_kept_and_linked(
    tmp_path: Path, catalog: Catalog, lib
) -> None:
    root, paths = lib
    backup = tmp_path / "Backup"
    shutil.copytree(root, backup)
    target = add_target(catalog, backup, root)
    # the library file is deleted and its copy sits under another name in the backup
    rel = paths[0].relative_to(root)
    (backup / rel).rename(backup / "rescued.flac")
    paths[0].unlink()
    verify(catalog)
    report = verify_target(catalog, target)
    moved = next(r for r in report.results if r.copy.endswith("rescued.flac"))
    assert moved.state == "moved" and moved.path == str(paths[0])  # recoverable from here


def test_incremental_reverify_reads_nothing_and_full_reads_all(
    tmp_path: Path, catalog: Catalog, lib
) -> None:
    root, paths = lib
    backup = tmp_path / "Backup"
    shutil.copytree(root, backup)
    target = add_target(catalog, backup, root)
    verify_target(catalog, target)
    again = verify_target(catalog, target)
    assert (again.files_read, again.bytes_read) == (0, 0)
    assert again.summary == {"match": len(paths)}
    audiogen.tag(backup / paths[0].relative_to(root), {"title": "changed"})
    one = verify_target(catalog, target)
    assert one.files_read == 1 and one.summary == {"match": len(paths) - 1, "tags-differ": 1}
    full = verify_target(catalog, target, full=True)
    assert full.files_read == len(paths)
    assert full.bytes_read == sum(p.stat().st_size for p in backup.rglob("*.*") if
                                  p.name != MARKER_NAME)  # fmt: skip


@pytest.mark.parametrize("how", ["folder-gone", "empty-mount-point", "other-drive"])
def test_unplugged_target_is_offline_and_nothing_is_judged(
    tmp_path: Path, catalog: Catalog, lib, how: str
) -> None:
    root, _ = lib
    backup = tmp_path / "Backup"
    shutil.copytree(root, backup)
    target = add_target(catalog, backup, root)
    verify_target(catalog, target)
    stored = catalog.copies(target.id)
    backup.rename(tmp_path / "away")
    if how == "empty-mount-point":
        backup.mkdir()
    elif how == "other-drive":
        shutil.copytree(root, backup)
        (backup / MARKER_NAME).write_text(json.dumps({"id": "someone-else"}))
    report = verify_target(catalog, target)
    assert report.offline and report.results == [] and not report.all_good
    assert catalog.copies(target.id) == stored
    [(_, online, reason)] = targets_status(catalog)
    assert not online and reason


def test_target_unplugged_mid_verify_is_offline_and_nothing_missing(
    tmp_path: Path, catalog: Catalog, lib, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = lib
    backup = tmp_path / "Backup"
    shutil.copytree(root, backup)
    target = add_target(catalog, backup, root)
    verify_target(catalog, target)
    stored = catalog.copies(target.id)
    real, calls = backups_module.observe, []

    def observe(path, *args, **kwargs):  # the drive is yanked after the second read
        calls.append(path)
        if len(calls) == 2 and backup.exists():
            backup.rename(tmp_path / "unplugged")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(backups_module, "observe", observe)
    report = verify_target(catalog, target, full=True, workers=1)
    assert report.offline
    assert "missing" not in report.summary and "moved" not in report.summary
    assert catalog.copies(target.id) == stored


def test_add_target_refuses_bad_input(tmp_path: Path, catalog: Catalog, lib) -> None:
    root, _ = lib
    with pytest.raises(BackupError):
        add_target(catalog, root / "Artist 000", root)  # inside the library
    with pytest.raises(BackupError):
        add_target(catalog, tmp_path / "nope", root)
    (tmp_path / "B").mkdir()
    with pytest.raises(BackupError):
        add_target(catalog, tmp_path / "B", tmp_path / "not-a-root")


def test_coverage_per_file_and_album(tmp_path: Path, catalog: Catalog, lib) -> None:
    root, paths = lib
    one, two = tmp_path / "One", tmp_path / "Two"
    shutil.copytree(root, one)
    shutil.copytree(root, two)
    (two / paths[0].relative_to(root)).unlink()  # album 0 has one file with one copy
    flip_audio_byte(two / paths[5].relative_to(root))  # album 1: a corrupt copy counts 0
    audiogen.tag(two / paths[6].relative_to(root), {"title": "x"})  # tags-differ counts
    assert coverage(catalog).under_covered and coverage(catalog).targets == 0
    for folder in (one, two):
        verify_target(catalog, add_target(catalog, folder, root))
    report = coverage(catalog, min_copies=2)
    assert report.targets == 2
    assert sorted(f.path for f in report.under_covered) == sorted([str(paths[0]), str(paths[5])])
    assert report.histogram == {1: 2, 2: 6}
    assert [(a.album, a.min_good, a.under) for a in report.albums] == [
        ("Album 0000", 1, 1), ("Album 0001", 1, 1)]  # fmt: skip
    good = next(f for f in report.files if f.path == str(paths[1]))
    assert good.good == 2 and all(c.age is not None and c.age >= 0 for c in good.copies)
    assert coverage(catalog, min_copies=1).under_covered == []


def run_cli(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err)
    return code, out.getvalue() + err.getvalue()


def test_cli(tmp_path: Path, catalog: Catalog, lib) -> None:
    root, paths = lib
    backup = tmp_path / "Backup"
    shutil.copytree(root, backup)
    cat = ["--catalog", str(tmp_path / "c.sqlite")]
    code, text = run_cli("backups", "add", str(backup), "--root", str(root), *cat)
    assert code == 0 and "added backup" in text
    code, text = run_cli("backups", "verify", *cat)
    assert code == 0 and "8 match" in text
    (backup / paths[2].relative_to(root)).unlink()
    code, text = run_cli("backups", "verify", str(backup), "--json", *cat)
    doc = json.loads(text.split("\n\n")[0] if "\n\n" in text else text)
    assert code == 1 and doc["summary"] == {"match": 7, "missing": 1} and doc["offline"] == []
    assert {r["state"] for r in doc["results"]} == {"match", "missing"}
    assert all({"path", "copy", "state"} <= set(r) for r in doc["results"])
    code, text = run_cli("backups", "coverage", "--min", "1", *cat)
    assert code == 1 and "1 file(s) under 1 good copies" in text
    code, text = run_cli("backups", "coverage", "--json", "--min", "1", *cat)
    assert json.loads(text)["under_covered"][0]["path"] == str(paths[2])
    code, text = run_cli("backups", "list", *cat)
    assert code == 0 and "online" in text
    backup.rename(tmp_path / "away")
    code, text = run_cli("backups", "verify", "--json", *cat)
    assert code == 1 and json.loads(text)["offline"][0]["target"] == str(backup)
    code, text = run_cli("backups", "list", *cat)
    assert code == 1 and "offline" in text
    code, text = run_cli("backups", "verify", str(tmp_path / "nothing"), *cat)
    assert code == 2


def test_a_version_3_catalog_gains_the_backup_tables(tmp_path: Path) -> None:
    import sqlite3

    from phonovault.core.catalog import MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:3]:
        db.executescript(script)
    db.execute("PRAGMA user_version = 3")
    db.close()
    with Catalog(path) as catalog:
        assert catalog.targets() == [] and catalog.copy_states() == []
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 4
    assert "marker_id" in {r[1] for r in db.execute("PRAGMA table_info(targets)")}
    db.close()
