"""Permission denied and I/O errors, for real where the system allows it.

Tests often run as root, where ``chmod 000`` denies nothing. Rather than pretend, the command
line runs in a child process that file permissions apply to: as root, the child drops
CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from its capability bounding set before exec (root
then has only the owner's rights, like anyone else); as another user it simply runs. An I/O
error (a failing disk) cannot be made for real, so it is injected through the reader's
``opener`` (the seam ``hash_file`` and ``read_tags`` offer) into the real scan and verify.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
from hostile import FailingReader, unreadable
from needs import unavailable

from phonovault.core.catalog import Catalog
from phonovault.core.fixity import scan as scan_module
from phonovault.core.fixity import verify as verify_module
from phonovault.core.fixity.reading import observe
from phonovault.core.fixity.scan import scan
from phonovault.core.fixity.verify import verify
from phonovault.core.library.roots import add_root

PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


def _drop_file_capabilities() -> None:  # runs in the child, between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def unprivileged(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``python *argv`` in a process that file permissions apply to."""
    preexec = _drop_file_capabilities if os.geteuid() == 0 else None
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, *argv], preexec_fn=preexec, capture_output=True,
                          text=True, timeout=120, env=env)  # fmt: skip


def phonovault(catalog: Path, *argv: str) -> tuple[int, dict]:
    done = unprivileged("-m", "phonovault.core.cli", "--catalog", str(catalog), *argv, "--json")
    assert done.returncode != 2 and "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.fixture
def denied(tmp_path: Path):  # type: ignore[no-untyped-def]
    """chmod 000 that really denies, or a skip saying why it cannot here (a failure in CI)."""
    probe = tmp_path / "probe"
    probe.write_bytes(b"x")
    probe.chmod(0)
    try:
        check = unprivileged("-c", f"open({str(probe)!r}).read()")
    except (subprocess.SubprocessError, OSError) as exc:
        unavailable(f"cannot run a process without file capabilities here: {exc}")
    if check.returncode == 0:
        unavailable("file permissions are not enforced for this user")
    locked: list[Path] = []

    def lock(*paths: Path) -> None:
        for path in paths:
            path.chmod(0)
            locked.append(path)

    yield lock
    for path in locked:
        path.chmod(0o755)


def test_permission_denied_files_and_folders_are_findings_not_missing(
    tmp_path: Path, make_file, denied
) -> None:
    root = tmp_path / "Music"
    make_file("flac16", "A/ok.flac", root=root)
    make_file("mp3", "A/ok.mp3", root=root)
    secret = make_file("flac16", "A/secret.flac", root=root)
    make_file("wav", "Locked/inside.wav", root=root)
    cat = tmp_path / "c.sqlite"
    with Catalog(cat) as catalog:
        add_root(catalog, root)
        assert scan(catalog).indexed == 4
    newcomer = make_file("aac", "A/new.m4a", root=root)
    denied(secret, newcomer, root / "Locked")
    code, doc = phonovault(cat, "scan")
    assert code == 1 and doc["indexed"] == 0 and doc["missing"] == 0, doc
    failures = {Path(f["path"]).name: f["reason"] for f in doc["failures"]}
    assert failures == {"new.m4a": "permission denied",
                        "Locked": "cannot list folder: Permission denied"}  # fmt: skip
    code, doc = phonovault(cat, "verify")
    states = {Path(r["path"]).name: r["state"] for r in doc["results"]}
    assert code == 1 and states == {
        "ok.flac": "ok",
        "ok.mp3": "ok",
        "secret.flac": "unreadable",
        "inside.wav": "unreadable",
        "new.m4a": "unreadable",
    }
    code, doc = phonovault(cat, "findings")
    for finding in doc["findings"]:
        assert unreadable(finding["message"]) is None, finding
    denied(root)  # the whole root: offline, nothing judged
    code, doc = phonovault(cat, "scan")
    assert code == 1 and doc["offline_roots"] and doc["missing"] == 0


