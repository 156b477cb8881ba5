"""Live watching of library roots: file-system events become debounced rescan requests.

The watcher never scans anything itself. It tells its owner *which roots* changed, after the
file system has been quiet for ``debounce`` seconds, and the owner queues an (incremental) scan.
That keeps this module small and makes every handler idempotent by construction: duplicate or
reordered events only add a root id to a set that is already there.

When live watching is impossible (inotify's per-user watch or instance limit, an unsupported
file system, any other ``OSError``) the watcher falls back to asking for a rescan of every root
every ``fallback_interval`` seconds. A root that is offline (missing folder) is not watched; it
is tried again on :meth:`LibraryWatcher.set_roots` or the next :meth:`LibraryWatcher.start`.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from phonovault.core.library.walk import is_music_name, root_offline_reason

__all__ = ["LibraryWatcher", "WatchStatus", "concerns_music"]

log = logging.getLogger(__name__)

# Only these reach us; the narrower inotify mask also means reading files during our own scans
# (open/close-nowrite) never wakes the watcher, or every scan would trigger the next one.
_WATCHED_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileDeletedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]
_MUSIC_EVENT_TYPES = frozenset({"created", "modified", "moved", "deleted"})
_JOIN_TIMEOUT = 10.0  # seconds; a watchdog thread stuck longer than this is logged, not waited on


@dataclass(frozen=True, slots=True)
class WatchStatus:
    """How the library is being watched, for the status bar and the log."""

    mode: str  # "live" (inotify/FSEvents/...), "polling" (periodic rescans), "stopped"
    reason: str | None = None  # why we fell back or what is not watched, in plain words


_STOPPED = WatchStatus("stopped")


def concerns_music(event: FileSystemEvent) -> bool:
    """Whether an event can change what the catalog holds.

    Covers, cue sheets, ``.part`` downloads and our own catalog files (``catalog.sqlite``,
    ``-wal``, ``-shm``) fail :func:`is_music_name`, so they never cost a rescan. A folder that
    appears, vanishes or moves may carry music, so those always count; a folder's own
    "modified" event fires for any file inside it and says nothing new.
    """
    if event.event_type not in _MUSIC_EVENT_TYPES:
        return False
    if event.is_directory:
        return event.event_type != "modified"
    paths = (event.src_path, event.dest_path)
    return any(p and is_music_name(os.path.basename(os.fsdecode(p))) for p in paths)


class _RootHandler(FileSystemEventHandler):
    """One per root, so an event names its root without matching path prefixes."""

    def __init__(self, root_id: int, note: Callable[[int], None]) -> None:
        self._root_id = root_id
        self._note = note

    def on_any_event(self, event: FileSystemEvent) -> None:
        if concerns_music(event):
            self._note(self._root_id)


class LibraryWatcher:
    """Watches library roots and calls ``on_change(root_ids)`` from a background thread.

    Thread model: one worker thread (started by :meth:`start`, joined by :meth:`stop`) waits on
    a condition for the debounce deadline or the next fallback rescan, so nothing polls while
    idle. The observer's threads only add root ids to a set under that condition. ``on_change``
    runs on the worker thread, never under a lock, so it may call back into the watcher.
    The status changes only inside :meth:`start`, :meth:`set_roots` and :meth:`stop`.
    """

    def __init__(
        self,
        roots: Mapping[int, str],
        on_change: Callable[[frozenset[int]], None],
        *,
        debounce: float = 2.0,
        fallback_interval: float = 900.0,
        observer_factory: Callable[[], BaseObserver] | None = None,
    ) -> None:
        self._roots = dict(roots)
        self._on_change = on_change
        self._debounce = debounce
        self._fallback_interval = fallback_interval
        self._observer_factory: Callable[[], BaseObserver] = observer_factory or Observer
        # Serialises start/stop/set_roots. Joining observer threads happens under this lock
        # only, never under _cond, because those threads take _cond to report events.
        self._lifecycle = threading.Lock()
        self._cond = threading.Condition()
        # Guarded by _cond:
        self._root_ids: frozenset[int] = frozenset()
        self._pending: set[int] = set()
        self._last_event = 0.0
        self._polling = False
        self._next_poll = 0.0
        self._worker: threading.Thread | None = None
        self._observer: BaseObserver | None = None
        self._status = _STOPPED

    @property
    def status(self) -> WatchStatus:
        with self._cond:
            return self._status

    def start(self) -> WatchStatus:
        """Begin watching; returns how. Calling it while running just returns the status."""
        with self._lifecycle:
            with self._cond:
                if self._worker is not None:
                    return self._status
                worker = threading.Thread(target=self._run, name="phonovault-watch", daemon=True)
                self._worker = worker
            worker.start()
            return self._arm()

    def stop(self) -> None:
        """Stop watching and join every thread we started. Safe to call twice, or from
        ``on_change`` (the worker then ends after the callback returns)."""
        with self._lifecycle:
            with self._cond:
                worker, observer = self._worker, self._observer
                self._worker = self._observer = None
                self._pending.clear()
                self._polling = False
                self._status = _STOPPED
                self._cond.notify_all()
            if observer is not None:
                _dispose(observer)
        # Joined outside _lifecycle: an on_change running now may be waiting for that lock
        # (calling set_roots); it then finds the watcher stopped and returns.
        if worker is not None and worker is not threading.current_thread():
            worker.join()

    def set_roots(self, roots: Mapping[int, str]) -> None:
        """Replace the watched roots; while running, rebuild all watches.

        A full rebuild (rather than a diff) is one code path for every case: a root that came
        back online, a limit that fits now that a big root is gone, a root whose path changed.
        Roots change rarely; events during the rebuild are missed, so callers that add a root
        scan it anyway.
        """
        with self._lifecycle:
            self._roots = dict(roots)
            with self._cond:
                if self._worker is None:
                    return  # used by the next start()
                observer, self._observer = self._observer, None
            if observer is not None:
                _dispose(observer)
            self._arm()

    # -- arming -------------------------------------------------------------------------------

    def _arm(self) -> WatchStatus:
        """Watch the online roots live, or fall back to polling. Caller holds _lifecycle."""
        roots = dict(self._roots)
        with self._cond:
            self._root_ids = frozenset(roots)
        notes: list[str] = []
        online: dict[int, str] = {}
        for root_id, path in roots.items():
            offline = root_offline_reason(path, was_mount=False, expect_files=False)
            if offline is None:
                online[root_id] = path
            else:
                notes.append(f"{path} is not watched: {offline}")
        observer, failure = self._watch(online)
        if failure is None:
            status = WatchStatus("live", "; ".join(notes) or None)
        else:
            every = _duration_words(self._fallback_interval)
            reason = f"live watching is off: {failure}; rescanning every {every} instead"
            status = WatchStatus("polling", "; ".join([reason, *notes]))
            log.warning("library watcher: %s", status.reason)
        with self._cond:
            self._observer = observer
            self._polling = failure is not None
            self._next_poll = time.monotonic() + self._fallback_interval
            self._status = status
            self._cond.notify_all()
        return status

    def _watch(self, online: Mapping[int, str]) -> tuple[BaseObserver | None, str | None]:
        """A running observer with every online root scheduled, or (None, why not)."""
        path = ""
        try:
            observer = self._observer_factory()  # inotify: may already hit the instance limit
        except Exception as exc:
            return None, _failure_words(exc, path)
        try:
            # Started before scheduling: on a running observer, schedule() adds the watches
            # at once, so a failure surfaces here, for the root that caused it.
            observer.start()
            for root_id, path in online.items():
                handler = _RootHandler(root_id, self._note)
                observer.schedule(handler, path, recursive=True, event_filter=_WATCHED_EVENTS)
            if online and _uses_inotify(observer):
                path = next(iter(online.values()))
                if _watch_limit_reached(path):
                    raise OSError(errno.ENOSPC, "inotify watch limit reached")
        except Exception as exc:
            _dispose(observer)  # frees the watches we got: other programs need them too
            return None, _failure_words(exc, path)
        return observer, None

    # -- events and the worker ----------------------------------------------------------------

    def _note(self, root_id: int) -> None:
        """Called on an observer thread for every event that concerns music."""
        with self._cond:
            if self._worker is None or root_id not in self._root_ids:
                return  # a late event from a root just removed, or after stop()
            was_idle = not self._pending
            self._pending.add(root_id)
            self._last_event = time.monotonic()
            if was_idle:  # a busy worker already waits for an earlier deadline and re-checks
                self._cond.notify_all()

    def _run(self) -> None:
        me = threading.current_thread()
        while True:
            with self._cond:
                ids = self._next_batch(me)
            if ids is None:
                return
            if ids:
                try:
                    self._on_change(ids)
                except Exception:  # a bug in the receiver must not end live updates
                    log.exception("library watcher: on_change(%s) failed", sorted(ids))

    def _next_batch(self, me: threading.Thread) -> frozenset[int] | None:
        """Wait (holding _cond) for the next batch of root ids; None when this worker is done."""
        while self._worker is me:
            now = time.monotonic()
            waits: list[float] = []
            if self._pending:
                due = self._last_event + self._debounce
                if due <= now:
                    ids = frozenset(self._pending) & self._root_ids
                    self._pending.clear()
                    return ids
                waits.append(due - now)
            if self._polling:
                if self._next_poll <= now:
                    self._next_poll = now + self._fallback_interval
                    return self._root_ids
                waits.append(self._next_poll - now)
            self._cond.wait(min(waits) if waits else None)
        return None


def _dispose(observer: BaseObserver) -> None:
    """Stop an observer and join its threads, whether or not it was ever started.

    watchdog's InotifyObserver starts a reader thread in its constructor; stop() ends that one
    too, so it is called even for an observer whose start() failed.
    """
    try:
        observer.stop()
    except Exception:
        log.exception("library watcher: stopping the observer failed")
    if observer.ident is not None:  # join() raises for a thread never started
        observer.join(_JOIN_TIMEOUT)
        if observer.is_alive():
            log.error("library watcher: observer thread did not stop within %ss", _JOIN_TIMEOUT)


def _failure_words(exc: BaseException, path: str) -> str:
    """Why live watching is impossible, in words a user can act on."""
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return (
                "the system's limit on watched folders is reached"
                " (on Linux: raise fs.inotify.max_user_watches)"
            )
        if exc.errno == errno.EMFILE:
            return (
                "the system's limit on file watchers or open files is reached"
                " (on Linux: fs.inotify.max_user_instances)"
            )
        detail = exc.strerror or str(exc) or type(exc).__name__
        return f"cannot watch {path}: {detail}" if path else f"cannot start watching: {detail}"
    log.error("library watcher: unexpected error", exc_info=exc)
    return "an internal error stopped live watching (details in the log)"


def _duration_words(seconds: float) -> str:
    if seconds >= 120 and seconds % 60 == 0:
        return f"{int(seconds // 60)} minutes"
    return f"{seconds:g} seconds"


def _uses_inotify(observer: BaseObserver) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        from watchdog.observers.inotify import InotifyObserver
    except Exception:  # a libc without inotify
        return False
    return isinstance(observer, InotifyObserver)


_IN_CLOEXEC = 0o2000000
_IN_DELETE_SELF = 0x400


def _watch_limit_reached(path: str) -> bool:
    """Whether the kernel refuses this user one more inotify watch (ENOSPC).

    watchdog 7 raises the limit error only when a root folder itself cannot be watched; a
    sub-folder deeper down that hits the limit is skipped silently, which would leave part of
    a large library unwatched while the status says "live". If one spare watch in a throwaway
    inotify instance is refused right after scheduling, the limit was (or is about to be) hit,
    and new folders could not be watched either, so periodic rescans are the honest choice.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        init1, add_watch = libc.inotify_init1, libc.inotify_add_watch
    except (OSError, AttributeError):
        return False
    add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    fd = init1(_IN_CLOEXEC)
    if fd < 0:
        return False  # the instance limit: says nothing about watches, and ours already works
    try:
        return bool(add_watch(fd, os.fsencode(path), _IN_DELETE_SELF) < 0) and (
            ctypes.get_errno() == errno.ENOSPC
        )
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)  # closing the instance drops its watch
