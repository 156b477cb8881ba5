"""A repair plan for chosen library files (``plan(file_ids=...)``), with real files and real
folders: "Restore from backup…" on one file plans and heals that file alone; the refreshes
and copies of other files' backup copies, and what cannot be repaired elsewhere, stay out."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import audiogen
import pytest

from phonovault.core.backups.repair import CopyNew, RefreshCopy, RestoreFile, apply, plan
from phonovault.core.backups.targets import add_target, verify_target
from phonovault.core.catalog import Catalog
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
    """Flip one audio byte, keeping the mtime (bit rot); return the original bytes."""
    original = path.read_bytes()
    st = path.stat()
    data = bytearray(original)
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    return original


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