def test_one_unreadable_manifest_does_not_stop_the_others(tmp_path: Path, denied) -> None:
    folder = tmp_path / "Music"
    folder.mkdir()
    (folder / "a.flac").write_bytes(b"audio")
    line = "0cc175b9c0f1b6a831c399e269772661  a.flac\n"
    (folder / "good.md5").write_text(line)
    (folder / "locked.md5").write_text(line)
    cat = tmp_path / "c.sqlite"
    with Catalog(cat):
        pass
    denied(folder / "locked.md5")
    done = unprivileged("-m", "phonovault.core.cli", "--catalog", str(cat), "manifests",
                        "verify", "--json", str(folder))  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert len(json.loads(done.stdout)["manifests"]) == 2


def _failing_for(victim: Path, fail_at: int):  # type: ignore[no-untyped-def]
    """An opener that gives ``victim`` a bad sector from its ``fail_at``-th call on."""

    def opener(path, mode="rb"):  # type: ignore[no-untyped-def]
        fh = open(path, mode)  # noqa: SIM115 - closed by the reader
        return FailingReader(fh, fail_at) if os.fsdecode(path) == str(victim) else fh

    return opener


@pytest.mark.parametrize("fail_at", [1, 3, 6, 12])
def test_an_io_error_makes_one_file_unreadable_and_the_rest_goes_on(
    tmp_path: Path, make_file, monkeypatch: pytest.MonkeyPatch, fail_at: int
) -> None:
    root = tmp_path / "Music"
    files = [make_file(k, f"A/{k}.x", root=root) for k in ("flac16", "mp3", "vorbis", "aac")]
    for path in files:
        path.rename(path.with_suffix({"flac16": ".flac", "mp3": ".mp3", "vorbis": ".ogg",
                                      "aac": ".m4a"}[path.stem]))  # fmt: skip
    victim = root / "A/vorbis.ogg"
    opener = _failing_for(victim, fail_at)
    monkeypatch.setattr(scan_module, "observe", partial(observe, opener=opener))
    with Catalog(tmp_path / "c.sqlite") as catalog:
        add_root(catalog, root)
        report = scan(catalog)
        assert report.indexed == 3 and not report.offline_roots  # and one unreadable
        assert [(Path(f.path).name, f.reason) for f in report.failed] == [
            ("vorbis.ogg", "input/output error while reading (a warning sign of a failing disk)")
        ]
        assert {Path(os.fsdecode(r.relpath)).name: r.state for r in catalog.files()} == {
            "flac16.flac": "ok",
            "mp3.mp3": "ok",
            "vorbis.ogg": "unreadable",
            "aac.m4a": "ok",
        }
        monkeypatch.setattr(verify_module, "observe", partial(observe, opener=opener))
        result = verify(catalog)  # verify hashes only: a fault in the tag read never comes
        if fail_at <= 6:
            assert result.summary == {"ok": 3, "unreadable": 1} and not result.offline_roots
            bad = next(r for r in result.results if r.state == "unreadable")
            assert bad.detail and bad.detail.startswith("input/output error")
        else:
            assert result.summary == {"ok": 4}
        monkeypatch.undo()  # the disk recovers: the file is read and judged again
        assert verify(catalog).summary == {"ok": 4}


def test_eio_is_not_mistaken_for_a_vanished_file_or_an_offline_drive(
    tmp_path: Path, make_file, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EIO is among the errors an unplugged drive gives, so the scanner asks whether the root
    is still there: it is, so the file is unreadable, and nothing else is touched."""
    root = tmp_path / "Music"
    victims = [make_file("flac16", f"A/{i}.flac", root=root) for i in range(3)]
    for i, path in enumerate(victims):
        with open(path, "ab") as fh:
            fh.write(bytes([i]))

    def opener(path, mode="rb"):  # type: ignore[no-untyped-def]
        return FailingReader(open(path, mode), 1)  # every file: the whole disk fails

    monkeypatch.setattr(scan_module, "observe", partial(observe, opener=opener))
    with Catalog(tmp_path / "c.sqlite") as catalog:
        add_root(catalog, root)
        report = scan(catalog)
        assert report.offline_roots == [] and report.missing == 0
        assert len(report.failed) == 3 and catalog.state_counts() == {"unreadable": 3}
        assert all(f.reason.startswith("input/output error") for f in report.failed)
    assert errno.EIO in verify_module.UNPLUG_ERRNOS  # the premise of this test
