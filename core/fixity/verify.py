"""Fixity: re-read files and classify each against its baseline (DESIGN.md's table).

The verdicts themselves live in :mod:`phonovault.core.fixity.judge`, shared with the scanner. This
module drives a verify run: which files (all, or the least recently verified fraction, and
what an interrupted run left), reading them on worker threads, telling a vanished file from
an unplugged drive, and following files that moved.
"""

from __future__ import annotations

import errno
import math
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from phonovault.core.catalog import Catalog, KnownFile, Observation, Root
from phonovault.core.fixity.evidence import Evidence, for_root, last_seen, sample_pairs
from phonovault.core.fixity.judge import (
    FIXITY_KINDS,
    MESSAGES,
    UNPLUG_ERRNOS,
    GoneSet,
    abs_path,
    record_new,
    record_problem,
    record_read,
    settle_gone,
)
from phonovault.core.fixity.reading import FileReadError, observe
from phonovault.core.fixity.tag_changes import TagChange
from phonovault.core.identity.digests import Expected, HashCancelled
from phonovault.core.integrity.scrub import Budget
from phonovault.core.jobs import CancelToken, ProgressCallback, ProgressMeter, parallel_map
from phonovault.core.library.roots import absolute_path, locate
from phonovault.core.library.walk import Containment, root_offline_reason, walk_root

if TYPE_CHECKING:  # decoding pulls in PyAV and numpy: only a --decode run pays for them
    from phonovault.core.integrity.decoding import DecodeReport

__all__ = ["MESSAGES", "STATES", "VerifyReport", "VerifyResult", "accept", "verify"]

STATES = ("ok", "tags-changed", "corrupt", "audio-changed", "missing", "moved", "unreadable",
          "offline")  # fmt: skip


@dataclass(frozen=True, slots=True)
class VerifyResult:
    path: str  # absolute, as str (surrogate escapes for non-UTF-8 bytes)
    state: str
    detail: str | None = None
    moved_from: str | None = None
    file_id: int | None = None
    changes: tuple[TagChange, ...] = ()  # a tag edit's (or tag damage's) fields


@dataclass(slots=True)
class VerifyReport:
    results: list[VerifyResult] = field(default_factory=list)
    offline_roots: list[tuple[str, str]] = field(default_factory=list)
    indexed: int = 0  # new files met while looking for moved ones (now in the catalog)
    cancelled: bool = False
    resumed: bool = False
    out_of_time: bool = False  # a time budget ran out: the rest waits for the next scrub
    seconds: float = 0.0
    bytes_read: int = 0
    decode: DecodeReport | None = None  # with decode=True

    @property
    def summary(self) -> dict[str, int]:
        return dict(Counter(r.state for r in self.results))


def verify(
    catalog: Catalog,
    *,
    root_ids: Sequence[int] | None = None,
    workers: int = 2,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    resume: bool = True,
    oldest: float | None = None,
    budget: Budget | None = None,
    decode: bool = False,
    decode_workers: int | None = None,
) -> VerifyReport:
    """Re-read every file of the given roots (all roots when None) and classify it.

    ``oldest`` (a fraction: 0.1 is 10 %) and ``budget`` (bytes or minutes) re-read only the
    least recently verified part of the library, so a large library is covered over several
    runs, like a RAID scrub. A run that was killed or cancelled is resumed: files it already
    verified are skipped. ``decode`` also decode-checks what was read (integrity.py), in
    slices, so a cancelled or time-limited run has decoded what it read so far.
    """
    started = time.monotonic()
    report = VerifyReport()
    cancel = cancel or CancelToken()
    roots = [r for r in catalog.roots() if root_ids is None or r.id in root_ids]
    job_id, resumed_since = _job(catalog, roots, oldest, budget, resume)
    report.resumed = resumed_since is not None
    todo, evidence = _todo(catalog, roots, report)
    todo = _select(todo, resumed_since, oldest, budget)
    size = sum(f.size for _, f in todo)
    # With decode, every byte is read once and decoded once: the bar counts both.
    meter = ProgressMeter("verify", progress, total=len(todo), bytes_total=size * (1 + decode))
    deadline = started + budget.seconds if budget and budget.seconds else None
    run = _Run(catalog, report, cancel, evidence, deadline)
    decoded = report.decode = _decode_report() if decode else None
    if decoded is not None and todo:
        run.read_decoding(todo, workers, meter, decode_workers, decoded)
    else:
        run.read(todo, workers, meter)
    if not cancel.cancelled:
        run.follow_gone()
    meter.finish()
    report.cancelled = cancel.cancelled
    report.bytes_read = meter.bytes_done - (report.decode.bytes if report.decode else 0)
    if not report.cancelled:
        catalog.finish_job(job_id, "done", time.time())
    report.seconds = time.monotonic() - started
    return report


