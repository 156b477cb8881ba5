"""Backup targets: registering them, telling a mounted one from an empty mount point, and
verifying every copy in one against the library (DESIGN.md, "Backups").

A target is a folder mapped to one library root. Registration writes one small marker file at
its top (``.phonovault-backup.json``: an identity, the root, a time); that is the only write
into a backup outside repair. A folder without its marker, or with another target's, is
*offline*: nothing in it is judged, so an unplugged drive never reads as "every copy missing".
Verification is read-only: copies are hashed with the library's algorithm and compared with
the library file at the same relative path.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from phonovault.core.catalog import Catalog, CopyRecord, KnownFile, Target
from phonovault.core.errors import BackupError
from phonovault.core.fixity.evidence import Evidence, Stat, for_root
from phonovault.core.fixity.filesystems import DEFAULT_TRAITS
from phonovault.core.fixity.judge import UNPLUG_ERRNOS, same_audio
from phonovault.core.fixity.reading import FileReadError, observe
from phonovault.core.identity.digests import Digests, HashCancelled
from phonovault.core.identity.parts import IDENTITY_VERSION
from phonovault.core.jobs import CancelToken, ProgressCallback, ProgressMeter, parallel_map
from phonovault.core.library.walk import Entry, walk_root

__all__ = [
    "GOOD",
    "MARKER_NAME",
    "STATES",
    "BackupReport",
    "CopyResult",
    "add_target",
    "target_offline_reason",
    "targets_status",
    "verify_target",
]

MARKER_NAME = ".phonovault-backup.json"
GOOD = ("match", "tags-differ")  # a copy that can stand in for the library file
STATES = ("match", "tags-differ", "stale", "corrupt", "missing", "moved", "only-in-backup",
          "unreadable", "unknown")  # fmt: skip

MESSAGES = {
    "tags-differ": "same audio, different tags",
    "stale": "an older version of the library file (its audio equals one the library had)",
    "corrupt": "the copy's audio matches no version the library ever had",
    "missing": "no copy in the backup",
    "unknown": "the library file was never read, so its copy cannot be judged",
}


@dataclass(frozen=True, slots=True)
class CopyResult:
    path: str  # the library file (absolute); "" for a file only in the backup
    copy: str  # where the copy is (or should be) in the target, absolute
    state: str
    detail: str | None = None
    file_id: int | None = None


@dataclass(slots=True)
class BackupReport:
    target: Target
    results: list[CopyResult] = field(default_factory=list)
    offline: str | None = None  # why the target counts as offline; then nothing was judged
    cancelled: bool = False
    seconds: float = 0.0
    files_read: int = 0
    bytes_read: int = 0

    @property
    def summary(self) -> dict[str, int]:
        return dict(Counter(r.state for r in self.results))

    @property
    def all_good(self) -> bool:
        return self.offline is None and not self.cancelled and set(self.summary) <= set(GOOD)


# -- targets --------------------------------------------------------------------------------


# A marker is a few hundred bytes of JSON; one much bigger is not ours.
MARKER_MAX_BYTES = 64 * 1024


def read_marker(folder: str) -> dict[str, Any] | None:
    """The marker at the top of ``folder``, or None when there is none (or it is not ours).

    It sits on a drive anyone may have written to, so it is read as untrusted input: only a
    regular file (opening a FIFO would wait forever for a writer; a symbolic link may lead
    anywhere, /dev/zero included), at most :data:`MARKER_MAX_BYTES`, and JSON that does not
    parse, or nests too deeply for the parser, is simply not ours.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        with open(os.open(os.path.join(folder, MARKER_NAME), flags), "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None
            data = fh.read(MARKER_MAX_BYTES + 1)
    except OSError:
        return None
    if len(data) > MARKER_MAX_BYTES:
        return None
    try:
        doc = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("id"), str) else None


def target_offline_reason(target: Target) -> str | None:
    """Why the target counts as offline now, or None when its marker says it is there."""
    if not os.path.isdir(target.path):
        return "folder not found (drive unplugged or share not mounted?)"
    marker = read_marker(target.path)
    if marker is None:
        return f"no {MARKER_NAME} at its top (drive not mounted, or an empty mount point?)"
    if marker["id"] != target.marker_id:
        return "another drive or folder is there (its backup marker belongs to another target)"
    return None


def targets_status(catalog: Catalog) -> list[tuple[Target, bool, str | None]]:
    """Every target with whether it is online now and, when not, why."""
    out = []
    for target in catalog.targets():
        reason = target_offline_reason(target)
        out.append((target, reason is None, reason))
    return out


