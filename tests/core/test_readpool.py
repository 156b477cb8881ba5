"""A scan's reads in worker processes (phonovault.core.fixity.readpool): the same catalog as on
threads, the same handling of bad files, and a scan that survives a killed worker."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import audiogen
import pytest

from phonovault.core.catalog import Catalog
from phonovault.core.fixity import readpool
from phonovault.core.fixity import scan as scan_module
from phonovault.core.fixity.reading import FileReadError
from phonovault.core.fixity.scan import ScanOptions, scan
from phonovault.core.fixity.verify import verify
from phonovault.core.jobs import CancelToken
from phonovault.core.library.roots import add_root

# What a read decides; ids and times differ between two catalogs by nature.
_VOLATILE = {"id", "root_id", "first_seen", "last_read", "last_verified"}

PROCESSES = ScanOptions(workers=2, readers="processes")
THREADS = ScanOptions(workers=2, readers="threads")


@pytest.fixture
def lib(tmp_path: Path, make_file) -> Path:
    """Every kind twice, a damaged file, a non-audio file with an audio name, a FIFO."""
    root = tmp_path / "Music"
    for i, kind in enumerate(list(audiogen.KINDS) * 2):
        make_file(kind, f"A{i % 3}/{i:02d} {kind}{audiogen.KINDS[kind].suffix}", root=root)
    (root / "A0/garbage.flac").write_bytes(b"fLaC" + os.urandom(3000))
    (root / "A1/notes.mp3").write_text("not audio at all\n")
    broken = make_file("flac16", "A2/cut.flac", root=root)
    broken.write_bytes(broken.read_bytes()[:600])  # cut inside the metadata
    os.mkfifo(root / "A2/pipe.ogg")
    return root


def records(catalog: Catalog) -> dict[bytes, dict[str, object]]:
    out = {}
    for rec in catalog.files():
        row = {k: v for k, v in dataclasses.asdict(rec).items() if k not in _VOLATILE}
        out[rec.relpath] = row
    return out


def failures(report) -> dict[str, str]:
    return {Path(f.path).name: f.reason for f in report.failed}


def test_processes_record_exactly_what_threads_record(lib: Path, tmp_path: Path) -> None:
    with Catalog(tmp_path / "t.sqlite") as on_threads, Catalog(tmp_path / "p.sqlite") as on_procs:
        add_root(on_threads, lib)
        add_root(on_procs, lib)
        by_threads = scan(on_threads, options=THREADS)
        by_procs = scan(on_procs, options=PROCESSES)
        expected_files = 2 * len(audiogen.KINDS) + 3  # the FIFO is not a file to index
        assert by_procs.indexed == by_threads.indexed == expected_files
        assert failures(by_procs) == failures(by_threads)
        assert by_procs.notes == by_threads.notes  # the FIFO, seen by the walk
        assert "tags unreadable" in failures(by_procs)["garbage.flac"]
        assert by_procs.bytes_read == by_threads.bytes_read > 0
        assert records(on_procs) == records(on_threads)
        assert verify(on_procs).summary == verify(on_threads).summary


def test_auto_uses_processes_only_for_a_large_scan_with_several_workers() -> None:
    auto = ScanOptions(workers=2)
    assert not scan_module._use_processes(auto, readpool.MIN_FILES - 1)
    assert scan_module._use_processes(auto, readpool.MIN_FILES)
    assert not scan_module._use_processes(ScanOptions(workers=1), 10 * readpool.MIN_FILES)
    assert not scan_module._use_processes(THREADS, 10 * readpool.MIN_FILES)
    assert scan_module._use_processes(PROCESSES, 1)
    with pytest.raises(ValueError, match="readers"):
        scan_module._use_processes(ScanOptions(readers="fibers"), 1)


def test_read_errors_cross_the_process_boundary_intact() -> None:
    exc = FileReadError("/m/a.flac", "permission denied", 13, changed_during_read=True)
    back = pickle.loads(pickle.dumps(exc))
    assert (back.path, back.reason, back.errno, back.changed_during_read) == (
        "/m/a.flac", "permission denied", 13, True)  # fmt: skip
    assert str(back) == str(exc)


def test_cancel_stops_the_workers_and_the_next_scan_resumes(
    lib: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readpool, "CHUNK_FILES", 1)
    token = CancelToken()
    with Catalog(tmp_path / "c.sqlite") as catalog:
        add_root(catalog, lib)
        first = scan(catalog, options=PROCESSES, progress=lambda p: token.cancel(), cancel=token)
        assert first.cancelled
        total = 2 * len(audiogen.KINDS) + 3
        assert first.indexed < total
        second = scan(catalog, options=PROCESSES)
        assert second.indexed + first.indexed == total
        assert second.unchanged == first.indexed


def test_a_killed_worker_does_not_stop_the_scan(
    lib: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed (by the OOM killer, say) mid-scan: the rest is read on threads."""
    monkeypatch.setattr(readpool, "CHUNK_FILES", 1)
    killed: list[int] = []

    def progress(p) -> None:
        if not killed:
            for child in multiprocessing.active_children():
                if child.name.startswith("SpawnProcess"):
                    os.kill(child.pid, signal.SIGKILL)
                    killed.append(child.pid)
                    break

    with Catalog(tmp_path / "c.sqlite") as catalog:
        add_root(catalog, lib)
        report = scan(catalog, options=PROCESSES, progress=progress)
        assert killed, "no worker process was running"
        assert not report.cancelled
        assert report.indexed == 2 * len(audiogen.KINDS) + 3
        assert verify(catalog).summary == {"ok": report.indexed}


def test_gui_command_does_not_import_qt() -> None:
    """A spawned worker re-runs the parent's main script: phonovault-gui's must stay light."""
    code = "import sys, phonovault.gui.launch; print('PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


_UNGUARDED_SCRIPT = """
import multiprocessing, sys
from phonovault.core.catalog import Catalog
from phonovault.core.fixity.scan import ScanOptions, scan
with open(sys.argv[1], "a") as marker:
    marker.write("top level ran\\n")
seen = []
with Catalog(sys.argv[2]) as catalog:
    report = scan(catalog, options=ScanOptions(workers=2, readers="processes"),
                  progress=lambda p: seen.append(len(multiprocessing.active_children())))
print(report.indexed, max(seen))
"""


@pytest.mark.parametrize("how", ["file", "stdin"])
def test_workers_never_rerun_the_callers_script(lib: Path, tmp_path: Path, how: str) -> None:
    """A script without an ``if __name__ == "__main__"`` guard, or one read from stdin:
    spawned workers must neither run its top level again nor fail to start."""
    marker, db = tmp_path / "marker.txt", tmp_path / "c.sqlite"
    with Catalog(db) as catalog:
        add_root(catalog, lib)
    script = tmp_path / "unguarded.py"
    script.write_text(_UNGUARDED_SCRIPT)
    argv = [sys.executable, str(script) if how == "file" else "-", str(marker), str(db)]
    out = subprocess.run(argv, input=None if how == "file" else _UNGUARDED_SCRIPT,
                         capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    indexed, children = map(int, out.stdout.split())
    assert indexed == 2 * len(audiogen.KINDS) + 3
    assert children >= 1, "the files were not read in worker processes"
    assert marker.read_text() == "top level ran\n"
    assert "Traceback" not in out.stderr
