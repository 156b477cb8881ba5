"""Evidence of a write on real drive file systems (DESIGN.md, "Evidence of a write").

FAT and exFAT renumber inodes on every mount, keep no ctime and store local-time mtimes
(FAT's in 2-second steps) that shift by whole hours with the machine's time zone. The drives
here are real ones, under FUSE (tests/fusefs.py): a remount of an unchanged drive must be a
stat walk, rot on it must read ``corrupt``, an unplugged drive ``offline``. ext4 (fuse2fs) is
the control whose inodes are trusted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fusefs import Drive, drive

from phonovault.core.backups.targets import add_target, verify_target
from phonovault.core.catalog import Catalog
from phonovault.core.fixity.filesystems import (
    DEFAULT_TRAITS,
    FsTraits,
    looks_renumbered,
    parse_mountinfo,
    traits_for,
    traits_of_type,
)
from phonovault.core.fixity.scan import scan
from phonovault.core.fixity.verify import verify
from phonovault.core.library.roots import add_root

SECOND = 1_000_000_000
HOUR = 3600 * SECOND
KINDS = ["flac16", "mp3", "vorbis", "opus", "aac", "wav"]


# -- what each file system is worth, from its name ------------------------------------------


@pytest.mark.parametrize(
    ("name", "options", "inode", "ctime", "step"),
    [
        ("ext4", "rw,relatime", True, True, 1),
        ("vfat", "rw", False, False, 2 * SECOND),
        ("msdos", "rw", False, False, 2 * SECOND),
        ("fuse.fusefat", "rw", False, False, 2 * SECOND),
        ("exfat", "rw", False, False, 10_000_000),
        ("fuseblk.exfat", "rw", False, False, 10_000_000),
        ("cifs", "rw,vers=3.0", True, True, 1),
        ("cifs", "rw,vers=3.0,noserverino", False, True, 1),
        ("fuse.sshfs", "rw", False, False, SECOND),
        ("fuse.ext4", "rw", True, True, 1),
        ("fuse.some-cloud-drive", "rw", False, False, 1),  # unknown FUSE: nothing trusted
        ("btrfs", "rw", True, True, 1),
    ],
)
def test_traits_of_each_file_system(
    name: str, options: str, inode: bool, ctime: bool, step: int
) -> None:
    t = traits_of_type(name, options)
    assert (t.inode_stable, t.ctime_kept, t.mtime_step_ns) == (inode, ctime, step)
    assert t.name == name


def test_fat_mtimes_match_within_their_step_and_across_whole_hours() -> None:
    fat = traits_of_type("vfat")
    t = 1_700_000_000 * SECOND
    assert fat.same_mtime(t, t + SECOND)  # 2-second granularity
    assert not fat.same_mtime(t, t + 3 * SECOND)
    assert fat.same_mtime(t, t + HOUR)  # daylight saving
    assert fat.same_mtime(t, t - 5 * HOUR)  # read in another time zone
    assert fat.same_mtime(t, t + HOUR + SECOND)
    assert not fat.same_mtime(t, t + HOUR + 30 * SECOND)  # a real write, an hour later
    assert not fat.same_mtime(t, t + 30 * HOUR)  # no zone is 30 hours away
    ext4 = DEFAULT_TRAITS
    assert not ext4.same_mtime(t, t + 1) and not ext4.same_mtime(t, t + HOUR)


def test_a_whole_root_renumbered_is_a_remount_a_few_files_are_not() -> None:
    assert looks_renumbered([(i, i + 1000) for i in range(20)])
    assert not looks_renumbered([(i, i + 1000) if i < 3 else (i, i) for i in range(20)])
    assert not looks_renumbered([(1, 2), (3, 4)])  # too few to say


def test_mountinfo_is_parsed_with_escaped_mount_points() -> None:
    text = (
        "36 35 98:0 / /mnt/my\\040drive rw,noatime master:1 - vfat /dev/sdb1 rw,fmask=0022\n"
        "37 35 0:40 / /media/u/NAS rw - cifs //nas/music rw,vers=3.0,noserverino\n"
        "38 35 0:41 / /media/x rw shared:7 - fuseblk /dev/loop0 rw,user_id=0\n"
    )
    rows = parse_mountinfo(text)
    assert [(r[0], r[1]) for r in rows] == [
        ("/mnt/my drive", "vfat"),
        ("/media/u/NAS", "cifs"),
        ("/media/x", "fuseblk"),
    ]
    assert "noserverino" in rows[1][2] or "noserverino" in rows[1][3]


# -- real drives ------------------------------------------------------------------------------


@pytest.fixture(params=["fat", "exfat", "ext4"])
def mounted(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Drive]:
    d = drive(request.param, tmp_path)
    try:
        yield d
    finally:
        d.unmount()


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    with Catalog(tmp_path / "c.sqlite") as cat:
        yield cat


def test_each_drive_is_told_apart(mounted: Drive) -> None:
    traits: FsTraits = traits_for(mounted.mountpoint)
    assert traits.inode_stable == (mounted.kind == "ext4"), traits
    assert traits.ctime_kept == (mounted.kind == "ext4"), traits


def _fill(mounted: Drive, make_file, folder: str = "Music") -> list[Path]:
    root = mounted.mountpoint / folder
    return [make_file(k, f"Album/{i:02d} {k}{Path(make_file(k).name).suffix}", root=root)
            for i, k in enumerate(KINDS)]  # fmt: skip


def test_library_on_a_drive_remount_rot_and_unplug(
    mounted: Drive, catalog: Catalog, make_file
) -> None:
    files = _fill(mounted, make_file)
    root = mounted.mountpoint / "Music"
    add_root(catalog, root)
    first = scan(catalog)
    assert first.indexed == len(KINDS) and not first.failed

    # Unplugged: offline, nothing judged missing.
    mounted.unmount()
    report = verify(catalog)
    assert {r.state for r in report.results} == {"offline"}
    assert scan(catalog).missing == 0

    # Plugged back in, on a machine an hour and more away (FAT keeps local time): a stat
    # walk, no file re-read.
    mounted.mount(tz="EST5")
    again = scan(catalog)
    assert (again.updated, again.indexed, again.bytes_read) == (0, 0, 0), again
    assert again.unchanged == len(KINDS)
    assert {r.state for r in verify(catalog).results} == {"ok"}

    # Rot while unplugged: one byte of the audio, no metadata touched. Verify calls it
    # corrupt (not an edit to accept), and the next scan does not hide it.
    victim = files[0]
    content = victim.read_bytes()
    mounted.unmount()
    mounted.rot(content, len(content) * 3 // 4)
    mounted.mount(tz="UTC")
    assert victim.read_bytes() != content
    states = {Path(r.path).name: r.state for r in verify(catalog).results}
    assert states[victim.name] == "corrupt", states
    assert sorted(set(states.values())) == ["corrupt", "ok"]
    scan(catalog)
    assert {Path(r.path).name: r.state for r in verify(catalog).results}[victim.name] == "corrupt"


def test_backup_on_a_drive_is_not_reread_after_a_remount(
    mounted: Drive, catalog: Catalog, make_file, tmp_path: Path
) -> None:
    lib = tmp_path / "Music"
    originals = [make_file(k, f"Album/{i:02d} {k}{Path(make_file(k).name).suffix}", root=lib)
                 for i, k in enumerate(KINDS)]  # fmt: skip
    add_root(catalog, lib)
    scan(catalog)
    backup = mounted.mountpoint / "Backup"
    for p in originals:
        dest = backup / p.relative_to(lib)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(p.read_bytes())
    target = add_target(catalog, backup, lib)
    first = verify_target(catalog, target)
    assert first.summary == {"match": len(KINDS)} and first.files_read == len(KINDS)

    mounted.unmount()
    assert verify_target(catalog, target).offline

    mounted.mount(tz="CET-1CEST,M3.5.0,M10.5.0/3")
    again = verify_target(catalog, target)
    assert again.summary == {"match": len(KINDS)}
    assert (again.files_read, again.bytes_read) == (0, 0)

    copy = backup / originals[1].relative_to(lib)
    content = copy.read_bytes()
    mounted.unmount()
    mounted.rot(content, len(content) * 3 // 4)
    mounted.mount()
    full = verify_target(catalog, target, full=True)
    got = {Path(r.path).name if r.path else "": r.state for r in full.results}
    assert full.summary == {"match": len(KINDS) - 1, "corrupt": 1}, got


def test_rot_in_the_tag_area_is_corrupt_where_ctime_proves_no_write(
    mounted: Drive, catalog: Catalog, make_file
) -> None:
    """A flipped byte inside the title, made in the unplugged image: no program wrote, so
    on ext4, whose ctime every write moves, it is damage naming the field; FAT and exFAT
    keep no ctime, so it could be a timestamp-keeping tagger and is not called damage."""
    [victim] = _fill(mounted, make_file)[:1]
    root = mounted.mountpoint / "Music"
    add_root(catalog, root)
    scan(catalog)
    content = victim.read_bytes()
    at = content.index(b"T flac16") + 3
    mounted.unmount()
    mounted.rot(content, at)
    mounted.mount()
    result = next(r for r in verify(catalog).results if r.path == str(victim))
    if mounted.kind == "ext4":
        assert result.state == "corrupt", (result.state, result.detail)
        assert "title" in (result.detail or ""), result.detail
    else:
        assert result.state == "tags-changed", (result.state, result.detail)
    assert any(c.field == "title" for c in result.changes), result.changes
