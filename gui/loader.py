"""Catalog reads off the UI thread: :class:`BackgroundQuery`.

At 200k files one ``GROUP BY`` over the catalog takes most of a second, and the window re-reads
several of them after every job. A :class:`BackgroundQuery` runs ``fn(catalog)`` on a pool
thread with its own catalog connection (SQLite connections are per thread; WAL lets it read
while a job writes) and hands the result back to the UI thread as one signal; the function
never touches a widget (STYLE.md, habit 2).

Only the latest request counts. A request made while another runs waits for it (one read at a
time per query, so bursts of refreshes do not pile up threads) and the overtaken result is
dropped, never shown: a view only ever shows what it read last.
"""

from __future__ import annotations

import gc
import logging
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from phonovault.core.catalog import Catalog
from phonovault.core.errors import PhonovaultError

log = logging.getLogger(__name__)

QueryFn = Callable[[Catalog], Any]


def _call(fn: QueryFn, catalog: Catalog) -> tuple[bool, Any]:
    """(True, result) or (False, a message for people); bugs keep their traceback in the log."""
    try:
        return True, fn(catalog)
    except PhonovaultError as exc:
        return False, str(exc)
    except Exception:  # a bug, not a property of the catalog
        log.error("reading the catalog failed:\n%s", traceback.format_exc())
        return False, "internal error (details in the log)"


def _call_on_own_connection(path: str, fn: QueryFn) -> tuple[bool, Any]:
    try:
        catalog = Catalog(path, create=False)
    except PhonovaultError as exc:
        return False, str(exc)
    try:
        return _call(fn, catalog)
    finally:
        catalog.close()


_gc_lock = threading.Lock()
_gc_deferrals = 0
_gc_thresholds = gc.get_threshold()


@contextmanager
def full_collections_deferred() -> Iterator[None]:
    """Hold off the garbage collector's full collections while a read builds many objects.

    A full collection walks every tracked object with the GIL held, so the UI thread cannot
    run Python meanwhile: reading 200k library rows (named tuples, which stay tracked) set off
    three of them, ~100 ms each. Young collections still run (they untrack plain tuples as
    they come); the full collection due runs at the next trigger after the read. Nests and
    may be used from several threads at once.
    """
    global _gc_deferrals, _gc_thresholds
    with _gc_lock:
        if _gc_deferrals == 0:
            _gc_thresholds = gc.get_threshold()
            gc.set_threshold(_gc_thresholds[0], _gc_thresholds[1], 1 << 30)
        _gc_deferrals += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_deferrals -= 1
            if _gc_deferrals == 0:
                gc.set_threshold(*_gc_thresholds)


class _Signals(QObject):
    done = Signal(int, bool, object)  # generation, ok, result or error message


class BackgroundQuery(QObject):
    """Runs ``fn(catalog)`` off the UI thread; ``finished(result)`` or ``failed(message)``
    arrive on the UI thread, for the latest :meth:`request` only.

    An in-memory catalog cannot be opened a second time, so there the function runs at once
    on the UI thread's own connection and the signal is emitted before :meth:`request`
    returns.
    """

    finished = Signal(object)  # the latest request's result
    failed = Signal(str)  # why the latest request could not be answered

    def __init__(self, catalog: Catalog, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._catalog = catalog
        path = str(catalog.path)
        self._path = None if path == ":memory:" else path
        # Made before the signals object, so it is destroyed (and waits for a running read)
        # before them: a late read can always emit.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.done.connect(self._landed)
        self._generation = 0
        self._running = False
        self._pending: QueryFn | None = None

    def request(self, fn: QueryFn) -> None:
        """Read ``fn(catalog)``; any result still outstanding is dropped when it arrives."""
        self._generation += 1
        if self._path is None:
            self._deliver(self._generation, *_call(fn, self._catalog))
        elif self._running:
            self._pending = fn  # replaces an earlier waiting request: only the latest counts
        else:
            self._start(fn)

    def is_busy(self) -> bool:
        """Whether a requested result has not arrived yet."""
        return self._running

    def wait(self, msecs: int = -1) -> bool:
        """Block until no read runs (tests and shutdown; results still arrive as signals)."""
        return self._pool.waitForDone(msecs)

    def _start(self, fn: QueryFn) -> None:
        self._running = True
        generation, path, done = self._generation, self._path, self._signals.done
        assert path is not None
        self._pool.start(lambda: done.emit(generation, *_call_on_own_connection(path, fn)))

    def _landed(self, generation: int, ok: bool, value: Any) -> None:
        self._running = False
        if self._pending is not None:  # a newer request waited for this one: run it now
            fn, self._pending = self._pending, None
            self._start(fn)
        self._deliver(generation, ok, value)

    def _deliver(self, generation: int, ok: bool, value: Any) -> None:
        if generation != self._generation:
            return  # overtaken by a newer request
        if ok:
            self.finished.emit(value)
        else:
            self.failed.emit(value)
