"""The library watcher on real folders with the real observer (inotify here).

Waits use events with generous timeouts; counts allow the slack that real file-system event
delivery needs, so these tests stay fast when things work and do not flake when the machine
is busy.
"""

from __future__ import annotations

import errno
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from needs import unavailable
from watchdog.events import (
    DirCreatedEvent,
    DirModifiedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
    FileSystemEvent,
)
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

from phonovault.core.fixity import watch
from phonovault.core.fixity.watch import LibraryWatcher, WatchStatus, concerns_music

TIMEOUT = 10.0  # seconds to wait for something that should happen
DEBOUNCE = 0.2


class Recorder:
    """Collects on_change calls; ``wait(n)`` blocks until n calls arrived."""

    def __init__(self) -> None:
        self.calls: list[frozenset[int]] = []
        self.threads: set[str] = set()
        self._cond = threading.Condition()

    def __call__(self, ids: frozenset[int]) -> None:
        with self._cond:
            self.calls.append(ids)
            self.threads.add(threading.current_thread().name)
            self._cond.notify_all()

    def wait(self, n: int = 1, timeout: float = TIMEOUT) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.calls) >= n, timeout)

    def settle(self, quiet: float = 2.5 * DEBOUNCE) -> list[frozenset[int]]:
        """The calls so far, after giving stragglers time to arrive."""
        time.sleep(quiet)
        with self._cond:
            return list(self.calls)


@pytest.fixture
def running() -> Iterator[Callable[..., tuple[LibraryWatcher, Recorder]]]:
    """Start watchers that are always stopped after the test, even when it fails."""
    made: list[LibraryWatcher] = []

    def _start(roots: dict[int, str], **kwargs: object) -> tuple[LibraryWatcher, Recorder]:
        rec = Recorder()
        kwargs.setdefault("debounce", DEBOUNCE)
        w = LibraryWatcher(roots, rec, **kwargs)  # type: ignore[arg-type]
        made.append(w)
        w.start()
        return w, rec

    yield _start
    for w in made:
        w.stop()


def _music(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"fLaC" + bytes(64))  # the watcher goes by name; content is not read
    return path


def _root(tmp_path: Path, name: str = "Music") -> Path:
    root = tmp_path / name
    root.mkdir()
    return root


# -- which events count (no file system needed) ----------------------------------------------


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (FileCreatedEvent("/m/a/01.flac"), True),
        (FileModifiedEvent("/m/a/01.MP3"), True),
        (FileMovedEvent("/m/a/01.flac.part", "/m/a/01.flac"), True),  # download finished
        (FileMovedEvent("/m/a/01.flac", "/m/a/01.flac.bak"), True),  # music left
        (FileCreatedEvent("/m/a/cover.jpg"), False),
        (FileCreatedEvent("/m/a/01.flac.part"), False),
        (FileCreatedEvent("/m/a/._01.flac"), False),  # macOS AppleDouble
        (FileModifiedEvent("/data/catalog.sqlite-wal"), False),
        (FileOpenedEvent("/m/a/01.flac"), False),  # our own scans read files
        (FileClosedEvent("/m/a/01.flac"), False),
        (DirCreatedEvent("/m/b"), True),
        (DirModifiedEvent("/m/a"), False),
    ],
)
def test_concerns_music(event: FileSystemEvent, expected: bool) -> None:
    assert concerns_music(event) is expected


# -- live watching ---------------------------------------------------------------------------


def test_new_music_file_triggers_one_call_for_its_root(tmp_path: Path, running) -> None:
    root = _root(tmp_path)
    w, rec = running({7: str(root)})
    assert w.status == WatchStatus("live", None)
    _music(root / "Artist" / "Album" / "01.flac")  # also creates two folders: same request
    assert rec.wait(1)
    assert rec.settle() == [frozenset({7})]
    assert rec.threads == {"phonovault-watch"}


def test_a_burst_of_files_is_coalesced(tmp_path: Path, running) -> None:
    root = _root(tmp_path)
    _w, rec = running({1: str(root)})
    for i in range(20):
        _music(root / "Album" / f"{i:02}.flac")
    assert rec.wait(1)
    calls = rec.settle()
    # 20 files, one call; two when the burst straddles the end of a debounce window.
    assert len(calls) in (1, 2)
    assert set(calls) == {frozenset({1})}


