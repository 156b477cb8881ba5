"""Repair with real files and real folders: a corrupted library file healed from a good
copy, a bad copy refreshed, failing writes leaving the original untouched, a source that
changed after the plan never used, and ``repair apply`` without ``--yes`` writing nothing."""

from __future__ import annotations

import dataclasses
import errno
import io
import json
import os
import shutil
from pathlib import Path

import audiogen
import pytest
from decode_critical import critical_structures

from phonovault.core.backups import repair_io
from phonovault.core.backups.repair import CopyNew, RefreshCopy, RestoreFile, apply, plan
from phonovault.core.backups.targets import add_target, verify_target
from phonovault.core.catalog import Catalog
from phonovault.core.cli.main import main
from phonovault.core.fixity.scan import scan
from phonovault.core.fixity.verify import verify
from phonovault.core.library.roots import add_root


@pytest.fixture
def catalog(tmp_path: Path):
    with Catalog(tmp_path / "c.sqlite") as cat:
        yield cat


@pytest.fixture
def setup(tmp_path: Path, catalog: Catalog):
    root = tmp_path / "Music"
    paths = audiogen.make_library(root, 4, kinds=["flac16", "mp3"], per_album=2)
    add_root(catalog, root)
    scan(catalog)
    backup = tmp_path / "Backup"
    shutil.copytree(root, backup)
    target = add_target(catalog, backup, root)
    assert verify_target(catalog, target).all_good
    return root, paths, backup, target


def flip(path: Path) -> bytes:
    """Flip one audio byte, keeping the mtime; return the original bytes."""
    original = path.read_bytes()
    st = path.stat()
    data = bytearray(original)
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    return original


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def states(report) -> dict[str, str]:
    return {os.path.basename(r.path): r.state for r in report.results}


def test_restore_corrupt_library_file(tmp_path: Path, catalog: Catalog, setup) -> None:
    root, paths, backup, _target = setup
    victim = paths[0]
    original = flip(victim)
    damaged = victim.read_bytes()
    assert states(verify(catalog))[victim.name] == "corrupt"
    before_backup = tree(backup)
    p = plan(catalog)
    assert [type(a) for a in p.actions] == [RestoreFile] and not p.unrepairable
    assert p.actions[0].dest == str(victim) and "corrupt" in p.actions[0].why
    assert tree(backup) == before_backup and victim.read_bytes() == damaged  # plan wrote nothing
    q = tmp_path / "quarantine"
    report = apply(catalog, p, quarantine_dir=q)
    assert report.ok and report.count("done") == 1
    assert victim.read_bytes() == original
    assert states(verify(catalog))[victim.name] == "ok"
    assert all(s == "ok" for s in states(verify(catalog)).values())
    kept = Path(report.outcomes[0].quarantined or "")
    assert kept.is_relative_to(q) and kept.read_bytes() == damaged
    assert not list(victim.parent.glob(".phonovault-tmp-*"))
    entry = catalog.journal()[0]
    assert entry.action == "restore" and entry.path == str(victim)
    detail = json.loads(entry.detail or "{}")
    assert detail["result"] == "done" and detail["quarantined"] == str(kept)
    assert detail["source"] == str(backup / victim.relative_to(root))
    assert tree(backup) == before_backup  # the source copy was only read
    assert plan(catalog).actions == []