def _job(
    catalog: Catalog, roots: list[Root], oldest: float | None, budget: Budget | None, resume: bool
) -> tuple[int, float | None]:
    """The run's job row: the interrupted run of the same scrub when resuming one (and when
    it started: what it verified since then is done), else a new one."""
    params: dict[str, object] = {"roots": sorted(r.id for r in roots), "oldest": oldest}
    if budget is not None:
        params["budget"] = [budget.bytes, budget.seconds]
    unfinished = catalog.unfinished_job("verify", params) if resume else None
    if unfinished:
        return unfinished
    return catalog.start_job("verify", params, time.time()), None


def _todo(
    catalog: Catalog, roots: list[Root], report: VerifyReport
) -> tuple[list[tuple[Root, KnownFile]], dict[int, Evidence]]:
    """Every file of the roots that are online, and per root what a stat proves there; the
    files of an offline root are reported offline, unread."""
    todo: list[tuple[Root, KnownFile]] = []
    evidence: dict[int, Evidence] = {}
    for root in roots:
        files = list(catalog.known_files(root.id).values())
        reason = root_offline_reason(
            root.path, was_mount=root.was_mount, expect_files=any(f.present for f in files)
        )
        if reason:
            report.offline_roots.append((root.path, reason))
            report.results.extend(
                VerifyResult(abs_path(root, f.relpath), "offline", reason, file_id=f.id)
                for f in files
            )
            continue
        todo.extend((root, f) for f in files)
        seen = ((f.relpath, last_seen(f)) for f in files if f.present)
        evidence[root.id] = for_root(root.path, sample_pairs(root.path, seen))
    return todo, evidence


_DECODE_SLICE = 64
_DECODABLE = frozenset({"ok", "tags-changed", "corrupt", "audio-changed", "moved"})


def _expected(k: KnownFile) -> Expected | None:
    """The baseline a re-read checks against: an unchanged file then costs one hash."""
    if k.file_hash and k.audio_hash and k.audio_method:
        return Expected(k.file_hash, k.audio_hash, k.audio_method, k.audio_version, k.setup_hash)
    return None


def _decode_report() -> DecodeReport:
    from phonovault.core.integrity.decoding import DecodeReport

    return DecodeReport()


def _add_decode(total: DecodeReport, part: DecodeReport) -> None:
    total.checked += part.checked
    total.cached += part.cached
    total.failed.extend(part.failed)
    total.problems.extend(part.problems)
    total.audio_seconds += part.audio_seconds
    total.bytes += part.bytes
    total.seconds += part.seconds
    total.cancelled = part.cancelled


def _select(
    todo: list[tuple[Root, KnownFile]],
    resumed_since: float | None,
    oldest: float | None,
    budget: Budget | None = None,
) -> list[tuple[Root, KnownFile]]:
    """What this run still has to read: when resuming, skip what the interrupted run already
    verified; with ``oldest`` or a byte ``budget``, keep only that share of the files, least
    recently verified first (counting what an interrupted run of the same scrub already
    did). A time budget orders the files the same way and stops the reading when it runs
    out. The first file always fits, so a budget smaller than one file still moves on."""
    done: list[tuple[Root, KnownFile]] = []
    if resumed_since is not None:
        left = [i for i in todo if not (i[1].last_verified and i[1].last_verified >= resumed_since)]
        done = [i for i in todo if i[1].last_verified and i[1].last_verified >= resumed_since]
        todo = left
    if oldest is None and budget is None:
        return todo
    todo = sorted(todo, key=lambda item: (item[1].last_verified or 0.0, item[1].id))
    if oldest is not None:
        wanted = math.ceil((len(todo) + len(done)) * max(0.0, min(1.0, oldest))) - len(done)
        todo = todo[: max(0, wanted)]
    if budget is not None and budget.bytes is not None:
        spent = sum(k.size for _, k in done)
        kept: list[tuple[Root, KnownFile]] = []
        for item in todo:
            if spent + item[1].size > budget.bytes and (kept or done):
                break
            spent += item[1].size
            kept.append(item)
        todo = kept
    return todo


