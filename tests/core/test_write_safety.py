"""Repair's writes against a hostile world: a full disk (a real small tmpfs when we may mount
one, else ENOSPC injected at the copy's write seam), a source copy that vanishes or changes
mid-copy, a dying disk (EIO injected at the read seam), a destination edited, replaced,
deleted or made a symlink between plan and apply, a folder swapped for a symlink mid-copy,
and a re-read that fails after the rename.

Every test hashes every file of the library and the backup before and after: the original is
always intact unless the repair replaced it with the good bytes, the journal entry says what
happened (never "done" or ``written`` when nothing was written), no temp file is left, and the
quarantine never holds a partial file."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import audiogen
import pytest
from needs import unavailable

from phonovault.core.backups import repair as repair_module
from phonovault.core.backups import repair_io
from phonovault.core.backups.repair import RepairReport, apply, plan
from phonovault.core.backups.targets import add_target, verify_target
from phonovault.core.catalog import Catalog
from phonovault.core.fixity.reading import FileReadError
from phonovault.core.fixity.scan import scan
from phonovault.core.fixity.verify import verify
from phonovault.core.library.roots import add_root

SMALL_CHUNK = 16 * 1024  # the test files are ~100 KB: several chunks, so faults land mid-copy


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    with Catalog(tmp_path / "c.sqlite") as cat:
        yield cat


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repair_io, "CHUNK", SMALL_CHUNK)


def build(catalog: Catalog, root: Path, backup: Path) -> list[Path]:
    paths = audiogen.make_library(root, 4, kinds=["flac16", "wav"], per_album=2, seconds=0.6)
    shutil.rmtree(root.parent / (root.name + ".templates"))
    add_root(catalog, root)
    scan(catalog)
    shutil.copytree(root, backup)
    target = add_target(catalog, backup, root)
    assert verify_target(catalog, target).all_good
    return paths


@pytest.fixture
def lib(tmp_path: Path, catalog: Catalog) -> tuple[Path, Path, list[Path]]:
    root, backup = tmp_path / "Music", tmp_path / "Backup"
    return root, backup, build(catalog, root, backup)


def flip(path: Path) -> None:
    """Bit rot in the audio, size and mtime kept."""
    audiogen.flip_audio_byte(path)


def hashes(*folders: Path) -> dict[str, str]:
    """Every file's SHA-256 (a symlink: where it points), by path."""
    out = {}
    for folder in folders:
        for p in sorted(folder.rglob("*")):
            if p.is_symlink():
                out[str(p)] = "-> " + os.readlink(p)
            elif p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def leftovers(*folders: Path) -> list[Path]:
    return [p for f in folders for p in f.rglob(".phonovault-*tmp-*")]


def quarantined(q: Path) -> list[Path]:
    return [p for p in q.rglob("*") if p.is_file()] if q.exists() else []


def corrupt_and_plan(catalog: Catalog, victim: Path):
    good = victim.read_bytes()
    flip(victim)
    verify(catalog)
    p = plan(catalog)
    assert [a.dest for a in p.actions] == [str(victim)]
    return p, good


def journal(catalog: Catalog) -> dict:
    return json.loads(catalog.journal()[0].detail or "{}")


def assert_nothing_replaced(
    report: RepairReport, catalog: Catalog, before: dict[str, str], q: Path, *folders: Path
) -> dict:
    """The common ending of a write that must not have happened."""
    outcome = report.outcomes[0]
    assert outcome.result in ("failed", "skipped") and not outcome.written
    assert outcome.quarantined is None and outcome.reason
    assert hashes(*folders) == before, "a file changed although nothing was replaced"
    assert leftovers(*folders, q) == [] and quarantined(q) == []
    detail = journal(catalog)
    assert detail["result"] == outcome.result and detail["written"] is False
    assert detail["reason"] == outcome.reason and detail["quarantined"] is None
    return detail


def on_nth_write(
    monkeypatch: pytest.MonkeyPatch, n: int, fault: Callable[[int, bytes], None]
) -> list[str]:
    """Run ``fault(fd, data)`` instead of the ``n``-th chunk write of a repair; return the
    paths written to, in order (the temp file, then the quarantine copy)."""
    real, calls = repair_io._write_chunk, []

    def write_chunk(fd: int, data: bytes) -> None:
        calls.append(os.readlink(f"/proc/self/fd/{fd}"))
        if len(calls) == n:
            fault(fd, data)
        else:
            real(fd, data)

    monkeypatch.setattr(repair_io, "_write_chunk", write_chunk)
    return calls


