"""A large scan's reads, in worker processes.

Reading a file for the catalog is two jobs: hashing it (the reads and BLAKE3 release the GIL)
and parsing its tags (mutagen: pure Python, it holds the GIL). On threads, one file's parsing
waits for the others': two threads kept 1.7 of 2 cores busy and a 100,000-file scan was bound
by one core. Each worker process has a GIL of its own, so N readers use N cores while the
parent keeps the catalog. Processes cost a start (about 0.1 s each) and pickling the results,
so small scans stay on threads: :data:`MIN_FILES`.

Workers are spawned, never forked: the GUI scans from a thread beside Qt (and they never
re-run the caller's script: :mod:`phonovault.core.spawning`). They get files in chunks (up
to 128 files or 32 MiB per round trip) and read large files two at a time, so one file's tags
are parsed while the other's bytes are read and hashed: that also keeps a cold disk's queue
busier. They report bytes as they read them through shared counters (progress keeps moving
during a long file), and stop within a read chunk when the parent sets the shared cancel
event. If a worker dies (killed, out of memory), what was not read yet is read on threads in
the parent: the scan finishes either way.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from phonovault.core.catalog import Observation
from phonovault.core.fixity.reading import FileReadError, observe
from phonovault.core.identity.digests import HashCancelled
from phonovault.core.library.walk import Entry
from phonovault.core.spawning import spawn_context, without_main

MIN_FILES = 64  # fewer files than this are read on threads: starting processes would not pay
CHUNK_FILES = 128  # files per round trip to a worker ...
CHUNK_BYTES = 32 << 20  # ... or fewer, once their sizes add up to this
THREADS_PER_WORKER = 2  # files a worker reads at once, when they are large:
THREADS_MIN_AVERAGE = 1 << 20  # a chunk's average size from which that pays

Outcome = tuple[Entry, Observation | None, BaseException | None]


@dataclass(frozen=True, slots=True)
class _WorkerState:
    cancel: Any  # multiprocessing Event, shared with the parent
    counters: Any  # RawArray of int64: bytes read, one slot per worker
    slot: int
    algorithm: str
    with_sha256: bool
    threads: ThreadPoolExecutor
    lock: threading.Lock


_state: _WorkerState | None = None


def _init_worker(cancel: Any, counters: Any, next_slot: Any, algorithm: str,
                 with_sha256: bool) -> None:  # fmt: skip
    # Ctrl-C in a terminal reaches the whole process group; stopping is the parent's call.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with next_slot.get_lock():
        slot = next_slot.value % len(counters)
        next_slot.value += 1
    global _state
    threads = ThreadPoolExecutor(THREADS_PER_WORKER, thread_name_prefix="phonovault-read")
    _state = _WorkerState(cancel, counters, slot, algorithm, with_sha256, threads,
                          threading.Lock())  # fmt: skip


def _read_chunk(items: list[tuple[str, bytes, int]]) -> list[Observation | BaseException]:
    """In a worker: observe the files ``(path, relpath, size)``; trouble comes back as the
    exception. Large files are read two at a time: one thread's tags are parsed while the
    other's bytes are read and hashed. Small ones one after the other: their cost is Python
    work, and two threads would only take turns on the GIL (measured: 28 s -> 44 s for 100k
    tiny files)."""
    state = _state
    assert state is not None, "_init_worker did not run"
    counters, slot, lock = state.counters, state.slot, state.lock

    def on_bytes(n: int) -> None:
        with lock:
            counters[slot] += n

    def one(item: tuple[str, bytes, int]) -> Observation | BaseException:
        if state.cancel.is_set():
            return HashCancelled("stopped before reading")
        path, relpath, _ = item
        try:
            return observe(path, relpath, algorithm=state.algorithm,
                           with_sha256=state.with_sha256, on_bytes=on_bytes,
                           should_stop=state.cancel.is_set)  # fmt: skip
        except (FileReadError, HashCancelled) as exc:
            return exc

    sizes = sum(size for _, _, size in items)
    if len(items) > 1 and sizes >= THREADS_MIN_AVERAGE * len(items):
        return list(state.threads.map(one, items))
    return [one(item) for item in items]


def chunked(entries: Iterable[Entry], files: int, size: int) -> Iterator[list[Entry]]:
    """Consecutive runs of ``entries`` of at most ``files`` files, closed early once their
    sizes reach ``size`` (one large file is a chunk of its own)."""
    chunk: list[Entry] = []
    total = 0
    for entry in entries:
        chunk.append(entry)
        total += entry.size
        if len(chunk) >= files or total >= size:
            yield chunk
            chunk, total = [], 0
    if chunk:
        yield chunk


def process_map(
    entries: list[Entry],
    *,
    workers: int,
    algorithm: str,
    with_sha256: bool,
    should_stop: Callable[[], bool],
    on_tick: Callable[[], None],
    on_bytes: Callable[[int], None],
    fallback: Callable[[list[Entry]], Iterator[Outcome]],
) -> Iterator[Outcome]:
    """Observe ``entries`` on ``workers`` processes, yielding ``(entry, observation, error)``
    as each chunk comes back, like :func:`phonovault.core.jobs.parallel_map`.

    ``on_tick()`` is called about ten times a second, after ``on_bytes(n)`` has been told what
    the workers read since the last call. When ``should_stop()`` turns true nothing new is
    started and the workers stop at their next read. ``fallback(rest)`` reads what a broken
    pool left unread (on threads); its outcomes are yielded in turn.
    """
    run = _Processes(entries, workers, algorithm, with_sha256, should_stop, on_bytes)
    try:
        yield from run.outcomes(on_tick)
    finally:
        run.close()
    if run.broken:
        yield from fallback(run.unread())


class _Processes:
    """One :func:`process_map` call: the worker pool, the chunks in flight, the bytes counted
    so far, and what is left unread when the pool breaks."""

    def __init__(
        self, entries: list[Entry], workers: int, algorithm: str, with_sha256: bool,
        should_stop: Callable[[], bool], on_bytes: Callable[[int], None],
    ) -> None:  # fmt: skip
        ctx = spawn_context()
        self.cancel = ctx.Event()
        self.counters = ctx.RawArray("q", workers)
        next_slot = ctx.Value("i", 0)
        self.chunks = chunked(entries, CHUNK_FILES, CHUNK_BYTES)
        self.pending: dict[Future[list[Observation | BaseException]], list[Entry]] = {}
        self.counted = 0
        self.workers = workers
        self.should_stop = should_stop
        self.on_bytes = on_bytes
        init_args = (self.cancel, self.counters, next_slot, algorithm, with_sha256)
        self.pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                        initargs=init_args)  # fmt: skip
        self.broken = False
        self.leftover: list[Entry] = []  # unread when the pool broke: read on threads

    def outcomes(self, on_tick: Callable[[], None]) -> Iterator[Outcome]:
        """The outcomes of every chunk, as each comes back, until all are read, the pool
        breaks, or ``should_stop()`` (the workers are then told to stop at their next read)."""
        with without_main():
            self._fill()  # the first submits start every worker; later ones start none
        pending = self.pending
        while pending and not self.broken:
            done, _ = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            if self.should_stop():
                self.cancel.set()
            self._pump()
            on_tick()
            for fut in done:
                chunk = pending.pop(fut)
                try:
                    results = fut.result()
                except BrokenProcessPool:
                    self._broke(chunk)
                    break
                for entry, result in zip(chunk, results, strict=True):
                    if isinstance(result, Observation):
                        yield entry, result, None
                    else:
                        yield entry, None, result
            if not self.broken:
                self._fill()

    def close(self) -> None:
        self.cancel.set()
        self.pool.shutdown(wait=True, cancel_futures=True)

    def unread(self) -> list[Entry]:
        """What a broken pool left unread. Chunks still pending were not yielded (a finished
        one is simply read again)."""
        leftover = self.leftover
        leftover += [e for chunk in self.pending.values() for e in chunk]
        leftover += [e for chunk in self.chunks for e in chunk]
        return leftover

    def _pump(self) -> None:
        """Tell ``on_bytes`` what the workers read since the last call."""
        total = sum(self.counters)
        if total > self.counted:
            self.on_bytes(total - self.counted)
            self.counted = total

    def _fill(self) -> None:
        """Submit chunks until two per worker are in flight (no more once ``should_stop()``)."""
        while len(self.pending) < 2 * self.workers and not self.should_stop():
            chunk = next(self.chunks, None)
            if chunk is None:
                return
            try:
                fut = self.pool.submit(_read_chunk, [(e.path, e.relpath, e.size) for e in chunk])
            except BrokenProcessPool:
                self._broke(chunk)
                return
            self.pending[fut] = chunk

    def _broke(self, chunk: list[Entry]) -> None:
        self.broken = True
        self.leftover.extend(chunk)
