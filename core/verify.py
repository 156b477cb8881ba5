"""Fixity: re-read files and classify each against its baseline (DESIGN.md's table).

mtime is never trusted alone: taggers preserve it, and rot does not touch it. The two hashes
decide; size and mtime only tell bit rot (nothing wrote, bytes changed) from a write that
changed the audio. An offline root is not judged at all.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from phonovault.core.catalog import Catalog, FileRecord, Observation, Root
from phonovault.core.errors import TagReadError
from phonovault.core.fixity import HashCancelled
from phonovault.core.jobs import CancelToken, ProgressCallback, ProgressMeter, parallel_map
from phonovault.core.reading import FileReadError, observe
from phonovault.core.tags import read_tags
from phonovault.core.walk import root_offline_reason, walk_root

STATES = ("ok", "tags-changed", "corrupt", "audio-changed", "missing", "moved", "unreadable",
          "offline")  # fmt: skip
FIXITY_KINDS = ("tags-changed", "corrupt", "audio-changed", "missing", "moved", "unreadable")

MESSAGES = {
    "tags-changed": "tags were edited; the audio is unchanged (new file hash recorded)",
    "corrupt": "audio bytes changed although nothing wrote to the file (bit rot?); "
    "restore it from a backup",
    "audio-changed": "the audio differs from the baseline and the file was written to "
    "(re-encoded or replaced?); confirm with 'accept' if intended",
    "missing": "the file is gone from its root",
    "moved": "the file was moved or renamed",
}


@dataclass(frozen=True, slots=True)
class VerifyResult:
    path: str  # absolute, as str (surrogate escapes for non-UTF-8 bytes)
    state: str
    detail: str | None = None
    moved_from: str | None = None
    file_id: int | None = None


@dataclass(slots=True)
class VerifyReport:
    results: list[VerifyResult] = field(default_factory=list)
    offline_roots: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False
    resumed: bool = False
    seconds: float = 0.0
    bytes_read: int = 0

    @property
    def summary(self) -> dict[str, int]:
        return dict(Counter(r.state for r in self.results))


def classify(base: FileRecord, obs: Observation) -> str:
    """The fixity state of a fresh read against the stored baseline."""
    d = obs.digests
    assert d is not None
    if base.file_hash is None or d.file_hash == base.file_hash:
        return "ok"
    if d.audio_hash == base.audio_hash:
        return "tags-changed"
    if obs.size == base.size and obs.mtime_ns == base.mtime_ns:
        return "corrupt"
    return "audio-changed"


def record_read(
    catalog: Catalog,
    base: FileRecord,
    obs: Observation,
    now: float,
    *,
    verified: bool,
    moved_from: str | None = None,
) -> str:
    """Classify a read and store what it means. Call inside a transaction."""
    state = classify(base, obs)
    d = obs.digests
    if state in ("ok", "tags-changed"):
        if state == "tags-changed" or base.file_hash is None or moved_from or obs.track:
            new_obs = obs
            if obs.track is None and obs.tag_error is None:
                new_obs = _with_tags(
                    obs, os.path.join(catalog.root(base.root_id).path, os.fsdecode(obs.relpath))
                )
            catalog.update_file(base.id, new_obs)
        else:  # same bytes: keep the stat current so the next scan skips it
            catalog.update_file(
                base.id, size=obs.size, mtime_ns=obs.mtime_ns, inode=obs.inode, present=1
            )
        final = "moved" if moved_from else state
        detail = None
        if state == "tags-changed":
            detail = f"previous file hash {base.file_hash}"
        if moved_from:
            detail = f"from {moved_from}"
        catalog.update_file(
            base.id,
            state=final,
            state_detail=detail,
            last_read=now,
            **({"last_verified": now} if verified else {}),
        )
        catalog.clear_findings(base.id, [k for k in FIXITY_KINDS if k != final])
        if final in ("tags-changed", "moved"):
            catalog.set_finding(
                base.id, final, MESSAGES[final] + (f" ({detail})" if moved_from else ""), now
            )
        catalog.add_history(
            base.id, final, now, digests=d, size=obs.size, mtime_ns=obs.mtime_ns, detail=detail
        )
        return final
    # corrupt / audio-changed: the baseline stays until the user accepts or repairs
    catalog.update_file(
        base.id,
        state=state,
        state_detail=MESSAGES[state],
        last_read=now,
        present=1,
        **({"last_verified": now} if verified else {}),
    )
    catalog.clear_findings(base.id, [k for k in FIXITY_KINDS if k != state])
    catalog.set_finding(base.id, state, MESSAGES[state], now)
    catalog.add_history(
        base.id, state, now, digests=d, size=obs.size, mtime_ns=obs.mtime_ns, detail=MESSAGES[state]
    )
    return state


def _with_tags(obs: Observation, path: str) -> Observation:
    try:
        track, error = read_tags(path), None
    except TagReadError as exc:
        track, error = None, exc.reason
    return Observation(obs.relpath, obs.size, obs.mtime_ns, obs.inode, obs.digests, track, error)


def record_problem(catalog: Catalog, base: FileRecord, state: str, reason: str, now: float) -> None:
    """Store an ``unreadable`` or ``missing`` result. Call inside a transaction."""
    extra = {"present": 0} if state == "missing" else {}
    catalog.update_file(base.id, state=state, state_detail=reason, **extra)
    catalog.clear_findings(base.id, [k for k in FIXITY_KINDS if k != state])
    catalog.set_finding(base.id, state, reason, now)
    catalog.add_history(base.id, state, now, detail=reason)


def verify(
    catalog: Catalog,
    *,
    root_ids: Sequence[int] | None = None,
    workers: int = 2,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    resume: bool = True,
    oldest: float | None = None,
) -> VerifyReport:
    """Re-read every file of the given roots (all roots when None) and classify it.

    ``oldest`` (a fraction: 0.1 is 10 %) re-reads only the least recently verified part of
    the library, so a large library is covered over several runs, like a RAID scrub. A run
    that was killed or cancelled is resumed: files it already verified are skipped.
    """
    started = time.monotonic()
    report = VerifyReport()
    cancel = cancel or CancelToken()
    roots = [r for r in catalog.roots() if root_ids is None or r.id in root_ids]
    params: dict[str, object] = {"roots": sorted(r.id for r in roots), "oldest": oldest}
    unfinished = catalog.unfinished_job("verify", params) if resume else None
    if unfinished:
        job_id, since = unfinished
        report.resumed = True
    else:
        since = time.time()
        job_id = catalog.start_job("verify", params, since)
    todo: list[tuple[Root, FileRecord]] = []
    for root in roots:
        files = list(catalog.files([root.id]))
        reason = root_offline_reason(
            root.path, was_mount=root.was_mount, expect_files=any(f.present for f in files)
        )
        if reason:
            report.offline_roots.append((root.path, reason))
            report.results.extend(
                VerifyResult(_abs(root, f), "offline", reason, file_id=f.id) for f in files
            )
            continue
        todo.extend((root, f) for f in files)
    todo = _select(todo, since if unfinished else None, oldest)
    meter = ProgressMeter(
        "verify", progress, total=len(todo), bytes_total=sum(f.size for _, f in todo)
    )
    gone = _verify_files(catalog, todo, workers, meter, cancel, report)
    if not cancel.cancelled:
        _resolve_gone(catalog, gone, report)
    meter.finish()
    report.cancelled = cancel.cancelled
    report.bytes_read = meter.bytes_done
    if not report.cancelled:
        catalog.finish_job(job_id, "done", time.time())
    report.seconds = time.monotonic() - started
    return report


def _select(
    todo: list[tuple[Root, FileRecord]], resumed_since: float | None, oldest: float | None
) -> list[tuple[Root, FileRecord]]:
    """What this run still has to read: when resuming, skip what the interrupted run already
    verified; with ``oldest``, keep only that fraction of the files, least recently verified
    first (counting what an interrupted run of the same scrub already did)."""
    done = 0
    if resumed_since is not None:
        left = [i for i in todo if not (i[1].last_verified and i[1].last_verified >= resumed_since)]
        done, todo = len(todo) - len(left), left
    if oldest is None:
        return todo
    wanted = math.ceil((len(todo) + done) * max(0.0, min(1.0, oldest))) - done
    todo = sorted(todo, key=lambda item: (item[1].last_verified or 0.0, item[1].id))
    return todo[: max(0, wanted)]


def _abs(root: Root, rec: FileRecord) -> str:
    return os.path.join(root.path, os.fsdecode(rec.relpath))


def _verify_files(
    catalog: Catalog,
    todo: list[tuple[Root, FileRecord]],
    workers: int,
    meter: ProgressMeter,
    cancel: CancelToken,
    report: VerifyReport,
) -> list[tuple[Root, FileRecord]]:
    """Read and classify every file that is there; return those that are not."""
    gone: list[tuple[Root, FileRecord]] = []
    present: list[tuple[Root, FileRecord]] = []
    for root, rec in todo:
        (present if os.path.lexists(_abs(root, rec)) else gone).append((root, rec))

    def read(item: tuple[Root, FileRecord]) -> Observation:
        root, rec = item
        return observe(
            _abs(root, rec),
            rec.relpath,
            algorithm=rec.hash_algo or "blake3",
            read_tags_too=False,
            on_bytes=meter.add_bytes,
            should_stop=lambda: cancel.cancelled,
        )

    with catalog.batch() as batch:
        for (root, rec), obs, exc in parallel_map(read, present, workers, lambda: cancel.cancelled):
            now = time.time()
            path = _abs(root, rec)
            if isinstance(exc, FileReadError):
                if not exc.changed_during_read:  # that is no verdict on the file
                    record_problem(catalog, rec, "unreadable", exc.reason, now)
                report.results.append(VerifyResult(path, "unreadable", exc.reason, None, rec.id))
            elif isinstance(exc, HashCancelled):
                continue
            elif exc is not None:
                raise exc
            else:
                assert obs is not None
                state = record_read(catalog, rec, obs, now, verified=True)
                report.results.append(VerifyResult(path, state, None, None, rec.id))
            meter.file_done(path)
            batch.tick()
    return gone


def _resolve_gone(
    catalog: Catalog, gone: list[tuple[Root, FileRecord]], report: VerifyReport
) -> None:
    """Files not at their path: moved if their bytes turn up elsewhere in the root."""
    by_root: dict[int, list[FileRecord]] = {}
    roots: dict[int, Root] = {}
    for root, rec in gone:
        by_root.setdefault(root.id, []).append(rec)
        roots[root.id] = root
    for root_id, records in by_root.items():
        root = roots[root_id]
        moves = find_moves(catalog, root, records)
        with catalog.transaction():
            now = time.time()
            for rec in records:
                old = _abs(root, rec)
                if rec.id in moves:
                    obs = moves[rec.id]
                    record_read(catalog, rec, obs, now, verified=True, moved_from=old)
                    new = os.path.join(root.path, os.fsdecode(obs.relpath))
                    report.results.append(VerifyResult(new, "moved", None, old, rec.id))
                else:
                    record_problem(catalog, rec, "missing", MESSAGES["missing"], now)
                    report.results.append(VerifyResult(old, "missing", None, None, rec.id))


def find_moves(catalog: Catalog, root: Root, records: list[FileRecord]) -> dict[int, Observation]:
    """Look for each gone file's bytes among the root's files the catalog does not know.

    Only same-size candidates are hashed, so a rename costs one read of one file.
    """
    if not records:
        return {}
    known = catalog.known_files(root.id)
    wanted_sizes = {r.size for r in records}
    candidates = [
        e for e in walk_root(root.path).entries if e.relpath not in known and e.size in wanted_sizes
    ]
    moves: dict[int, Observation] = {}
    for entry in candidates:
        try:
            obs = observe(entry.path, entry.relpath)
        except FileReadError:
            continue
        d = obs.digests
        assert d is not None
        for rec in records:
            if rec.id in moves:
                continue
            if d.file_hash == rec.file_hash or (
                rec.audio_hash and d.audio_hash == rec.audio_hash and rec.audio_method != "file"
            ):
                moves[rec.id] = obs
                break
    return moves


def accept(catalog: Catalog, path: str | os.PathLike[str]) -> str:
    """Take the file as it is now as its new baseline (the user confirms an intended change).

    Returns the state the file had before. The old hashes stay in the history and the
    journal records who-what-when.
    """
    from phonovault.core.library import absolute_path, locate

    root, rec = locate(catalog, path)
    full = absolute_path(root, rec)
    obs = observe(full, rec.relpath, algorithm=rec.hash_algo or "blake3")
    now = time.time()
    with catalog.transaction():
        catalog.update_file(
            rec.id, obs, state="ok", state_detail=None, last_read=now, last_verified=now
        )
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
