"""Indexing: walk the roots, read what is new or changed, and keep the catalog in step.

Incremental by design: a file whose (size, mtime_ns, inode) is as last seen is not opened, so
a rescan of an unchanged library is a stat walk. New and changed files are read once each, on
worker threads (in worker processes for a large scan: phonovault.core.fixity.readpool), for both
hashes and the tags. Writes are batched and committed every half second, so a killed scan
simply resumes: what was committed is skipped next time.
"""

from __future__ import annotations

import errno
import os
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from phonovault.core.catalog import Catalog, KnownFile, Observation, Root
from phonovault.core.fixity.evidence import Evidence, Stat, for_root, last_seen
from phonovault.core.fixity.filesystems import DEFAULT_TRAITS
from phonovault.core.fixity.judge import (
    UNPLUG_ERRNOS,
    GoneSet,
    abs_path,
    note_tags,
    record_new,
    record_problem,
    record_read,
    settle_gone,
)
from phonovault.core.fixity.reading import FileReadError, observe
from phonovault.core.fixity.readpool import MIN_FILES, Outcome, process_map
from phonovault.core.identity.digests import HashCancelled
from phonovault.core.jobs import CancelToken, ProgressCallback, ProgressMeter, parallel_map
from phonovault.core.library.walk import Entry, WalkResult, root_offline_reason, walk_root


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
    # Where the reads run: "auto" (processes for a large scan with several workers, see
    # phonovault.core.fixity.readpool), "threads" or "processes".
    readers: str = "auto"


def _entry_stat(entry: Entry) -> Stat:
    return Stat(entry.size, entry.mtime_ns, entry.inode)


def _use_processes(options: ScanOptions, files: int) -> bool:
    if options.readers not in ("auto", "threads", "processes"):
        raise ValueError(f"unknown readers {options.readers!r}")
    if options.readers == "auto":
        return options.workers > 1 and files >= MIN_FILES
    return options.readers == "processes"


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
    roots = [r for r in catalog.roots() if root_ids is None or r.id in root_ids]
    job_id = catalog.start_job("scan", {"roots": sorted(r.id for r in roots)}, time.time())
    for root in roots:
        if cancel.cancelled:
            break
        _RootScan(catalog, root, options, progress, cancel, report).run()
    catalog.finish_job(job_id, "cancelled" if cancel.cancelled else "done", time.time())
    report.cancelled = cancel.cancelled
    report.seconds = time.monotonic() - started
    return report