def enospc(fd: int, data: bytes) -> None:
    os.write(fd, data[: len(data) // 3])
    raise OSError(errno.ENOSPC, "No space left on device")


# -- a full disk ------------------------------------------------------------------------------


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real 2 MB tmpfs, when we may mount one (root, and a container that allows it)."""
    where = tmp_path / "small-disk"
    where.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        unavailable("mounting a tmpfs needs root (the injected ENOSPC test still runs)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
                          capture_output=True, check=False)  # fmt: skip
    if done.returncode:
        unavailable(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    if not os.path.ismount(where):  # a mount that landed elsewhere (another namespace)
        unavailable("the tmpfs mount did not show up here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path) -> None:
    """Fill the small disk. Bounded: if the mount did not take (the folder is on the real
    disk), stop at 16 MB instead of filling the machine's disk."""
    st = os.statvfs(folder)
    assert st.f_blocks * st.f_frsize <= 16 << 20, "not the small tmpfs: refusing to fill it"
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for _ in range((16 << 20) // 4096):
            os.write(fd, b"\0" * 4096)
        raise AssertionError("16 MB written and the small disk is still not full")
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_real_full_library_disk(tmp_path: Path, catalog: Catalog, tmpfs: Path) -> None:
    root, backup = tmpfs / "Music", tmp_path / "Backup"
    paths = build(catalog, root, backup)
    p, _good = corrupt_and_plan(catalog, paths[0])
    fill(tmpfs)
    before, q = hashes(tmpfs, backup), tmp_path / "q"
    report = apply(catalog, p, quarantine_dir=q)
    detail = assert_nothing_replaced(report, catalog, before, q, tmpfs, backup)
    assert "no space left on device" in detail["reason"].lower()
    assert "temp file" in detail["reason"]
    (tmpfs / "filler").unlink()  # space again: the same plan now heals it
    assert apply(catalog, plan(catalog), quarantine_dir=q).ok


def test_real_full_quarantine_disk(tmp_path: Path, catalog: Catalog, lib, tmpfs: Path) -> None:
    root, backup, paths = lib
    p, good = corrupt_and_plan(catalog, paths[1])
    fill(tmpfs)
    before = hashes(root, backup)
    report = apply(catalog, p, quarantine_dir=tmpfs / "q")
    detail = assert_nothing_replaced(report, catalog, before, tmpfs / "q", root, backup)
    assert "quarantine" in detail["reason"] and "no space" in detail["reason"].lower()
    assert paths[1].read_bytes() != good  # still the damaged file, known as such
    assert {r.state for r in verify(catalog).results} == {"ok", "corrupt"}


def test_injected_enospc_mid_copy(
    tmp_path: Path, catalog: Catalog, lib, monkeypatch: pytest.MonkeyPatch, small_chunks: None
) -> None:
    root, backup, paths = lib
    p, _ = corrupt_and_plan(catalog, paths[0])
    before, q = hashes(root, backup), tmp_path / "q"
    written = on_nth_write(monkeypatch, 3, enospc)
    report = apply(catalog, p, quarantine_dir=q)
    monkeypatch.undo()
    assert os.path.basename(written[-1]).startswith(repair_io.TEMP_PREFIX)
    detail = assert_nothing_replaced(report, catalog, before, q, root, backup)
    assert detail["reason"].startswith("writing the temp file failed: No space left")


def test_injected_enospc_in_quarantine(
    tmp_path: Path, catalog: Catalog, lib, monkeypatch: pytest.MonkeyPatch, small_chunks: None
) -> None:
    root, backup, paths = lib
    p, _ = corrupt_and_plan(catalog, paths[0])
    before, q = hashes(root, backup), tmp_path / "q"
    chunks = -(-paths[0].stat().st_size // SMALL_CHUNK)
    written = on_nth_write(monkeypatch, chunks + 2, enospc)  # the quarantine copy's 2nd chunk
    report = apply(catalog, p, quarantine_dir=q)
    monkeypatch.undo()
    assert os.path.basename(written[-1]).startswith(repair_io.QTEMP_PREFIX)
    detail = assert_nothing_replaced(report, catalog, before, q, root, backup)
    assert "quarantine copy failed: No space left" in detail["reason"]


# -- the source ---------------------------------------------------------------------------------


def test_source_vanishes_mid_copy(
    tmp_path: Path, catalog: Catalog, lib, monkeypatch: pytest.MonkeyPatch, small_chunks: None
) -> None:
    """The copy is deleted while we read it (its drive's folder cleaned up): the bytes already
    open are still read in full, and only a copy whose hash is right is ever used."""
    root, backup, paths = lib
    p, good = corrupt_and_plan(catalog, paths[0])
    source = Path(p.actions[0].source)
    damaged, q = paths[0].read_bytes(), tmp_path / "q"

    def vanish(fd: int, data: bytes) -> None:
        source.unlink()
        repair_io.os.write(fd, data)

    on_nth_write(monkeypatch, 2, vanish)
    report = apply(catalog, p, quarantine_dir=q)
    monkeypatch.undo()
    outcome = report.outcomes[0]
    if outcome.result == "done":  # POSIX: an open file outlives its name
        assert paths[0].read_bytes() == good and outcome.written
        assert [x.read_bytes() for x in quarantined(q)] == [damaged]
    else:
        assert paths[0].read_bytes() != good and quarantined(q) == []
        assert "vanished" in (outcome.reason or "")
    assert leftovers(root, backup, q) == []


def test_source_vanishes_before_copy(
    tmp_path: Path, catalog: Catalog, lib, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _backup, paths = lib
    p, _ = corrupt_and_plan(catalog, paths[0])
    source = Path(p.actions[0].source)
    real_hash = repair_module.hash_file

    def hash_then_vanish(path, **kw):  # the re-hash passes, then the drive goes away
        result = real_hash(path, **kw)
        source.unlink()
        return result

    monkeypatch.setattr(repair_module, "hash_file", hash_then_vanish)
    before, q = hashes(root), tmp_path / "q"
    report = apply(catalog, p, quarantine_dir=q)
    monkeypatch.undo()
    detail = assert_nothing_replaced(report, catalog, before, q, root)
    assert detail["reason"] == "the source cannot be opened: the file vanished"


@pytest.mark.parametrize("how", ["truncated", "rewritten in place", "eio"])
def test_source_changes_mid_copy(
    tmp_path: Path,
    catalog: Catalog,
    lib,
    monkeypatch: pytest.MonkeyPatch,
    small_chunks: None,
    how: str,
) -> None:
    root, _backup, paths = lib
    p, _ = corrupt_and_plan(catalog, paths[0])
    source = Path(p.actions[0].source)
    source_bytes = source.read_bytes()
    q = tmp_path / "q"
    if how == "eio":  # the backup drive starts failing on the third read
        real_read, reads = repair_io._read_chunk, []

        def read_chunk(fd: int, size: int) -> bytes:
            reads.append(fd)
            if len(reads) == 3:
                raise OSError(errno.EIO, "Input/output error")
            return real_read(fd, size)

        monkeypatch.setattr(repair_io, "_read_chunk", read_chunk)
    else:

        def change(fd: int, data: bytes) -> None:
            if how == "truncated":
                os.truncate(source, len(source_bytes) // 2)
            else:
                with open(source, "r+b") as fh:
                    fh.seek(len(source_bytes) - 100)
                    fh.write(b"\xa5" * 50)
            os.write(fd, data)

        on_nth_write(monkeypatch, 2, change)
    before = hashes(root)
    report = apply(catalog, p, quarantine_dir=q)
    monkeypatch.undo()
    detail = assert_nothing_replaced(report, catalog, before, q, root)
    expected = {"truncated": "the source changed while it was copied",
                "rewritten in place": "the source changed while it was copied",
                "eio": "reading the source failed: input/output error"}[how]  # fmt: skip
    assert detail["reason"].startswith(expected)


# -- the destination ------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["edited", "replaced", "deleted", "symlink", "folder symlink"])
def test_destination_changed_between_plan_and_apply(
    tmp_path: Path, catalog: Catalog, lib, how: str
) -> None:
    root, backup, paths = lib
    victim = paths[0]
    p, _good = corrupt_and_plan(catalog, victim)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if how == "edited":
        with open(victim, "ab") as fh:
            fh.write(b"the user's tagger wrote here")
    elif how == "replaced":
        (victim.parent / "new").write_bytes(b"another file")
        os.replace(victim.parent / "new", victim)
    elif how == "deleted":
        victim.unlink()
    elif how == "symlink":
        (elsewhere / "x.flac").write_bytes(b"not music")
        victim.unlink()
        victim.symlink_to(elsewhere / "x.flac")
    else:  # the album folder becomes a symlink to a folder outside the root
        shutil.copytree(victim.parent, elsewhere / "album")
        shutil.rmtree(victim.parent)
        victim.parent.symlink_to(elsewhere / "album", target_is_directory=True)
    before, q = hashes(root, backup, elsewhere), tmp_path / "q"
    report = apply(catalog, p, quarantine_dir=q)
    detail = assert_nothing_replaced(report, catalog, before, q, root, backup, elsewhere)
    assert detail["result"] == "skipped"
    assert "changed since the plan" in detail["reason"] or "refused" in detail["reason"]


@pytest.mark.parametrize("how", ["edited", "fifo"])
def test_destination_changed_during_the_copy(
    tmp_path: Path,
    catalog: Catalog,
    lib,
    monkeypatch: pytest.MonkeyPatch,
    small_chunks: None,
    how: str,
) -> None:
    """Changed after every check before the copy: a tagger writes, or a FIFO is put in its
    place (reading it for the quarantine copy would wait forever for a writer)."""
    root, backup, paths = lib
    victim = paths[0]
    p, _ = corrupt_and_plan(catalog, victim)

    def change(fd: int, data: bytes) -> None:
        if how == "edited":
            with open(victim, "r+b") as fh:  # a tagger writes while the temp file fills
                fh.write(b"ID3")
        else:
            victim.unlink()
            os.mkfifo(victim)
        os.write(fd, data)

    on_nth_write(monkeypatch, 2, change)
    q = tmp_path / "q"
    report = apply(catalog, p, quarantine_dir=q)
    monkeypatch.undo()
    before = hashes(root, backup)  # the change is what must survive
    assert_nothing_replaced(report, catalog, before, q, root, backup)
    if how == "edited":
        assert victim.read_bytes()[:3] == b"ID3"
    else:
        assert stat.S_ISFIFO(victim.lstat().st_mode)
        assert "not a regular file" in (report.outcomes[0].reason or "")


def test_folder_swapped_for_symlink_mid_copy(
    tmp_path: Path, catalog: Catalog, lib, monkeypatch: pytest.MonkeyPatch, small_chunks: None
) -> None:
    """The folder held open is moved out of the root and a symlink put in its place while
    the temp file fills: the last look sees it, nothing lands outside, no temp is left."""
    root, _backup, paths = lib
    victim = paths[0]
    p, _ = corrupt_and_plan(catalog, victim)
    aside, outside = tmp_path / "aside", tmp_path / "outside"
    outside.mkdir()

    def swap(fd: int, data: bytes) -> None:
        os.rename(victim.parent, aside)
        victim.parent.symlink_to(outside, target_is_directory=True)
        os.write(fd, data)

    on_nth_write(monkeypatch, 2, swap)
    q = tmp_path / "q"
    report = apply(catalog, p, quarantine_dir=q)
    monkeypatch.undo()
    outcome = report.outcomes[0]
    assert outcome.result == "skipped" and "moved while it was being repaired" in (
        outcome.reason or ""
    )
    assert list(outside.iterdir()) == [] and leftovers(aside, root, q) == []
    assert quarantined(q) == [] and journal(catalog)["written"] is False


def test_read_failure_while_quarantining_leaves_no_partial_file(
    tmp_path: Path, catalog: Catalog, lib, monkeypatch: pytest.MonkeyPatch, small_chunks: None
) -> None:
    """Known gap, fixed: EIO halfway through copying the damaged file into quarantine used
    to leave a partial file there under the file's own name."""
    root, backup, paths = lib
    victim = paths[0]
    p, _ = corrupt_and_plan(catalog, victim)
    real_read, fails = repair_io._read_chunk, []

    def read_chunk(fd: int, size: int) -> bytes:
        if os.readlink(f"/proc/self/fd/{fd}") == str(victim):
            fails.append(fd)
            if len(fails) == 3:
                raise OSError(errno.EIO, "Input/output error")
        return real_read(fd, size)

    monkeypatch.setattr(repair_io, "_read_chunk", read_chunk)
    before, q = hashes(root, backup), tmp_path / "q"
    report = apply(catalog, p, quarantine_dir=q)
    monkeypatch.undo()
    detail = assert_nothing_replaced(report, catalog, before, q, root, backup)
    assert detail["reason"].startswith("the replaced bytes could not be kept") or detail[
        "reason"
    ].startswith("reading the file to be replaced failed: input/output error")
    assert list(q.rglob("*")) == [] or all(x.is_dir() for x in q.rglob("*"))


def test_failed_reread_after_rename_is_journaled_as_written(
    tmp_path: Path, catalog: Catalog, lib, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Known gap, fixed: the bytes were replaced but the re-read afterwards failed; the
    journal used to say "failed". It now says: written, unverified, and where the old bytes
    are."""
    root, _backup, paths = lib
    victim = paths[0]
    p, good = corrupt_and_plan(catalog, victim)
    damaged = victim.read_bytes()

    def observe_fails(path: str, *args: object, **kw: object) -> None:
        raise FileReadError(path, "input/output error while reading", errno.EIO)

    monkeypatch.setattr(repair_module, "observe", observe_fails)
    q = tmp_path / "q"
    report = apply(catalog, p, quarantine_dir=q)
    monkeypatch.undo()
    outcome = report.outcomes[0]
    assert outcome.result == "unverified" and outcome.written and not report.ok
    assert "written, but re-reading it afterwards failed" in (outcome.reason or "")
    assert victim.read_bytes() == good  # the write itself happened
    assert Path(outcome.quarantined or "").read_bytes() == damaged
    detail = journal(catalog)
    assert detail["result"] == "unverified" and detail["written"] is True
    assert detail["quarantined"] == outcome.quarantined
    assert leftovers(root, q) == []
    assert {r.state for r in verify(catalog).results} == {"ok"}  # the next verify sees it


def test_already_healed_is_not_written_again(tmp_path: Path, catalog: Catalog, lib) -> None:
    """A run killed after its rename (simulated: the good bytes put back by hand, the
    catalog not told): the next apply writes nothing and journals what it found."""
    _root, _backup, paths = lib
    victim = paths[0]
    _p, good = corrupt_and_plan(catalog, victim)
    victim.write_bytes(good)
    q = tmp_path / "q"
    report = apply(catalog, plan(catalog), quarantine_dir=q)
    outcome = report.outcomes[0]
    assert outcome.result == "done" and not outcome.written and report.ok
    assert "already had the good bytes" in (outcome.reason or "")
    assert quarantined(q) == [] and journal(catalog)["written"] is False
    assert plan(catalog).actions == []  # the catalog knows it is ok now


def test_leftovers_of_killed_runs_are_removed_and_journaled(
    tmp_path: Path, catalog: Catalog, lib
) -> None:
    _root, _backup, paths = lib
    p, good = corrupt_and_plan(catalog, paths[0])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        q = tmp_path / "q"
        q.mkdir()
        stale = [paths[0].parent / f".phonovault-tmp-{dead}-{'a' * 32}",
                 paths[0].parent / f".phonovault-tmp-{'b' * 32}",  # an older version's
                 q / f".phonovault-qtmp-{dead}-{'c' * 32}"]  # fmt: skip
        live = paths[0].parent / f".phonovault-tmp-{sleeper.pid}-{'d' * 32}"
        for f in [*stale, live]:
            f.write_bytes(b"half a file")
        report = apply(catalog, p, quarantine_dir=q)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert report.ok and paths[0].read_bytes() == good
    assert sorted(report.cleaned) == sorted(map(str, stale)) and report.in_use == [str(live)]
    assert not any(f.exists() for f in stale) and live.exists()
    removed = [json.loads(e.detail or "{}")["removed"] for e in catalog.journal()
               if e.action == "cleanup"]  # fmt: skip
    assert sorted(removed) == sorted(map(str, stale))


def test_file_appearing_at_a_missing_destination_is_never_overwritten(
    tmp_path: Path, catalog: Catalog, lib, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing file is being restored when something else puts a file there, after the
    last look (injected: in the last look itself): the restore never replaces it."""
    root, backup, paths = lib
    victim = paths[1]
    victim.unlink()
    verify(catalog)
    p = plan(catalog)
    real = repair_io.Folder.still_inside

    def still_inside(self: repair_io.Folder) -> bool:
        victim.write_bytes(b"the user's own new file")
        return real(self)

    monkeypatch.setattr(repair_io.Folder, "still_inside", still_inside)
    q = tmp_path / "q"
    report = apply(catalog, p, quarantine_dir=q)
    monkeypatch.undo()
    outcome = report.outcomes[0]
    assert outcome.result == "skipped" and "a file appeared" in (outcome.reason or "")
    assert victim.read_bytes() == b"the user's own new file"
    assert leftovers(root, backup, q) == [] and journal(catalog)["written"] is False
