"""Cases a real library meets: drives unplugged mid-run, files vanishing, swapped names,
duplicates, reorganisations, locked catalogs. Each started as a failing reproduction."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import mutagen
import pytest

from phonovault.core.catalog import Catalog
from phonovault.core.cli.main import main
from phonovault.core.errors import CatalogError
from phonovault.core.fixity import scan as scan_module
from phonovault.core.fixity import verify as verify_module
from phonovault.core.fixity.scan import ScanOptions, scan
from phonovault.core.fixity.verify import verify
from phonovault.core.jobs import CancelToken
from phonovault.core.library.roots import add_root


@pytest.fixture
def catalog(tmp_path: Path):
    with Catalog(tmp_path / "c.sqlite") as cat:
        yield cat


def distinct(make_file, root: Path, n: int, kind: str = "flac16") -> list[Path]:
    """n copies of one template, each made distinct by a trailing byte (ID3v1-free tail)."""
    paths = []
    for i in range(n):
        p = make_file(kind, f"A/{i}.flac", root=root)
        with open(p, "ab") as fh:
            fh.write(bytes([i]))
        paths.append(p)
    return paths


def test_drive_unplugged_during_verify_is_offline_not_unreadable(
    tmp_path: Path, make_file, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "Music"
    distinct(make_file, root, 10)
    add_root(catalog, root)
    scan(catalog)
    real, calls = verify_module.observe, []

    def observe(path, *args, **kwargs):  # the drive is yanked after the third read
        calls.append(path)
        if len(calls) == 3 and root.exists():
            root.rename(tmp_path / "unplugged")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(verify_module, "observe", observe)
    report = verify(catalog, workers=1)
    assert report.offline_roots and report.offline_roots[0][0] == str(root)
    assert set(report.summary) <= {"ok", "offline"} and report.summary.get("offline", 0) >= 7
    assert catalog.state_counts() == {"ok": 10}


@pytest.mark.parametrize("readers", ["threads", "processes"])
def test_file_vanishing_between_walk_and_read_is_not_a_finding(
    tmp_path: Path, make_file, catalog: Catalog, monkeypatch: pytest.MonkeyPatch, readers: str
) -> None:
    root = tmp_path / "Music"
    make_file("flac16", "A/keep.flac", root=root)
    temp = make_file("mp3", "A/.tagger-tmp.mp3", root=root)
    add_root(catalog, root)
    real = scan_module.walk_root

    def walk_then_vanish(*args, **kwargs):
        result = real(*args, **kwargs)
        temp.unlink()
        return result

    monkeypatch.setattr(scan_module, "walk_root", walk_then_vanish)
    first = scan(catalog, options=ScanOptions(readers=readers))
    monkeypatch.setattr(scan_module, "walk_root", real)
    assert first.failed == [] and first.indexed == 1
    assert scan(catalog).missing == 0
    assert verify(catalog).summary == {"ok": 1}


def test_file_deleted_during_verify_is_missing_not_unreadable(
    tmp_path: Path, make_file, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "Music"
    p = make_file("flac16", "A/1.flac", root=root)
    make_file("mp3", "A/2.mp3", root=root)
    add_root(catalog, root)
    scan(catalog)
    real = verify_module.observe

    def delete_then_observe(path, *args, **kwargs):
        p.unlink(missing_ok=True)  # the reader threads race to it; one of them wins
        return real(path, *args, **kwargs)

    monkeypatch.setattr(verify_module, "observe", delete_then_observe)
    states = {Path(r.path).name: r.state for r in verify(catalog).results}
    assert states == {"1.flac": "missing", "2.mp3": "ok"}


@pytest.mark.parametrize("command", ["scan", "verify"])
def test_swapped_names_are_not_bit_rot(
    tmp_path: Path, make_file, catalog: Catalog, command: str
) -> None:
    root = tmp_path / "Music"
    a = make_file("wav", "Album/01.wav", root=root)
    b = make_file("wav", "Album/02.wav", root=root)
    with open(b, "r+b") as fh:  # different audio, same size
        fh.seek(os.path.getsize(b) // 2)
        fh.write(b"\x01\x02")
    os.utime(b, ns=(a.stat().st_atime_ns, a.stat().st_mtime_ns))  # ripped together
    add_root(catalog, root)
    scan(catalog)
    os.rename(a, root / "Album/tmp.wav")
    os.rename(b, a)
    os.rename(root / "Album/tmp.wav", b)
    states = dict(scan(catalog).states) if command == "scan" else verify(catalog).summary
    assert states == {"audio-changed": 2}
    assert all("files swapped or copied over" in f.message for f in catalog.findings())


def test_identical_duplicates_moved_together_are_both_moves(
    tmp_path: Path, make_file, catalog: Catalog
) -> None:
    root = tmp_path / "Music"
    make_file("flac16", "A/1.flac", root=root)
    make_file("flac16", "B/1.flac", root=root)  # byte-identical
    add_root(catalog, root)
    scan(catalog)
    shutil.move(root / "A", root / "A2")
    shutil.move(root / "B", root / "B2")
    report = scan(catalog)
    assert len(report.moved) == 2 and report.missing == 0 and report.indexed == 0


@pytest.mark.parametrize("command", ["scan", "verify"])
def test_move_plus_tag_edit_is_a_move(
    tmp_path: Path, make_file, catalog: Catalog, command: str
) -> None:
    root = tmp_path / "Music"
    make_file("flac16", "A/1.flac", root=root)
    make_file("mp3", "A/other.mp3", root=root)
    add_root(catalog, root)
    scan(catalog)
    moved = root / "A/renamed.flac"
    (root / "A/1.flac").rename(moved)
    f = mutagen.File(moved)
    f["comment"] = "x" * 20000
    f.save()
    if command == "scan":
        report = scan(catalog)
        assert len(report.moved) == 1 and report.missing == 0
    else:
        states = {Path(r.path).name: r.state for r in verify(catalog).results}
        assert states == {"renamed.flac": "moved", "other.mp3": "ok"}


def test_copy_then_delete_original_is_a_move_with_history(
    tmp_path: Path, make_file, catalog: Catalog
) -> None:
    root = tmp_path / "Music"
    make_file("flac16", "Old/1.flac", root=root)
    add_root(catalog, root)
    scan(catalog)
    time.sleep(0.01)
    shutil.copytree(root / "Old", root / "New")  # reorganise: copy first ...
    scan(catalog)
    shutil.rmtree(root / "Old")  # ... then delete the original
    report = scan(catalog)
    assert report.missing == 0 and report.moved == [
        (str(root / "Old/1.flac"), str(root / "New/1.flac"))
    ]
    rec = catalog.file_by_path(catalog.roots()[0].id, b"New/1.flac")
    assert rec is not None
    assert next(h.detail for h in catalog.history(rec.id)) == "first seen"
    assert len(catalog.history(rec.id)) == 3  # the original's, the copy's, the move
    assert verify(catalog).summary == {"ok": 1}


def test_deleted_duplicate_stays_missing(tmp_path: Path, make_file, catalog: Catalog) -> None:
    root = tmp_path / "Music"
    make_file("flac16", "A/1.flac", root=root)
    make_file("flac16", "B/1.flac", root=root)  # a duplicate that existed all along
    add_root(catalog, root)
    scan(catalog)
    shutil.rmtree(root / "B")
    report = scan(catalog)
    assert report.missing == 1 and report.moved == []
    assert any("identical copy" in f.message for f in catalog.findings())


def test_audio_changed_file_is_not_reread_by_every_scan(
    tmp_path: Path, make_file, catalog: Catalog, templates
) -> None:
    root = tmp_path / "Music"
    p = make_file("flac16", "A/1.flac", root=root)
    add_root(catalog, root)
    scan(catalog)
    p.write_bytes(templates["mp3"].read_bytes()[: p.stat().st_size])  # replaced
    first = scan(catalog)
    assert first.states == {"audio-changed": 1}
    again = scan(catalog)
    assert again.bytes_read == 0 and again.unchanged == 1
    assert verify(catalog).summary == {"audio-changed": 1}  # still judged against the baseline


def test_restart_does_not_leave_a_stale_job_to_resume(
    tmp_path: Path, make_file, catalog: Catalog
) -> None:
    root = tmp_path / "Music"
    distinct(make_file, root, 6)
    add_root(catalog, root)
    scan(catalog)
    token = CancelToken()
    token.cancel()
    assert verify(catalog, cancel=token).cancelled
    assert len(verify(catalog, resume=False).results) == 6
    later = verify(catalog)
    assert not later.resumed and len(later.results) == 6
    assert [j.outcome for j in catalog.jobs()][:3] == ["done", "done", "abandoned"]


def test_locked_catalog_is_a_clear_error(tmp_path: Path) -> None:
    cat = tmp_path / "c.sqlite"
    holder = Catalog(cat)
    holder._db.execute("PRAGMA busy_timeout = 0")
    # e.g. the app's scan holds the write lock while the command line tries to write
    with holder.transaction(), Catalog(cat) as other:
        other._db.execute("PRAGMA busy_timeout = 100")
        with pytest.raises(CatalogError, match="busy"):
            other.add_root(tmp_path)
    holder.close()


def test_nested_batch_is_refused(tmp_path: Path) -> None:
    with Catalog(tmp_path / "c.sqlite") as cat:
        outer = cat.transaction()
        outer.__enter__()
        with pytest.raises(RuntimeError), cat.batch():
            pass
        outer.__exit__(None, None, None)


def test_progress_is_reported_from_the_calling_thread_only(
    tmp_path: Path, make_file, catalog: Catalog
) -> None:
    root = tmp_path / "Music"
    for i in range(30):
        make_file("wav", f"A/{i}.wav", root=root)
    add_root(catalog, root)
    names: set[str] = set()
    scan(catalog, progress=lambda p: names.add(threading.current_thread().name))
    assert names == {threading.current_thread().name}


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(args), stdout=out, stderr=err), out.getvalue(), err.getvalue()


@pytest.mark.parametrize("how", ["removed", "emptied"])
def test_offline_root_makes_verify_and_status_exit_1(tmp_path: Path, make_file, how: str) -> None:
    cat = str(tmp_path / "c.sqlite")
    root = tmp_path / "Music"
    make_file("flac16", "A/1.flac", root=root)
    cli("roots", "add", str(root), "--catalog", cat)
    cli("scan", "--catalog", cat)
    shutil.rmtree(root)
    if how == "emptied":
        root.mkdir()
    code, out, _ = cli("verify", "--catalog", cat, "--json")
    assert code == 1 and json.loads(out)["offline_roots"]
    code, out, _ = cli("status", "--catalog", cat, "--json")
    assert code == 1 and json.loads(out)["offline_roots"] == [str(root)]


def test_non_utf8_names_in_json_and_text_output_of_a_real_process(
    tmp_path: Path, make_file
) -> None:
    cat = str(tmp_path / "c.sqlite")
    root = tmp_path / "Music"
    make_file("mp3", "keep.mp3", root=root)
    p = make_file("flac16", "x.flac", root=root)
    raw = os.fsencode(root) + b"/caf\xe9.flac"
    os.rename(os.fsencode(p), raw)
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict", LC_ALL="C.UTF-8")
    exe = [sys.executable, "-m", "phonovault.core.cli", "--catalog", cat]
    subprocess.run([*exe, "roots", "add", str(root)], env=env, check=True, capture_output=True)
    scanned = subprocess.run([*exe, "scan", "--json"], env=env, capture_output=True)
    assert json.loads(scanned.stdout)["indexed"] == 2
    os.remove(raw)
    result = subprocess.run([*exe, "verify", "--json"], env=env, capture_output=True)
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    missing = next(r for r in doc["results"] if r["state"] == "missing")
    assert missing["path"] == str(root) + "/caf\ufffd.flac"
    import base64

    assert base64.b64decode(missing["path_b64"]) == raw
    text = subprocess.run([*exe, "findings"], env=env, capture_output=True)
    assert text.returncode == 1 and "caf\ufffd.flac" in text.stdout.decode()


def test_mistyped_catalog_is_not_created(tmp_path: Path) -> None:
    where = tmp_path / "no" / "such" / "c.sqlite"
    code, out, err = cli("status", "--catalog", str(where), "--json")
    assert code == 2 and "no catalog at" in err
    assert json.loads(out) == {
        "error": f"no catalog at {where}; start one with 'phonovault roots add FOLDER'"
    }
    assert not where.parent.exists()


def test_removing_a_root_needs_forget(tmp_path: Path, make_file) -> None:
    cat = str(tmp_path / "c.sqlite")
    root = tmp_path / "Music"
    make_file("flac16", "a.flac", root=root)
    cli("roots", "add", str(root), "--catalog", cat)
    code, _, err = cli("roots", "remove", str(root), "--catalog", cat)
    assert code == 2 and "--forget" in err
    assert cli("roots", "remove", str(root), "--forget", "--catalog", cat)[0] == 0
    assert (root / "a.flac").exists()
