"""Indexing: walk the roots, read what is new or changed, and keep the catalog in step.

Incremental by design: a file whose (size, mtime_ns, inode) is unchanged is not opened, so a
rescan of an unchanged library is a stat walk. New and changed files are read once each, on
worker threads, for both hashes and the tags. Writes are batched and committed every half
second, so a killed scan simply resumes: what was committed is skipped next time.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from phonovault.core.catalog import Catalog, KnownFile, Observation, Root
from phonovault.core.fixity import HashCancelled
from phonovault.core.jobs import CancelToken, ProgressCallback, ProgressMeter, parallel_map
from phonovault.core.reading import FileReadError, observe
from phonovault.core.verify import MESSAGES, record_problem, record_read
from phonovault.core.walk import Entry, root_offline_reason, walk_root


@dataclass(frozen=True, slots=True)
class FailedFile:
    path: str
    reason: str


@dataclass(slots=True)
class ScanReport:
    indexed: int = 0  # new files added to the catalog
    updated: int = 0  # known files re-read because their size, mtime or inode changed
    unchanged: int = 0
    skipped: int = 0  # files that are not music
    failed: list[FailedFile] = field(default_factory=list)
    missing: int = 0
    moved: list[tuple[str, str]] = field(default_factory=list)  # (from, to)
    states: Counter[str] = field(default_factory=Counter)  # verdicts on re-read known files
    notes: list[tuple[str, str]] = field(default_factory=list)  # e.g. links not followed
    offline_roots: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0
    bytes_read: int = 0


@dataclass(frozen=True, slots=True)
class ScanOptions:
    workers: int = 2
    algorithm: str = "blake3"
    with_sha256: bool = False


def scan(
    catalog: Catalog,
    *,
    root_ids: Sequence[int] | None = None,
    options: ScanOptions | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> ScanReport:
    """Bring the catalog in step with the files under the given roots (all when None)."""
    started = time.monotonic()
    options = options or ScanOptions()
    cancel = cancel or CancelToken()
    report = ScanReport()
    for root in catalog.roots():
        if root_ids is not None and root.id not in root_ids:
            continue
        if cancel.cancelled:
            break
        _scan_root(catalog, root, options, progress, cancel, report)
    report.cancelled = cancel.cancelled
    report.seconds = time.monotonic() - started
    return report


def _scan_root(
    catalog: Catalog,
    root: Root,
    options: ScanOptions,
    progress: ProgressCallback | None,
    cancel: CancelToken,
    report: ScanReport,
) -> None:
    known = catalog.known_files(root.id)
    reason = root_offline_reason(
        root.path, was_mount=root.was_mount, expect_files=any(k.present for k in known.values())
    )
    if reason:
        report.offline_roots.append((root.path, reason))
        return
    walk = walk_root(root.path, should_stop=lambda: cancel.cancelled)
    if cancel.cancelled:
        return
    report.skipped += walk.skipped
    for path, why in walk.problems:
        if path in walk_dirs(root.path, walk.unreadable_dirs):
            report.failed.append(FailedFile(path, why))
        else:
            report.notes.append((path, why))
    todo: list[Entry] = []
    for entry in walk.entries:
        k = known.get(entry.relpath)
        if (
            k is not None
            and k.present
            and k.file_hash is not None
            and (k.size, k.mtime_ns, k.inode) == (entry.size, entry.mtime_ns, entry.inode)
        ):
            report.unchanged += 1
        else:
            todo.append(entry)
    seen = {e.relpath for e in walk.entries}
    blocked = tuple(d.rstrip(b"/") + b"/" for d in walk.unreadable_dirs)
    gone = {
        rel: k
        for rel, k in known.items()
        if k.present and rel not in seen and not (blocked and rel.startswith(blocked))
    }
    meter = ProgressMeter("scan", progress, total=len(todo), bytes_total=sum(e.size for e in todo))
    _read_all(catalog, root, todo, known, _Gone(gone), options, meter, cancel, report)
    meter.finish()
    report.bytes_read += meter.bytes_done
    if cancel.cancelled:
        return  # gone files may yet turn up as moves: judge them next time
    now = time.time()
    with catalog.transaction():
        for k in gone.values():
            record_problem(catalog, catalog.file(k.id), "missing", MESSAGES["missing"], now)
            report.missing += 1
    catalog.mark_root_scanned(root.id, now)


def walk_dirs(root: str, relpaths: list[bytes]) -> set[str]:
    return {os.path.normpath(os.path.join(root, os.fsdecode(r))) for r in relpaths}


def _read_all(
    catalog: Catalog,
    root: Root,
    todo: list[Entry],
    known: dict[bytes, KnownFile],
    gone: _Gone,
    options: ScanOptions,
    meter: ProgressMeter,
    cancel: CancelToken,
    report: ScanReport,
) -> None:
    def read(entry: Entry) -> Observation:
        return observe(
            entry.path,
            entry.relpath,
            algorithm=options.algorithm,
            with_sha256=options.with_sha256,
            on_bytes=meter.add_bytes,
            should_stop=lambda: cancel.cancelled,
        )

    with catalog.batch() as batch:
        for entry, obs, exc in parallel_map(read, todo, options.workers, lambda: cancel.cancelled):
            if isinstance(exc, HashCancelled):
                continue
            if exc is not None and not isinstance(exc, FileReadError):
                raise exc
            now = time.time()
            if isinstance(exc, FileReadError):
                report.failed.append(FailedFile(entry.path, exc.reason))
                if not exc.changed_during_read:
                    _store_unreadable(catalog, entry, known.get(entry.relpath), root, exc, now)
            else:
                assert obs is not None
                _store(catalog, root, entry, obs, known.get(entry.relpath), gone, report, now)
            meter.file_done(entry.path)
            batch.tick()


def _store(
    catalog: Catalog,
    root: Root,
    entry: Entry,
    obs: Observation,
    k: KnownFile | None,
    gone: _Gone,
    report: ScanReport,
    now: float,
) -> None:
    if k is None:
        origin = gone.take(obs)
        if origin is not None:
            old = os.path.join(root.path, os.fsdecode(origin.relpath))
            record_read(catalog, catalog.file(origin.id), obs, now, verified=True, moved_from=old)
            report.moved.append((old, entry.path))
            file_id = origin.id
        else:
            file_id = catalog.insert_file(root.id, obs, state="ok", now=now)
            catalog.update_file(file_id, last_verified=now)
            catalog.add_history(
                file_id,
                "ok",
                now,
                digests=obs.digests,
                size=obs.size,
                mtime_ns=obs.mtime_ns,
                detail="first seen",
            )
            report.indexed += 1
    else:
        file_id = k.id
        state = record_read(catalog, catalog.file(k.id), obs, now, verified=True)
        report.states[state] += 1
        report.updated += 1
    if obs.tag_error:
        report.failed.append(FailedFile(entry.path, f"tags unreadable: {obs.tag_error}"))
        catalog.set_finding(
            file_id, "unreadable-tags", f"tags cannot be read: {obs.tag_error}", now
        )
    else:
        catalog.clear_findings(file_id, ["unreadable-tags"])


class _Gone:
    """Files that vanished from their path, indexed by hash to recognise where they went."""

    def __init__(self, gone: dict[bytes, KnownFile]) -> None:
        self.by_path = gone
        self._by_file = {k.file_hash: k for k in gone.values() if k.file_hash}
        self._by_audio = {k.audio_hash: k for k in gone.values() if k.audio_hash}

    def take(self, obs: Observation) -> KnownFile | None:
        """The vanished file with the same bytes (or the same audio), removed from the set."""
        d = obs.digests
        if d is None:
            return None
        k = self._by_file.get(d.file_hash)
        if k is None and d.audio_method != "file":
            k = self._by_audio.get(d.audio_hash)
        if k is None or k.relpath not in self.by_path:
            return None
        del self.by_path[k.relpath]
        return k


def _store_unreadable(
    catalog: Catalog, entry: Entry, k: KnownFile | None, root: Root, exc: FileReadError, now: float
) -> None:
    if k is None:
        obs = Observation(entry.relpath, entry.size, entry.mtime_ns, entry.inode, None, None, None)
        file_id = catalog.insert_file(root.id, obs, state="unreadable", now=now)
        catalog.update_file(file_id, state_detail=exc.reason)
        catalog.set_finding(file_id, "unreadable", exc.reason, now)
        catalog.add_history(file_id, "unreadable", now, detail=exc.reason)
    else:
        record_problem(catalog, catalog.file(k.id), "unreadable", exc.reason, now)