@pytest.mark.parametrize(
    ("index", "structure"),
    [(0, "flac:STREAMINFO sample rate"), (0, "flac:STREAMINFO md5"), (1, "mp3:frame header"),
     (1, "mp3:Xing/LAME")],
)  # fmt: skip
def test_damage_in_the_codec_setup_is_offered_a_restore(
    tmp_path: Path, catalog: Catalog, setup, index: int, structure: str
) -> None:
    """A flipped byte a decoder needs but that is not audio (the sample rate, the MD5 of
    the samples, a frame header, the gapless header) is corrupt, and the copy with the last
    good file hash heals it."""
    _root, paths, _backup, _target = setup
    victim = paths[index]
    original = victim.read_bytes()
    st = victim.stat()
    data = bytearray(original)
    data[critical_structures(victim)[structure]] ^= 0x10
    victim.write_bytes(bytes(data))
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert states(verify(catalog))[victim.name] == "corrupt"
    p = plan(catalog)
    assert [(type(a), a.dest) for a in p.actions] == [(RestoreFile, str(victim))]
    assert apply(catalog, p, quarantine_dir=tmp_path / "q").ok
    assert victim.read_bytes() == original
    assert set(states(verify(catalog)).values()) == {"ok"}


def test_decode_findings_are_judged_again_after_a_restore(
    tmp_path: Path, catalog: Catalog, setup
) -> None:
    """The damaged bytes' decode findings do not outlive the damage: the restore judges
    the restored file again."""
    _root, paths, _backup, _target = setup
    victim = paths[0]  # FLAC: its frames carry CRCs, so a flipped byte fails the decode
    flip(victim)
    report = verify(catalog, decode=True)
    assert states(report)[victim.name] == "corrupt"
    file_id = next(r.file_id for r in report.results if r.path == str(victim))
    assert file_id is not None
    kinds = {f.kind for f in catalog.findings_for_file(file_id)}
    assert kinds & {"decode-error", "md5-mismatch"}, kinds
    assert apply(catalog, plan(catalog), quarantine_dir=tmp_path / "q").ok
    kinds = {f.kind for f in catalog.findings_for_file(file_id)}
    assert not kinds & {"decode-error", "md5-mismatch", "corrupt"}, kinds


def test_restore_missing_library_file(tmp_path: Path, catalog: Catalog, setup) -> None:
    _root, paths, _backup, _target = setup
    original = paths[1].read_bytes()
    paths[1].unlink()
    assert states(verify(catalog))[paths[1].name] == "missing"
    report = apply(catalog, plan(catalog), quarantine_dir=tmp_path / "q")
    assert report.ok and paths[1].read_bytes() == original
    assert report.outcomes[0].quarantined is None
    assert states(verify(catalog))[paths[1].name] == "ok"


def test_refresh_corrupt_copy(tmp_path: Path, catalog: Catalog, setup) -> None:
    root, paths, backup, target = setup
    copy = backup / paths[2].relative_to(root)
    flip(copy)
    damaged = copy.read_bytes()
    assert "corrupt" in verify_target(catalog, target, full=True).summary
    p = plan(catalog)
    assert [type(a) for a in p.actions] == [RefreshCopy]
    report = apply(catalog, p, quarantine_dir=tmp_path / "q")
    assert report.ok
    assert copy.read_bytes() == paths[2].read_bytes()
    assert copy.stat().st_mtime_ns == paths[2].stat().st_mtime_ns
    assert Path(report.outcomes[0].quarantined or "").read_bytes() == damaged
    assert catalog.copies(target.id)[copy.relative_to(backup).as_posix().encode()].state == "match"
    assert verify_target(catalog, target, full=True).all_good
    assert catalog.journal()[0].action == "refresh"


def test_copy_new_and_unrepairable(tmp_path: Path, catalog: Catalog, setup) -> None:
    root, paths, backup, target = setup
    new = audiogen.encode(root / "New" / "new.flac", "flac16", seed=7, freq=500)
    scan(catalog)
    assert plan(catalog).actions == []
    p = plan(catalog, include_new=True)
    assert [a.kind for a in p.actions] == ["copy"]
    assert apply(catalog, p, quarantine_dir=tmp_path / "q").ok
    assert (backup / "New" / "new.flac").read_bytes() == new.read_bytes()
    # a damaged library file whose copy is damaged too cannot be restored
    flip(paths[3])
    flip(backup / paths[3].relative_to(root))
    verify(catalog)
    verify_target(catalog, target, full=True)  # same stat: only a full read sees it
    p = plan(catalog)
    assert p.actions == [] and [u.path for u in p.unrepairable] == [str(paths[3])]


