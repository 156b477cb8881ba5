"""Long work off the UI thread: a serial queue of core jobs on a QThreadPool.

Each job opens its own catalog connection (SQLite connections are per thread; WAL lets the UI
keep reading while a job writes), runs one core call with a progress callback and a cancel
token, and hands its result or error back to the UI thread as a signal — workers never touch
widgets. Jobs run one at a time: the catalog has one writer, and queued jobs wait rather than
collide.
"""

from __future__ import annotations

import itertools
import logging
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from phonovault.core.catalog import Catalog
from phonovault.core.errors import PhonovaultError
from phonovault.core.jobs import CancelToken, Progress

log = logging.getLogger(__name__)

# A job body: (catalog, progress callback, cancel token) -> result
JobFn = Callable[[Catalog, Callable[[Progress], None], CancelToken], Any]


@dataclass(eq=False)
class Job:
    """A queued or running piece of work, as the jobs bar and the Activity view show it."""

    id: int
    title: str
    fn: JobFn
    cancel: CancelToken = field(default_factory=CancelToken)
    state: str = "queued"  # queued, running, done, failed, cancelled
    progress: Progress | None = None
    result: Any = None
    error: str | None = None
    queued_at: float = field(default_factory=time.time)
    finished_at: float | None = None


class _Signals(QObject):
    progress = Signal(object, object)  # job, Progress
    done = Signal(object, object, object)  # job, result, error text (or None)


class _Runnable(QRunnable):
    def __init__(self, job: Job, catalog_path: Path, signals: _Signals) -> None:
        super().__init__()
        self.job = job
        self.catalog_path = catalog_path
        self.signals = signals
        self.setAutoDelete(True)

    def run(self) -> None:
        job = self.job
        try:
            with Catalog(self.catalog_path) as catalog:
                result = job.fn(catalog, lambda p: self.signals.progress.emit(job, p), job.cancel)
        except PhonovaultError as exc:
            self.signals.done.emit(job, None, str(exc))
        except Exception:  # a bug: keep the traceback in the log, tell the user plainly
            log.error("job %r failed:\n%s", job.title, traceback.format_exc())
            self.signals.done.emit(job, None, "internal error (details in the log)")
        else:
            self.signals.done.emit(job, result, None)


class JobQueue(QObject):
    """Runs jobs one after another on a worker thread; all signals arrive on the UI thread."""

    queued = Signal(object)  # Job
    started = Signal(object)  # Job
    progressed = Signal(object)  # Job (job.progress updated)
    finished = Signal(object)  # Job (state done / failed / cancelled)
    idle = Signal()

    def __init__(self, catalog_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.catalog_path = catalog_path
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.progress.connect(self._on_progress)
        self._signals.done.connect(self._on_done)
        self._waiting: deque[Job] = deque()
        self._ids = itertools.count(1)
        self.current: Job | None = None
        self.history: list[Job] = []

    def submit(self, title: str, fn: JobFn) -> Job:
        job = Job(next(self._ids), title, fn)
        self._waiting.append(job)
        self.queued.emit(job)
        self._next()
        return job

    def pending(self) -> list[Job]:
        return ([self.current] if self.current else []) + list(self._waiting)

    def cancel(self, job: Job | None = None) -> None:
        """Cancel one job (the running one by default); a queued job is simply dropped."""
        job = job or self.current
        if job is None:
            return
        if job in self._waiting:
            self._waiting.remove(job)
            job.state = "cancelled"
            job.finished_at = time.time()
            self.history.append(job)
            self.finished.emit(job)
        else:
            job.cancel.cancel()

    def cancel_all(self) -> None:
        for job in list(self._waiting):
            self.cancel(job)
        self.cancel()

    def wait(self, msecs: int = -1) -> bool:
        """Block until the worker is idle (tests and shutdown only)."""
        return self._pool.waitForDone(msecs)

    def is_busy(self) -> bool:
        return self.current is not None or bool(self._waiting)

    def _next(self) -> None:
        if self.current is not None or not self._waiting:
            return
        job = self._waiting.popleft()
        job.state = "running"
        self.current = job
        self.started.emit(job)
        self._pool.start(_Runnable(job, self.catalog_path, self._signals))

    def _on_progress(self, job: Job, progress: Progress) -> None:
        job.progress = progress
        self.progressed.emit(job)

    def _on_done(self, job: Job, result: Any, error: str | None) -> None:
        job.result = result
        job.error = error
        cancelled = job.cancel.cancelled or bool(getattr(result, "cancelled", False))
        job.state = "failed" if error else "cancelled" if cancelled else "done"
        job.finished_at = time.time()
        self.current = None
        self.history.append(job)
        self.finished.emit(job)
        self._next()
        if self.current is None:
            self.idle.emit()