def add_target(
    catalog: Catalog, target_path: str | os.PathLike[str], root_path: str | os.PathLike[str]
) -> Target:
    """Register ``target_path`` as a backup of the library root ``root_path`` and write its
    marker. A folder that already carries a marker (the drive was registered in another
    catalog) keeps its identity: nothing is rewritten."""
    real = os.path.realpath(os.fspath(target_path))
    root = catalog.root_by_path(os.path.realpath(os.fspath(root_path)))
    if root is None:
        raise BackupError(f"{os.fspath(root_path)} is not a registered library root")
    if not os.path.isdir(real):
        raise BackupError(f"{os.fspath(target_path)} is not a folder")
    existing = catalog.target_by_path(real)
    if existing is not None:
        if existing.root_id != root.id:
            raise BackupError(f"{real} is already a backup of another root")
        return existing
    for other in catalog.roots():
        if _overlaps(real, other.path):
            raise BackupError(f"{real} overlaps the library root {other.path}")
    for other_target in catalog.targets():
        if _overlaps(real, other_target.path):
            raise BackupError(f"{real} overlaps the backup target {other_target.path}")
    marker = read_marker(real)
    if marker is not None:
        marker_id = marker["id"]
        if any(t.marker_id == marker_id for t in catalog.targets()):
            raise BackupError(f"{real} carries the marker of a target registered elsewhere")
    else:
        marker_id = str(uuid.uuid4())
        _write_marker(real, {"phonovault_backup": 1, "id": marker_id, "root": root.path,
                             "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})  # fmt: skip
    return catalog.add_target(root.id, real, marker_id, time.time())


def _overlaps(a: str, b: str) -> bool:
    a, b = a.rstrip(os.sep) + os.sep, b.rstrip(os.sep) + os.sep
    return a.startswith(b) or b.startswith(a)


def _write_marker(folder: str, doc: dict[str, Any]) -> None:
    """Temp file beside it, fsync, atomic rename: a crash leaves no half-written marker."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".phonovault-backup.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=2, ensure_ascii=False)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, os.path.join(folder, MARKER_NAME))
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise BackupError(f"cannot write the backup marker in {folder}: {exc.strerror}") from exc


# -- verification -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Seen:
    """A copy on disk and its hashes (read now, or reused from an unchanged earlier read)."""

    entry: Entry
    file_hash: str | None
    audio_hash: str | None
    algo: str | None
    problem: str | None = None  # why it could not be read
    version: int = IDENTITY_VERSION  # of audio_hash
    digests: Digests | None = None  # of a read made now (None: reused)


def verify_target(
    catalog: Catalog,
    target: Target,
    *,
    full: bool = False,
    workers: int = 2,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> BackupReport:
    """Judge every copy in ``target`` against the library; store and return the verdicts.

    Read-only on the target. A copy whose (size, mtime_ns, inode) equals what its last
    verification stored is not re-read unless ``full``. When the target goes away mid-run
    (reads fail the way an unplugged drive makes them fail and the marker is gone), judging
    stops: the report says offline and no copy is marked missing.
    """
    run = _Run(catalog, target, cancel or CancelToken(), full)
    run.execute(workers, progress)
    run.report.seconds = time.monotonic() - run.started
    return run.report


class _Run:
    def __init__(self, catalog: Catalog, target: Target, cancel: CancelToken, full: bool) -> None:
        self.catalog, self.target, self.cancel, self.full = catalog, target, cancel, full
        self.report = BackupReport(target)
        self.started = time.monotonic()
        self.offline: str | None = None
        self.blocked: set[bytes] = set()
        self.blocked_dirs: tuple[bytes, ...] = ()
        self.now = time.time()
        self.evidence = Evidence(DEFAULT_TRAITS)  # the target's, once it is walked

    def execute(self, workers: int, progress: ProgressCallback | None) -> None:
        reason = target_offline_reason(self.target)
        if reason is None:
            self.root = self.catalog.root(self.target.root_id)
            self.library = self.catalog.known_files(self.root.id)
            walked = walk_root(self.target.path, should_stop=lambda: self.cancel.cancelled)
            reason = target_offline_reason(self.target)  # gone while we walked?
        if reason is None and b"." in walked.unreadable_dirs:
            reason = "the backup folder cannot be listed"
        if reason is not None:
            self.report.offline = reason
            return
        # Copies the walk could not see (a folder it could not list, an entry it could not
        # stat) are not missing: they are left unjudged, with their stored rows kept.
        self.blocked = set(walked.blocked)
        self.blocked_dirs = tuple(d.rstrip(b"/") + b"/" for d in walked.unreadable_dirs)
        self.stored = self.catalog.copies(self.target.id)
        on_disk = {e.relpath: e for e in walked.entries}
        self.evidence = for_root(self.target.path, self._pairs(on_disk))
        algo = Counter(k.hash_algo or "blake3" for k in self.library.values()).most_common(1)
        self.algo = algo[0][0] if algo else "blake3"
        seen = self._read_all(list(on_disk.values()), workers, progress)
        if self.offline is not None or self.cancel.cancelled:
            self.report.offline = self.offline
            self.report.cancelled = self.cancel.cancelled and self.offline is None
            return
        self._judge(seen)

    def _pairs(self, on_disk: dict[bytes, Entry]) -> list[tuple[Stat, Stat]]:
        """(last verified, now) stats of the copies, for the remount check."""
        out = []
        for relpath, old in self.stored.items():
            e = on_disk.get(relpath)
            if e is not None and old.size is not None:
                out.append((Stat(old.size, old.mtime_ns or 0, old.inode or 0),
                            Stat(e.size, e.mtime_ns, e.inode)))  # fmt: skip
        return out

    def _algo_for(self, relpath: bytes) -> str:
        k = self.library.get(relpath)
        return (k.hash_algo if k is not None else None) or self.algo

    def _reusable(self, entry: Entry) -> _Seen | None:
        old = self.stored.get(entry.relpath)
        if self.full or old is None or old.file_hash is None or old.size is None:
            return None
        before = Stat(old.size, old.mtime_ns or 0, old.inode or 0)
        if not self.evidence.unchanged(before, Stat(entry.size, entry.mtime_ns, entry.inode)):
            return None
        if old.hash_algo != self._algo_for(entry.relpath):
            return None
        k = self.library.get(entry.relpath)
        if old.audio_version < IDENTITY_VERSION and (k is None or old.file_hash != k.file_hash):
            return None  # an old identity that may be compared: read it anew
        return _Seen(entry, old.file_hash, old.audio_hash, old.hash_algo, None, old.audio_version)

    def _read_all(
        self, entries: list[Entry], workers: int, progress: ProgressCallback | None
    ) -> dict[bytes, _Seen]:
        """Hash every copy that changed since its last verification (all with ``full``)."""
        seen: dict[bytes, _Seen] = {}
        todo = []
        for entry in entries:
            reused = self._reusable(entry)
            if reused is not None:
                seen[entry.relpath] = reused
            else:
                todo.append(entry)
        meter = ProgressMeter("backup verify", progress, total=len(todo),
                              bytes_total=sum(e.size for e in todo))  # fmt: skip

        def read_one(entry: Entry) -> _Seen:
            obs = observe(
                entry.path,
                entry.relpath,
                algorithm=self._algo_for(entry.relpath),
                read_tags_too=False,
                on_bytes=meter.add_bytes,
                should_stop=lambda: self.cancel.cancelled or self.offline is not None,
            )
            d = obs.digests
            assert d is not None
            stat = Entry(entry.relpath, entry.path, obs.size, obs.mtime_ns, obs.inode)
            return _Seen(stat, d.file_hash, d.audio_hash, d.algorithm, digests=d)

        stop = lambda: self.cancel.cancelled or self.offline is not None  # noqa: E731
        for entry, result, exc in parallel_map(read_one, todo, workers, stop, meter.tick):
            got = self._outcome(entry, result, exc)
            if got is None:
                continue
            seen[entry.relpath] = got
            self.report.files_read += 1
            meter.file_done(entry.path)
        meter.finish()
        self.report.bytes_read = meter.bytes_done
        if self.offline is None:  # a last look: an unplug may have failed no read yet
            self.offline = target_offline_reason(self.target)
        return seen

    def _outcome(
        self, entry: Entry, result: _Seen | None, exc: BaseException | None
    ) -> _Seen | None:
        """What one read tells: the copy's hashes, or why it cannot be read; None when it
        tells nothing (stopped, the target went offline, the copy vanished since the walk)."""
        if isinstance(exc, HashCancelled) or self.offline is not None:
            return None
        if isinstance(exc, FileReadError):
            if exc.errno in UNPLUG_ERRNOS:
                self.offline = target_offline_reason(self.target)
                if self.offline is not None:
                    return None
            if exc.errno == errno.ENOENT:
                return None  # vanished since the walk: simply not there
            return _Seen(entry, None, None, None, exc.reason)
        if exc is not None:
            raise exc
        assert result is not None
        return result

    def _judge(self, seen: dict[bytes, _Seen]) -> None:
        ever = self.catalog.hashes_ever(self.root.id)
        records: list[CopyRecord] = []
        absent: list[KnownFile] = []
        hidden: list[KnownFile] = []
        for relpath, k in sorted(self.library.items()):
            copy = seen.pop(relpath, None)
            if copy is None:
                unseen = relpath in self.blocked or (
                    self.blocked_dirs and relpath.startswith(self.blocked_dirs)
                )
                (hidden if unseen else absent).append(k)
                continue
            state, detail = _classify(k, copy, ever.get(k.id, set()))
            records.append(self._record(copy, k.id, state, detail))
        self._settle_absent(absent, seen, records)
        for k in hidden:
            self._result(
                k.relpath,
                k.relpath,
                "unreadable",
                "its folder in the backup cannot be read; not judged",
                k.id,
            )
        with self.catalog.transaction():
            self.catalog.save_copies(records)
            kept = {r.relpath for r in records} | {k.relpath for k in hidden}
            self.catalog.forget_copies(self.target.id, set(self.stored) - kept)
            self.catalog.mark_target_verified(self.target.id, self.now)

    def _settle_absent(
        self, absent: list[KnownFile], extras: dict[bytes, _Seen], records: list[CopyRecord]
    ) -> None:
        """Library files with no copy at their path: moved if their bytes are elsewhere in
        the target, else missing. What is left in the target is only-in-backup."""
        by_file: dict[str, bytes] = {}
        by_audio: dict[str, bytes] = {}
        for relpath, s in sorted(extras.items(), reverse=True):  # first path wins
            if s.file_hash and s.audio_hash:
                by_file[s.file_hash] = relpath
                by_audio[s.audio_hash] = relpath
        for k in absent:
            where = by_file.get(k.file_hash or "") or by_audio.get(k.audio_hash or "")
            if where is not None and where in extras:
                copy = extras.pop(where)
                tags = "" if copy.file_hash == k.file_hash else "; its tags differ"
                detail = f"found at {os.fsdecode(where)}{tags}"
                records.append(self._record(copy, k.id, "moved", detail, library=k.relpath))
                continue
            message = MESSAGES["missing"]
            records.append(CopyRecord(self.target.id, k.id, k.relpath, None, None, None, None,
                                      None, None, "missing", self.now, message))  # fmt: skip
            self._result(k.relpath, k.relpath, "missing", message, k.id)
        gone: dict[str, KnownFile] = {}
        for k in self.library.values():
            if not k.present or k.state == "missing":
                for h in (k.file_hash, k.audio_hash):
                    if h:
                        gone[h] = k
        for _, copy in sorted(extras.items()):
            origin = gone.get(copy.file_hash or "") or gone.get(copy.audio_hash or "")
            if copy.problem:
                detail = f"only in the backup, and unreadable: {copy.problem}"
                state = "unreadable"
            elif origin is not None:
                detail = f"a copy of the library file {os.fsdecode(origin.relpath)}, now gone"
                state = "only-in-backup"
            else:
                detail, state = "only in the backup", "only-in-backup"
            file_id = origin.id if origin is not None else None
            records.append(self._record(copy, file_id, state, detail, library=None))

    def _record(
        self,
        copy: _Seen,
        file_id: int | None,
        state: str,
        detail: str | None,
        *,
        library: bytes | None = b"",
    ) -> CopyRecord:
        """A copy row, and its line in the report (``library``: the library file's relpath,
        b"" for the copy's own, None for none)."""
        e = copy.entry
        lib = e.relpath if library == b"" else library
        self._result(lib, e.relpath, state, detail, file_id)
        return CopyRecord(self.target.id, file_id, e.relpath, e.size, e.mtime_ns, e.inode,
                          copy.file_hash, copy.audio_hash, copy.algo, state, self.now,
                          detail, copy.version)  # fmt: skip

    def _result(
        self, library: bytes | None, copy: bytes, state: str, detail: str | None,
        file_id: int | None,
    ) -> None:  # fmt: skip
        path = os.path.join(self.root.path, os.fsdecode(library)) if library is not None else ""
        where = os.path.join(self.target.path, os.fsdecode(copy))
        self.report.results.append(CopyResult(path, where, state, detail, file_id))


def _classify(k: KnownFile, copy: _Seen, ever: set[str]) -> tuple[str, str | None]:
    """A copy at the library file's own path, against the file's baseline and history."""
    if copy.problem is not None:
        return "unreadable", copy.problem
    if k.file_hash is None:
        return "unknown", MESSAGES["unknown"]
    if copy.file_hash == k.file_hash:
        return "match", None
    if copy.version == k.audio_version:
        same = copy.audio_hash == k.audio_hash
    else:  # a library baseline of an older identity (an upgraded catalog)
        same = copy.digests is not None and same_audio(k, copy.digests, copy.entry.path)
    if same:
        return "tags-differ", MESSAGES["tags-differ"]
    if copy.audio_hash in ever or copy.file_hash in ever:
        return "stale", MESSAGES["stale"]
    return "corrupt", MESSAGES["corrupt"]