def test_non_music_files_are_ignored(tmp_path: Path, running) -> None:
    root = _root(tmp_path)
    _w, rec = running({1: str(root)})
    (root / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    (root / "01.flac.part").write_bytes(b"partial")
    for name in ("catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"):
        (root / name).write_bytes(b"SQLite format 3\x00")
    assert not rec.wait(1, timeout=1.5)


def test_delete_and_rename_trigger(tmp_path: Path, running) -> None:
    root = _root(tmp_path)
    doomed = _music(root / "a.flac")
    renamed = _music(root / "b.mp3")
    _w, rec = running({1: str(root)})
    doomed.unlink()
    assert rec.wait(1)
    renamed.rename(root / "c.mp3")
    assert rec.wait(2)
    (root / "d.ogg.part").write_bytes(b"x")  # not music yet ...
    (root / "d.ogg.part").rename(root / "d.ogg")  # ... until the download is complete
    assert rec.wait(3)
    assert set(rec.settle()) == {frozenset({1})}


def test_two_roots_are_coalesced_into_one_call(tmp_path: Path, running) -> None:
    a, b = _root(tmp_path, "A"), _root(tmp_path, "B")
    _w, rec = running({1: str(a), 2: str(b)}, debounce=0.5)  # roomy: both writes in one window
    _music(a / "x.flac")
    _music(b / "y.flac")
    assert rec.wait(1)
    assert rec.settle() == [frozenset({1, 2})]


def test_offline_root_is_skipped_and_retried_on_set_roots(tmp_path: Path, running) -> None:
    online, later = _root(tmp_path, "A"), tmp_path / "Unplugged"
    roots = {1: str(online), 2: str(later)}
    w, rec = running(roots)
    assert w.status.mode == "live"
    assert w.status.reason is not None and str(later) in w.status.reason
    _music(online / "x.flac")  # the online root is watched regardless
    assert rec.wait(1)
    later.mkdir()  # the drive is back
    w.set_roots(roots)
    assert w.status == WatchStatus("live", None)
    _music(later / "y.flac")
    assert rec.wait(2)
    assert rec.settle() == [frozenset({1}), frozenset({2})]


def test_removed_root_is_no_longer_reported(tmp_path: Path, running) -> None:
    a, b = _root(tmp_path, "A"), _root(tmp_path, "B")
    w, rec = running({1: str(a), 2: str(b)})
    w.set_roots({1: str(a)})
    _music(b / "gone.flac")
    _music(a / "kept.flac")
    assert rec.wait(1)
    assert rec.settle() == [frozenset({1})]


# -- falling back to periodic rescans ---------------------------------------------------------


class _LimitedObserver(PollingObserver):
    """A real observer whose every watch hits inotify's per-user limit."""

    def schedule(self, *args: object, **kwargs: object) -> ObservedWatch:  # type: ignore[override]
        raise OSError(errno.ENOSPC, "inotify watch limit reached")


def test_watch_limit_falls_back_to_periodic_rescans(tmp_path: Path, running) -> None:
    a, b = _root(tmp_path, "A"), _root(tmp_path, "B")
    w, rec = running(
        {1: str(a), 2: str(b)}, fallback_interval=0.2, observer_factory=_LimitedObserver
    )
    assert w.status.mode == "polling"
    assert w.status.reason and "limit" in w.status.reason and "0.2 seconds" in w.status.reason
    assert rec.wait(2)  # at least twice: periodic, not a one-off
    assert set(rec.calls) == {frozenset({1, 2})}


def test_instance_limit_in_the_observer_constructor_falls_back(tmp_path: Path, running) -> None:
    def no_instances() -> BaseObserver:
        raise OSError(errno.EMFILE, "inotify instance limit reached")

    w, rec = running(
        {1: str(_root(tmp_path))}, fallback_interval=0.2, observer_factory=no_instances
    )
    assert w.status.mode == "polling" and w.status.reason and "limit" in w.status.reason
    assert rec.wait(1)


def test_silently_skipped_subfolders_are_detected(tmp_path: Path, running, monkeypatch) -> None:
    # watchdog only raises when the root itself cannot be watched; the probe catches the rest.
    monkeypatch.setattr(watch, "_watch_limit_reached", lambda path: True)
    w, _rec = running({1: str(_root(tmp_path))}, fallback_interval=60.0)
    assert w.status.mode == "polling"
    assert w.status.reason and "watched folders" in w.status.reason


def test_the_probe_sees_no_limit_on_this_machine(tmp_path: Path) -> None:
    assert watch._watch_limit_reached(str(tmp_path)) is False


_LOW_LIMIT_SCRIPT = """
import sys
from phonovault.core.fixity.watch import LibraryWatcher
try:
    with open("/proc/sys/user/max_inotify_watches", "w") as f:
        f.write("10")
except OSError as exc:
    print("SKIP", exc)
    raise SystemExit(0)
w = LibraryWatcher({1: sys.argv[1]}, lambda ids: None, fallback_interval=60.0)
print(w.start().mode)
w.stop()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux only")
def test_a_real_watch_limit_in_a_subfolder_is_detected(tmp_path: Path) -> None:
    """The known trap, for real: 31 folders under a limit of 10 watches.

    watchdog watches the root, skips the rest without a word; without the probe the status
    would say "live". The limit is lowered inside a private user namespace (inotify limits are
    per namespace since Linux 5.11), so nothing outside this test is affected.
    """
    if shutil.which("unshare") is None:
        unavailable("unshare(1) not available")
    for i in range(30):
        (tmp_path / "Big" / f"d{i}").mkdir(parents=True)
    cmd = ["unshare", "--user", "--map-root-user", sys.executable, "-c", _LOW_LIMIT_SCRIPT]
    proc = subprocess.run([*cmd, str(tmp_path / "Big")], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0 and proc.stderr.startswith("unshare:"):
        unavailable(f"no user namespaces here: {proc.stderr.strip()}")
    if proc.stdout.startswith("SKIP"):
        unavailable(f"inotify limits are not per namespace here: {proc.stdout.strip()}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["polling"]


def test_a_failing_receiver_does_not_end_the_rescans(tmp_path: Path, running) -> None:
    seen = threading.Semaphore(0)

    def broken(ids: frozenset[int]) -> None:
        seen.release()
        raise RuntimeError("bug in the receiver")

    w = LibraryWatcher(
        {1: str(_root(tmp_path))}, broken, fallback_interval=0.1, observer_factory=_LimitedObserver
    )
    w.start()
    try:
        assert seen.acquire(timeout=TIMEOUT) and seen.acquire(timeout=TIMEOUT)
    finally:
        w.stop()


# -- lifecycle -------------------------------------------------------------------------------


def test_stop_is_idempotent_and_leaves_no_threads(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    rec = Recorder()
    w = LibraryWatcher({1: str(_root(tmp_path))}, rec, debounce=DEBOUNCE)
    assert w.status.mode == "stopped"
    assert w.start().mode == "live"
    assert w.start().mode == "live"  # already running: nothing new
    assert len(set(threading.enumerate()) - before) >= 2  # worker + observer
    w.stop()
    w.stop()
    assert w.status == WatchStatus("stopped", None)
    assert {t for t in threading.enumerate() if t.is_alive()} - before == set()
    assert w.start().mode == "live"  # a stopped watcher can start again
    w.stop()
    assert {t for t in threading.enumerate() if t.is_alive()} - before == set()


def test_stop_from_inside_on_change(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    done = threading.Event()
    holder: list[LibraryWatcher] = []

    def stop_now(ids: frozenset[int]) -> None:
        holder[0].stop()
        done.set()

    root = _root(tmp_path)
    holder.append(LibraryWatcher({1: str(root)}, stop_now, debounce=DEBOUNCE))
    holder[0].start()
    _music(root / "x.flac")
    assert done.wait(TIMEOUT)
    assert holder[0].status.mode == "stopped"
    deadline = time.monotonic() + TIMEOUT
    while {t for t in threading.enumerate() if t.is_alive()} - before:
        assert time.monotonic() < deadline, "the worker did not end"
        time.sleep(0.02)