class _RootScan:
    """One root's pass: walk, read what changed, then judge what vanished."""

    def __init__(self, catalog: Catalog, root: Root, options: ScanOptions,
                 progress: ProgressCallback | None, cancel: CancelToken, report: ScanReport
                 ) -> None:  # fmt: skip
        self.catalog = catalog
        self.root = root
        self.options = options
        self.progress = progress
        self.cancel = cancel
        self.report = report
        self.offline: str | None = None  # set when the root vanished mid-scan
        self.evidence = Evidence(DEFAULT_TRAITS)  # this root's, once the walk is done

    def stopped(self) -> bool:
        return self.cancel.cancelled or self.offline is not None

    def run(self) -> None:
        catalog, root, report = self.catalog, self.root, self.report
        known = catalog.known_files(root.id)
        reason = root_offline_reason(
            root.path, was_mount=root.was_mount, expect_files=any(k.present for k in known.values())
        )
        if reason:
            report.offline_roots.append((root.path, reason))
            return
        walk = walk_root(root.path, should_stop=lambda: self.cancel.cancelled)
        if self.cancel.cancelled:
            return
        self.evidence = for_root(root.path, self._pairs(walk, known))
        todo = self._triage(walk, known)
        unseen = self._unseen(walk, known)
        gone = GoneSet(unseen)
        meter = ProgressMeter(
            "scan", self.progress, total=len(todo), bytes_total=sum(e.size for e in todo)
        )
        self._read_all(todo, known, gone, meter)
        meter.finish()
        report.bytes_read += meter.bytes_done
        if self.cancel.cancelled or self._went_offline():
            return  # vanished files may yet turn up as moves: judge them next time
        now = time.time()
        with catalog.transaction():
            for k, state, where in settle_gone(catalog, root, gone, now):
                if state == "moved" and where:
                    report.moved.append((abs_path(root, k.relpath), where))
                else:
                    report.missing += 1
        catalog.mark_root_scanned(root.id, now)

    def _triage(self, walk: WalkResult, known: dict[bytes, KnownFile]) -> list[Entry]:
        report = self.report
        report.skipped += walk.skipped
        listed_failures = {os.path.normpath(abs_path(self.root, d)) for d in walk.unreadable_dirs}
        listed_failures |= {abs_path(self.root, b) for b in walk.blocked}
        for path, why in walk.problems:
            if path in listed_failures:
                report.failed.append(FailedFile(path, why))
            else:
                report.notes.append((path, why))
        todo: list[Entry] = []
        renumbered: list[tuple[int, int]] = []
        evidence, sha = self.evidence, self.options.with_sha256
        for entry in walk.entries:
            k = known.get(entry.relpath)
            if (k is not None and k.present and k.file_hash is not None
                    and evidence.unchanged(last_seen(k), _entry_stat(entry))
                    and not (sha and not k.has_sha256)):  # fmt: skip
                report.unchanged += 1
                if k.seen_inode != entry.inode and evidence.traits.inode_stable:
                    renumbered.append((k.id, entry.inode))
            else:
                todo.append(entry)
        if renumbered:  # a remounted root: its new numbers are evidence again next time
            with self.catalog.transaction():
                self.catalog.set_seen_inodes(renumbered)
        return todo

    @staticmethod
    def _pairs(walk: WalkResult, known: dict[bytes, KnownFile]) -> list[tuple[Stat, Stat]]:
        """(last seen, now) stats of the files the walk found, for the remount check."""
        out = []
        for entry in walk.entries:
            k = known.get(entry.relpath)
            if k is not None and k.present:
                out.append((last_seen(k), _entry_stat(entry)))
        return out

    @staticmethod
    def _unseen(walk: WalkResult, known: dict[bytes, KnownFile]) -> list[KnownFile]:
        """Known present files the walk did not find, leaving out those it could not see
        (in a folder it could not list, or a file it could not stat)."""
        seen = {e.relpath for e in walk.entries}
        blocked = set(walk.blocked)
        prefixes = tuple(d.rstrip(b"/") + b"/" for d in walk.unreadable_dirs if d != b".")
        everything_blocked = b"." in walk.unreadable_dirs
        return [
            k
            for rel, k in known.items()
            if k.present
            and rel not in seen
            and rel not in blocked
            and not everything_blocked
            and not (prefixes and rel.startswith(prefixes))
        ]

    def _went_offline(self) -> bool:
        if self.offline is None:
            self.offline = root_offline_reason(
                self.root.path, was_mount=self.root.was_mount, expect_files=True
            )
        if self.offline is not None:
            if (self.root.path, self.offline) not in self.report.offline_roots:
                self.report.offline_roots.append((self.root.path, self.offline))
            return True
        return False

    def _read_all(self, todo: list[Entry], known: dict[bytes, KnownFile], gone: GoneSet,
                  meter: ProgressMeter) -> None:  # fmt: skip
        options = self.options

        def read(entry: Entry) -> Observation:
            return observe(
                entry.path,
                entry.relpath,
                algorithm=options.algorithm,
                with_sha256=options.with_sha256,
                on_bytes=meter.add_bytes,
                should_stop=self.stopped,
            )

        def on_threads(entries: list[Entry]) -> Iterator[Outcome]:
            return parallel_map(read, entries, options.workers, self.stopped, on_tick=meter.tick)

        if not _use_processes(options, len(todo)):
            outcomes = on_threads(todo)
        else:
            outcomes = process_map(
                todo,
                workers=options.workers,
                algorithm=options.algorithm,
                with_sha256=options.with_sha256,
                should_stop=self.stopped,
                on_tick=meter.tick,
                on_bytes=meter.add_bytes,
                fallback=on_threads,
            )
        with self.catalog.batch() as batch:
            for entry, obs, exc in outcomes:
                if isinstance(exc, HashCancelled) or self.offline is not None:
                    continue
                if exc is not None and not isinstance(exc, FileReadError):
                    raise exc
                if isinstance(exc, FileReadError):
                    self._read_failed(entry, known.get(entry.relpath), gone, exc)
                else:
                    assert obs is not None
                    self._store(entry, obs, known.get(entry.relpath), gone, time.time())
                meter.file_done(entry.path)
                batch.tick()

    def _read_failed(self, entry: Entry, k: KnownFile | None, gone: GoneSet,
                     exc: FileReadError) -> None:  # fmt: skip
        if exc.errno in UNPLUG_ERRNOS and self._went_offline():
            return  # the drive went away: judge nothing more on it
        if exc.changed_during_read:
            self.report.failed.append(FailedFile(entry.path, exc.reason))
            return
        if exc.errno == errno.ENOENT:  # vanished between the walk and the read
            if k is not None and k.present:
                gone.add(k)  # maybe moved: settled with the other vanished files
            return
        self.report.failed.append(FailedFile(entry.path, exc.reason))
        now = time.time()
        if k is None:
            obs = Observation(
                entry.relpath, entry.size, entry.mtime_ns, entry.inode, None, None, None
            )
            file_id = self.catalog.insert_file(self.root.id, obs, state="unreadable", now=now)
            k = self.catalog.known_file(file_id)
        record_problem(self.catalog, k, "unreadable", exc.reason, now)

    def _store(self, entry: Entry, obs: Observation, k: KnownFile | None, gone: GoneSet,
               now: float) -> None:  # fmt: skip
        catalog, report = self.catalog, self.report
        if k is None:
            origin = gone.take(obs, entry.path)
            if origin is not None:
                old = abs_path(self.root, origin.relpath)
                record_read(catalog, self.root, origin, obs, now, moved_from=old,
                            evidence=self.evidence)  # fmt: skip
                report.moved.append((old, entry.path))
                file_id = origin.id
            else:
                file_id = None  # record_new keeps its unreadable-tags finding itself
                record_new(catalog, self.root, obs, now)
                report.indexed += 1
        else:
            file_id = k.id
            verdict = record_read(catalog, self.root, k, obs, now, evidence=self.evidence)
            report.states[verdict.state] += 1
            report.updated += 1
        if obs.tag_error:
            report.failed.append(FailedFile(entry.path, f"tags unreadable: {obs.tag_error}"))
        if file_id is not None:
            note_tags(catalog, file_id, obs, now)
