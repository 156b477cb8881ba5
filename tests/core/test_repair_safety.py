"""Repair and backup verify against a hostile file system: unplugged roots, folders swapped
for symlinks mid-repair, unlistable backup folders. Each started as a failing reproduction."""

from __future__ import annotations

import errno
import os
import shutil

import audiogen
import pytest

from phonovault.core.backups import repair as repair_module
from phonovault.core.backups.repair import RestoreFile, apply, plan
from phonovault.core.backups.targets import add_target, verify_target
from phonovault.core.catalog import Catalog
from phonovault.core.fixity.scan import scan
from phonovault.core.fixity.verify import verify
from phonovault.core.library import walk as walk_module
from phonovault.core.library.roots import add_root


@pytest.fixture
def catalog(tmp_path):
    with Catalog(tmp_path / "c.sqlite") as cat:
        yield cat


@pytest.fixture
def setup(tmp_path, catalog):
    root = tmp_path / "Music"
    paths = audiogen.make_library(root, 4, kinds=["flac16"], per_album=2)
    add_root(catalog, root)
    scan(catalog)
    backup = tmp_path / "Backup"
    shutil.copytree(root, backup)
    target = add_target(catalog, backup, root)
    assert verify_target(catalog, target).all_good
    return root, paths, backup, target


def _missing_then_plan(catalog, paths):
    victim = paths[0]
    victim.unlink()
    verify(catalog)
    p = plan(catalog)
    assert [type(a) for a in p.actions] == [RestoreFile]
    return p


def test_restore_into_unplugged_root_recreates_it(tmp_path, catalog, setup):
    """Root drive unplugged between plan and apply: apply re-creates the root folder tree
    on whatever filesystem is underneath (the system disk) and writes the file there."""
    root, paths, _b, _t = setup
    p = _missing_then_plan(catalog, paths)
    shutil.move(root, tmp_path / "unplugged")  # the drive goes away
    report = apply(catalog, p, quarantine_dir=tmp_path / "q")
    assert not root.exists(), "apply wrote into an offline (absent) library root"
    assert report.outcomes[0].result == "skipped"


def test_plan_and_apply_on_empty_mount_point(tmp_path, catalog, setup):
    """Root unplugged, leaving an empty mount-point folder (offline per root_offline_reason):
    plan still proposes the restore of a file the catalog already had as missing, and apply
    writes into the empty mount point."""
    root, paths, _b, _t = setup
    paths[0].unlink()
    verify(catalog)
    shutil.move(root, tmp_path / "unplugged")
    root.mkdir()  # empty mount point left behind
    p = plan(catalog)
    apply(catalog, p, quarantine_dir=tmp_path / "q")
    assert list(root.iterdir()) == [], "wrote into an empty mount point of an offline root"


def test_folder_swapped_for_symlink_during_rehash_writes_outside(
    tmp_path, catalog, setup, monkeypatch
):
    """TOCTOU: _inside() is checked before the (long) source re-hash; the folder is only
    opened after. A folder swapped for a symlink in between sends the write outside."""
    _root, paths, _b, _t = setup
    p = _missing_then_plan(catalog, paths)
    folder = paths[0].parent
    outside = tmp_path / "outside"
    outside.mkdir()
    real_hash = repair_module.hash_file
    done = []

    def hash_and_swap(path, **kw):
        r = real_hash(path, **kw)
        if not done:
            done.append(1)
            shutil.move(folder, tmp_path / "aside")
            folder.symlink_to(outside, target_is_directory=True)
        return r

    monkeypatch.setattr(repair_module, "hash_file", hash_and_swap)
    apply(catalog, p, quarantine_dir=tmp_path / "q")
    assert list(outside.iterdir()) == [], "repair wrote outside the registered root"


def test_root_replaced_by_symlink_restore_writes_outside(tmp_path, catalog, setup):
    """_inside() realpath()s the *base* too, so a root that is now a symlink elsewhere
    passes the check and the restore lands outside the registered root path."""
    root, paths, _b, _t = setup
    p = _missing_then_plan(catalog, paths)
    elsewhere = tmp_path / "elsewhere"
    shutil.move(root, elsewhere)
    root.symlink_to(elsewhere, target_is_directory=True)
    report = apply(catalog, p, quarantine_dir=tmp_path / "q")
    assert report.outcomes[0].result == "skipped", "restore followed a symlinked root"


def test_unlistable_folder_in_target_is_not_missing(tmp_path, catalog, setup, monkeypatch):
    """verify_target ignores walk.unreadable_dirs / walk.blocked (scan honours them): copies
    in a folder that cannot be listed (EACCES) are reported 'missing', their stored rows are
    replaced, and repair plans to re-copy them."""
    root, paths, backup, target = setup
    album = os.path.join(str(backup), os.fsdecode(paths[0].parent.relative_to(root)))
    real_scandir = os.scandir

    def scandir(p="."):
        if os.fspath(p) == album:
            raise PermissionError(errno.EACCES, "Permission denied", p)
        return real_scandir(p)

    monkeypatch.setattr(walk_module.os, "scandir", scandir)
    rep = verify_target(catalog, target)
    assert "missing" not in rep.summary, rep.summary