_OUTSIDE = "symbolic link leads outside the root; not followed"


class _Run:
    """The state of one verify run: its time budget, roots found offline, files found gone."""

    def __init__(
        self, catalog: Catalog, report: VerifyReport, cancel: CancelToken,
        evidence: dict[int, Evidence], deadline: float | None,
    ) -> None:  # fmt: skip
        self.catalog = catalog
        self.evidence = evidence  # per root: what a stat proves there (evidence.py)
        self.report = report
        self.cancel = cancel  # cancelled: not even the search for moved files
        self.deadline = deadline  # time.monotonic() at which a time budget runs out
        self.offline: dict[int, str] = {}
        self.gone: dict[int, tuple[Root, list[KnownFile]]] = {}

    def stop(self) -> bool:
        """Cancelled, or the time budget ran out (the report says so): read nothing more."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.report.out_of_time = True
        return self.cancel.cancelled or self.report.out_of_time

    def _root_offline(self, root: Root) -> bool:
        """Asked when reads fail the way an unplugged drive makes them fail."""
        if root.id not in self.offline:
            reason = root_offline_reason(root.path, was_mount=root.was_mount, expect_files=True)
            if reason is None:
                return False
            self.offline[root.id] = reason
            self.report.offline_roots.append((root.path, reason))
        return True

    def read(self, todo: list[tuple[Root, KnownFile]], workers: int, meter: ProgressMeter
             ) -> None:  # fmt: skip
        contained = {root.id: Containment(os.path.realpath(root.path)) for root, _ in todo}

        def read_one(item: tuple[Root, KnownFile]) -> Observation:
            root, k = item
            path = abs_path(root, k.relpath)
            if not contained[root.id](path):
                # Now a link out of the root: the walk does not follow it, so the scan calls
                # the file missing; verify must too, not judge whatever the link points at.
                raise FileReadError(path, _OUTSIDE, errno.ENOENT)
            return observe(
                path,
                k.relpath,
                algorithm=k.hash_algo or "blake3",
                read_tags_too=False,
                on_bytes=meter.add_bytes,
                should_stop=lambda: self.stop() or root.id in self.offline,
                expect=_expected(k),
            )

        catalog, report = self.catalog, self.report
        with catalog.batch() as batch:
            for (root, k), obs, exc in parallel_map(
                read_one, todo, workers, self.stop, on_tick=meter.tick
            ):
                path = abs_path(root, k.relpath)
                if root.id in self.offline:
                    report.results.append(
                        VerifyResult(path, "offline", self.offline[root.id], file_id=k.id)
                    )
                    continue
                if isinstance(exc, HashCancelled):
                    continue
                if exc is not None and not isinstance(exc, FileReadError):
                    raise exc
                if isinstance(exc, FileReadError):
                    self._failed(root, k, path, exc)
                else:
                    assert obs is not None
                    verdict = record_read(catalog, root, k, obs, time.time(),
                                          evidence=self.evidence[root.id])  # fmt: skip
                    report.results.append(VerifyResult(path, verdict.state, verdict.detail,
                                                       None, k.id, verdict.changes))  # fmt: skip
                meter.file_done(path)
                batch.tick()

    def read_decoding(
        self, todo: list[tuple[Root, KnownFile]], workers: int, meter: ProgressMeter,
        decode_workers: int | None, decoded: DecodeReport,
    ) -> None:  # fmt: skip
        """Read ``todo`` and decode-check what was read, adding to ``decoded``. Slices keep
        reading and decoding in step: a cancel or a spent budget leaves every file read so
        far decoded too. One pool of decoder processes serves them all."""
        from phonovault.core.integrity.checks import DecodePool
        from phonovault.core.integrity.decoding import decode_files

        results = self.report.results
        with DecodePool(decode_workers) as pool:
            for start in range(0, len(todo), _DECODE_SLICE):
                if self.stop():
                    break
                first = len(results)
                self.read(todo[start : start + _DECODE_SLICE], workers, meter)
                ids = [r.file_id for r in results[first:]
                       if r.state in _DECODABLE and r.file_id is not None]  # fmt: skip
                targets = self.catalog.decode_targets(ids)
                part = decode_files(
                    self.catalog, targets, pool=pool, meter=meter, should_stop=self.stop
                )
                _add_decode(decoded, part)

    def _failed(self, root: Root, k: KnownFile, path: str, exc: FileReadError) -> None:
        if exc.errno in UNPLUG_ERRNOS and self._root_offline(root):
            self.report.results.append(
                VerifyResult(path, "offline", self.offline[root.id], file_id=k.id)
            )
        elif exc.errno == errno.ENOENT:
            self.gone.setdefault(root.id, (root, []))[1].append(k)
        else:
            if not exc.changed_during_read:  # a file being written: no verdict on it yet
                record_problem(self.catalog, k, "unreadable", exc.reason, time.time())
            self.report.results.append(VerifyResult(path, "unreadable", exc.reason, None, k.id))

    def follow_gone(self) -> None:
        """Files not at their path: moved if their bytes turn up elsewhere in the root."""
        for root, records in self.gone.values():
            if root.id in self.offline or self._root_offline(root):
                self.report.results.extend(
                    VerifyResult(
                        abs_path(root, k.relpath), "offline", self.offline[root.id], file_id=k.id
                    )
                    for k in records
                )
                continue
            gone = GoneSet(records)
            self._search_moves(root, gone)
            if self.cancel.cancelled:  # not searched to the end: judge them next time
                return
            with self.catalog.transaction():
                for k, state, where in settle_gone(self.catalog, root, gone, time.time()):
                    old = abs_path(root, k.relpath)
                    if state == "moved" and where:
                        self.report.results.append(VerifyResult(where, "moved", None, old))
                    else:
                        self.report.results.append(VerifyResult(old, "missing", None, None, k.id))

    def _search_moves(self, root: Root, gone: GoneSet) -> None:
        """Read the root's files the catalog does not know yet, same sizes first, until every
        vanished file is found; what is read on the way is indexed, so no read is wasted."""
        known = self.catalog.known_files(root.id)
        sizes = {k.size for k in gone.by_path.values()}
        candidates = sorted(
            (e for e in walk_root(root.path).entries if e.relpath not in known),
            key=lambda e: (e.size not in sizes, e.relpath),
        )
        for entry in candidates:
            if not gone or self.cancel.cancelled:
                break
            try:
                obs = observe(entry.path, entry.relpath)
            except FileReadError:
                continue
            now = time.time()
            with self.catalog.transaction():
                origin = gone.take(obs, entry.path)
                if origin is not None:
                    old = abs_path(root, origin.relpath)
                    record_read(self.catalog, root, origin, obs, now, moved_from=old,
                                evidence=self.evidence.get(root.id))  # fmt: skip
                    self.report.results.append(
                        VerifyResult(entry.path, "moved", None, old, origin.id)
                    )
                else:
                    record_new(self.catalog, root, obs, now)
                    self.report.indexed += 1


def accept(catalog: Catalog, path: str | os.PathLike[str]) -> str:
    """Take the file as it is now as its new baseline (the user confirms an intended change).

    Returns the state the file had before. The old hashes stay in the history and the
    journal records who-what-when.
    """
    root, rec = locate(catalog, path)
    full = absolute_path(root, rec)
    obs = observe(full, rec.relpath, algorithm=rec.hash_algo or "blake3")
    now = time.time()
    with catalog.transaction():
        catalog.update_file(
            rec.id, obs, state="ok", state_detail=None, last_read=now, last_verified=now
        )  # the observation sets the new baseline and the seen stat alike
        catalog.clear_findings(rec.id, FIXITY_KINDS)
        catalog.add_history(
            rec.id,
            "accepted",
            now,
            digests=obs.digests,
            size=obs.size,
            mtime_ns=obs.mtime_ns,
            detail=f"was {rec.state}",
        )
        assert obs.digests is not None
        catalog.add_journal(
            "accept",
            now,
            file_id=rec.id,
            path=full,
            detail={
                "previous_state": rec.state,
                "old_file_hash": rec.file_hash,
                "old_audio_hash": rec.audio_hash,
                "new_file_hash": obs.digests.file_hash,
                "new_audio_hash": obs.digests.audio_hash,
            },
        )
    return rec.state
