"""Long work as cancellable jobs that report progress.

The scanner and the verifier are plain loops that take a :class:`CancelToken` and a progress
callback; the CLI draws a progress bar from the callbacks, the GUI turns them into signals.
Updates are throttled here (at most ten a second), so neither face has to.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TypeVar

from phonovault.core.errors import PhonovaultError

T = TypeVar("T")
R = TypeVar("R")


class Cancelled(PhonovaultError):
    """The user cancelled the job; what was done so far is committed."""


class CancelToken:
    """A flag another thread sets; long loops check it between files."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancellation was asked for."""
        if self._event.is_set():
            raise Cancelled("cancelled")


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot of a job: counts, bytes, and what it is doing now."""

    phase: str
    done: int = 0
    total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    elapsed: float = 0.0
    current: str = ""

    @property
    def bytes_rate(self) -> float:
        """Bytes per second so far."""
        return self.bytes_done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def files_rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left, from bytes when known (files differ in size), else from counts."""
        if self.bytes_total and self.bytes_done:
            return max(0.0, (self.bytes_total - self.bytes_done) / self.bytes_rate)
        if self.total and self.done:
            return max(0.0, (self.total - self.done) / self.files_rate)
        return None


ProgressCallback = Callable[[Progress], None]


@dataclass(slots=True)
class ProgressMeter:
    """Accumulates counts from a loop and forwards a :class:`Progress` at most every
    ``interval`` seconds (the final one always goes through)."""

    phase: str
    callback: ProgressCallback | None = None
    total: int = 0
    bytes_total: int = 0
    interval: float = 0.1
    done: int = 0
    bytes_done: int = 0
    current: str = ""
    _start: float = field(default_factory=time.monotonic)
    _last: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_bytes(self, n: int) -> None:
        """Called from worker threads as they read; only counts (reports go out from the
        thread that drives the loop, through :meth:`tick` and :meth:`file_done`)."""
        with self._lock:
            self.bytes_done += n

    def tick(self) -> None:
        """Report if the interval has passed (the driving loop calls this while it waits)."""
        self._maybe_emit()

    def file_done(self, current: str = "") -> None:
        self.done += 1
        self.current = current
        self._maybe_emit()

    def snapshot(self) -> Progress:
        return Progress(
            self.phase,
            self.done,
            self.total,
            self.bytes_done,
            self.bytes_total,
            time.monotonic() - self._start,
            self.current,
        )

    def _maybe_emit(self) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self.callback(self.snapshot())

    def finish(self) -> None:
        if self.callback is not None:
            self.callback(self.snapshot())


def parallel_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    workers: int,
    should_stop: Callable[[], bool] | None = None,
    on_tick: Callable[[], None] | None = None,
) -> Iterator[tuple[T, R | None, BaseException | None]]:
    """Run ``fn`` over ``items`` on ``workers`` threads, yielding ``(item, result, error)`` as
    each finishes. At most ``2 * workers`` items are in flight, so memory stays flat on a
    100k-file library; when ``should_stop()`` turns true, nothing new is started."""
    it = iter(items)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="phonovault") as pool:
        pending: dict[Future[R], T] = {}

        def fill() -> None:
            while len(pending) < 2 * max(1, workers):
                if should_stop is not None and should_stop():
                    return
                try:
                    item = next(it)
                except StopIteration:
                    return
                pending[pool.submit(fn, item)] = item

        fill()
        while pending:
            done, _ = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            if on_tick is not None:
                on_tick()  # progress keeps flowing while one large file is being read
            for fut in done:
                item = pending.pop(fut)
                exc = fut.exception()
                yield item, (None if exc else fut.result()), exc
            fill()


def format_size(n: float) -> str:
    """Bytes for people, in powers of 1000 as file managers show them: "1.2 GB"."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def format_duration(seconds: float) -> str:
    """A clock reading for an ETA: "4:05", "1:02:03"."""
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