@pytest.mark.parametrize("how", ["enospc-temp-write", "eacces-replace"])
def test_failing_write_leaves_original_untouched(
    tmp_path: Path, catalog: Catalog, setup, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    _root, paths, _backup, _target = setup
    victim = paths[0]
    flip(victim)
    damaged = victim.read_bytes()
    verify(catalog)
    p = plan(catalog)
    real_write = repair_io._write_chunk

    if how == "enospc-temp-write":

        def write_chunk(fd: int, data: bytes) -> None:  # part of the temp file, then full
            real_write(fd, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(repair_io, "_write_chunk", write_chunk)
    else:

        def rename(self: repair_io.Folder, src: str, dst: str) -> None:
            raise OSError(errno.EACCES, "Permission denied")

        monkeypatch.setattr(repair_io.Folder, "rename", rename)
    report = apply(catalog, p, quarantine_dir=tmp_path / "q")
    monkeypatch.undo()
    assert not report.ok and report.outcomes[0].result == "failed"
    assert victim.read_bytes() == damaged
    assert not [f for f in os.listdir(victim.parent) if f.startswith(".phonovault-tmp-")]
    detail = json.loads(catalog.journal()[0].detail or "{}")
    assert detail["result"] == "failed" and detail["reason"]
    assert states(verify(catalog))[victim.name] == "corrupt"  # still known to be damaged


def test_source_changed_after_plan_is_never_used(tmp_path: Path, catalog: Catalog, setup) -> None:
    root, paths, backup, _target = setup
    victim = paths[0]
    flip(victim)
    damaged = victim.read_bytes()
    verify(catalog)
    p = plan(catalog)
    flip(backup / victim.relative_to(root))  # the copy goes bad after the plan
    report = apply(catalog, p, quarantine_dir=tmp_path / "q")
    assert report.outcomes[0].result == "skipped"
    assert "re-hash" in (report.outcomes[0].reason or "")
    assert victim.read_bytes() == damaged and not (tmp_path / "q").exists()
    # and a destination that changed since the plan is skipped too
    p = plan(catalog)
    victim.write_bytes(b"changed")
    report = apply(catalog, p, quarantine_dir=tmp_path / "q")
    assert victim.read_bytes() == b"changed"


def test_destination_outside_base_is_refused(tmp_path: Path, catalog: Catalog, setup) -> None:
    root, paths, _backup, _target = setup
    flip(paths[0])
    verify(catalog)
    a = plan(catalog).actions[0]
    outside = tmp_path / "elsewhere.flac"
    forged = plan(catalog)
    forged.actions[0] = dataclasses.replace(a, dest=str(root / ".." / "elsewhere.flac"))
    report = apply(catalog, forged, quarantine_dir=tmp_path / "q")
    assert report.outcomes[0].result == "skipped" and not outside.exists()


def test_cli_apply_needs_yes(tmp_path: Path, catalog: Catalog, setup) -> None:
    root, paths, backup, _target = setup
    flip(paths[0])
    verify(catalog)
    before_lib, before_backup = tree(root), tree(backup)
    cat = ["--catalog", str(tmp_path / "c.sqlite")]
    out, err = io.StringIO(), io.StringIO()
    assert main(["repair", "plan", "--json", *cat], stdout=out, stderr=err) == 0
    assert [a["kind"] for a in json.loads(out.getvalue())["actions"]] == ["restore"]
    out, err = io.StringIO(), io.StringIO()
    assert main(["repair", "apply", *cat], stdout=out, stderr=err) == 1
    assert "add --yes to write these 1 files" in err.getvalue()
    assert tree(root) == before_lib and tree(backup) == before_backup
    q = str(tmp_path / "q")
    out, err = io.StringIO(), io.StringIO()
    code = main(["repair", "apply", "--yes", "--quarantine", q, *cat], stdout=out, stderr=err)
    assert code == 0 and "1 done" in out.getvalue()
    assert tree(backup) == before_backup and tree(root) != before_lib


# -- a plan for chosen library files (Restore from backup... on one file) ------------------


def ids_by_path(catalog: Catalog) -> dict[str, int]:
    return {r.path: r.id for r in catalog.library_rows()}


def test_a_plan_for_one_file_restores_only_that_file(
    tmp_path: Path, catalog: Catalog, setup
) -> None:
    _root, paths, _backup, _target = setup
    chosen, other = paths[0], paths[1]
    good = flip(chosen)
    flip(other)
    other_damaged = other.read_bytes()
    report = verify(catalog)
    assert {r.state for r in report.results if r.path in (str(chosen), str(other))} == {"corrupt"}
    ids = ids_by_path(catalog)
    assert sorted(a.dest for a in plan(catalog).actions) == sorted([str(chosen), str(other)])
    p = plan(catalog, file_ids=[ids[str(chosen)]])
    assert [(type(a), a.dest) for a in p.actions] == [(RestoreFile, str(chosen))]
    assert p.unrepairable == []
    result = apply(catalog, p, quarantine_dir=tmp_path / "q")
    assert result.ok and result.count("done") == 1
    assert chosen.read_bytes() == good
    assert other.read_bytes() == other_damaged  # not chosen: left alone
    states = {r.path: r.state for r in verify(catalog).results}
    assert states[str(chosen)] == "ok" and states[str(other)] == "corrupt"
    assert [a.dest for a in plan(catalog).actions] == [str(other)]


def test_refreshes_and_new_copies_follow_the_chosen_files(
    tmp_path: Path, catalog: Catalog, setup
) -> None:
    root, paths, backup, target = setup
    bad_copies = [backup / p.relative_to(root) for p in paths[2:4]]
    for copy in bad_copies:
        flip(copy)
    assert verify_target(catalog, target, full=True).summary.get("corrupt") == 2
    new = audiogen.encode(root / "New" / "new.flac", "flac16", seed=7, freq=500)
    scan(catalog)  # after the verify: the backup has no copy of it, not even a missing one
    ids = ids_by_path(catalog)
    p = plan(catalog, file_ids=[ids[str(paths[2])]], include_new=True)
    assert [(type(a), a.dest) for a in p.actions] == [(RefreshCopy, str(bad_copies[0]))]
    p = plan(catalog, file_ids=[ids[str(new)]], include_new=True)
    assert [(type(a), a.dest) for a in p.actions] == [(CopyNew, str(backup / "New/new.flac"))]
    assert plan(catalog, file_ids=[]).actions == []
    p = plan(catalog, file_ids=[ids[str(paths[3])]])
    assert apply(catalog, p, quarantine_dir=tmp_path / "q").ok
    assert bad_copies[1].read_bytes() == paths[3].read_bytes()
    assert bad_copies[0].read_bytes() != paths[2].read_bytes()  # not chosen: still bad
    assert not (backup / "New").exists()


def test_what_cannot_be_repaired_is_reported_for_the_chosen_files_only(
    catalog: Catalog, setup
) -> None:
    root, paths, backup, target = setup
    for p in paths[:2]:  # both damaged, and so are their copies
        flip(p)
        flip(backup / p.relative_to(root))
    verify(catalog)
    verify_target(catalog, target, full=True)
    ids = ids_by_path(catalog)
    p = plan(catalog, file_ids=[ids[str(paths[1])]])
    assert p.actions == [] and [u.path for u in p.unrepairable] == [str(paths[1])]
    assert "no verified copy" in p.unrepairable[0].reason
    assert p.unrepairable[0].file_id == ids[str(paths[1])]
