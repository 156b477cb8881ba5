"""Repair: plan, then apply, restores of damaged library files from good backup copies and
refreshes of bad copies from good library files (DESIGN.md, "Backups", Promise 1).

:func:`plan` only reads the catalog and stats files. :func:`apply` writes each file the same
way: the source is re-hashed first (a source that fails is never used), its bytes go to a
temp file in the destination's folder, fsync, the temp is re-hashed, the destination's
current bytes are copied into the quarantine folder (fsync), then an atomic ``os.replace``
and an fsync of the folder. Any OSError leaves the original untouched and the temp removed.
Every action is journaled. Nothing is written outside registered roots and targets except
the quarantine folder.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import ClassVar

from phonovault.core import config
from phonovault.core.backups import target_offline_reason
from phonovault.core.catalog import Catalog, CopyRecord, KnownFile, Root, Target
from phonovault.core.fixity import hash_file
from phonovault.core.jobs import CancelToken, ProgressCallback, ProgressMeter
from phonovault.core.judge import abs_path, record_read
from phonovault.core.library import offline_reason
from phonovault.core.reading import FileReadError, describe_oserror, observe

__all__ = ["CopyNew", "Outcome", "RefreshCopy", "RepairPlan", "RepairReport", "RestoreFile",
           "Unrepairable", "apply", "plan"]  # fmt: skip

Stat = tuple[int, int, int]  # size, mtime_ns, inode
TEMP_PREFIX = ".phonovault-tmp-"
CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class _Action:
    file_id: int
    dest: str  # the file written (absolute)
    source: str  # the file read (absolute)
    base: str  # the registered root or target ``dest`` must lie inside
    file_hash: str  # what the source must hash to (and the written file)
    audio_hash: str | None
    algo: str
    dest_stat: Stat | None  # what the plan saw at ``dest`` (None: nothing there)
    why: str
    kind: ClassVar[str] = ""


@dataclass(frozen=True, slots=True)
class RestoreFile(_Action):
    """A corrupt or missing library file, from a copy equal to its last known good bytes."""

    root_id: int = 0
    target_id: int = 0  # where the source copy is
    kind: ClassVar[str] = "restore"


@dataclass(frozen=True, slots=True)
class RefreshCopy(_Action):
    """A corrupt, stale or missing copy, from its library file that verifies ``ok``."""

    target_id: int = 0
    relpath: bytes = b""  # the copy's path in the target (with target_id: the copy's key)
    kind: ClassVar[str] = "refresh"


@dataclass(frozen=True, slots=True)
class CopyNew(_Action):
    """A library file with no copy in the target yet."""

    target_id: int = 0
    relpath: bytes = b""
    kind: ClassVar[str] = "copy"


Action = RestoreFile | RefreshCopy | CopyNew


@dataclass(frozen=True, slots=True)
class Unrepairable:
    path: str
    reason: str
    file_id: int | None = None


@dataclass(slots=True)
class RepairPlan:
    actions: list[Action] = field(default_factory=list)
    unrepairable: list[Unrepairable] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Outcome:
    action: Action
    result: str  # "done" | "skipped" | "failed"
    reason: str | None = None
    quarantined: str | None = None


@dataclass(slots=True)
class RepairReport:
    outcomes: list[Outcome] = field(default_factory=list)
    cancelled: bool = False
    quarantine_dir: str = ""

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)

    @property
    def ok(self) -> bool:
        return not self.cancelled and all(o.result == "done" for o in self.outcomes)


# -- planning ---------------------------------------------------------------------------------


def _stat(path: str) -> Stat | None:
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def plan(catalog: Catalog, *, target: str | None = None, include_new: bool = False) -> RepairPlan:
    """What :func:`apply` would do, and what cannot be repaired and why. Writes nothing."""
    out = RepairPlan()
    targets = catalog.targets()
    if target is not None:
        real = os.path.realpath(target)
        targets = [t for t in targets if t.path == real]
    online = {t.id: t for t in targets if target_offline_reason(t) is None}
    for root in catalog.roots():
        root_down = offline_reason(catalog, root)
        if root_down is not None:  # an unplugged library: nothing is restored into it
            for k in catalog.known_files(root.id).values():
                if k.state in ("corrupt", "missing"):
                    out.unrepairable.append(Unrepairable(
                        abs_path(root, k.relpath), f"library folder offline: {root_down}", k.id
                    ))  # fmt: skip
            continue
        mine = [t for t in targets if t.root_id == root.id]
        copies = {t.id: catalog.copies(t.id) for t in mine if t.id in online}
        for k in sorted(catalog.known_files(root.id).values(), key=lambda k: k.relpath):
            if k.state in ("corrupt", "missing"):
                _plan_restore(out, root, k, mine, online, copies)
            elif k.state == "ok" and k.present and k.file_hash:
                for t in mine:
                    if t.id in copies:
                        _plan_copy(out, root, k, t, copies[t.id], include_new)
    return out


def _plan_restore(
    out: RepairPlan, root: Root, k: KnownFile, targets: list[Target],
    online: dict[int, Target], copies: dict[int, dict[bytes, CopyRecord]],
) -> None:  # fmt: skip
    dest = abs_path(root, k.relpath)
    if not k.file_hash:
        out.unrepairable.append(Unrepairable(dest, "no known good hash", k.id))
        return
    for t_id, rows in copies.items():
        for c in sorted(rows.values(), key=lambda c: (c.state != "match", c.relpath)):
            if c.file_id == k.id and c.file_hash == k.file_hash and c.hash_algo == k.hash_algo:
                source = os.path.join(online[t_id].path, os.fsdecode(c.relpath))
                why = f"library file is {k.state}; the copy in {online[t_id].path} has its " \
                      "last known good hash"  # fmt: skip
                out.actions.append(RestoreFile(k.id, dest, source, root.path, k.file_hash,
                                               k.audio_hash, k.hash_algo or "blake3",
                                               _stat(dest), why, root.id, t_id))  # fmt: skip
                return
    offline = [t.path for t in targets if t.id not in online]
    reason = f"library file is {k.state} and no verified copy has its last known good hash"
    if offline:
        reason += f" (offline: {', '.join(offline)})"
    out.unrepairable.append(Unrepairable(dest, reason, k.id))


def _plan_copy(
    out: RepairPlan, root: Root, k: KnownFile, t: Target, rows: dict[bytes, CopyRecord],
    include_new: bool,
) -> None:  # fmt: skip
    assert k.file_hash is not None
    source = abs_path(root, k.relpath)
    mine = [c for c in rows.values() if c.file_id == k.id]
    args = (k.id, "", source, t.path, k.file_hash, k.audio_hash, k.hash_algo or "blake3")
    for c in mine:
        if c.state in ("corrupt", "stale", "missing"):
            dest = os.path.join(t.path, os.fsdecode(c.relpath))
            why = f"copy is {c.state}; the library file verifies ok"
            out.actions.append(RefreshCopy(args[0], dest, *args[2:], _stat(dest), why,
                                           t.id, c.relpath))  # fmt: skip
    if include_new and not mine:
        dest = os.path.join(t.path, os.fsdecode(k.relpath))
        st = _stat(dest)
        if st is not None:
            out.unrepairable.append(Unrepairable(dest, "an unverified file is already there; "
                                                 "verify the target first", k.id))  # fmt: skip
            return
        out.actions.append(CopyNew(args[0], dest, *args[2:], None,
                                   f"never backed up to {t.path}", t.id, k.relpath))  # fmt: skip


# -- applying ---------------------------------------------------------------------------------


class _Skip(Exception):
    pass


def apply(
    catalog: Catalog,
    plan: RepairPlan,
    *,
    quarantine_dir: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> RepairReport:
    """Carry out ``plan`` action by action (see the module docstring for how each write is
    made safe); every action is journaled, done or not."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    qdir = os.fspath(quarantine_dir or config.data_dir() / "quarantine" / stamp)
    report = RepairReport(quarantine_dir=qdir)
    cancel = cancel or CancelToken()
    targets = {t.id: t for t in catalog.targets()}
    roots = {r.path: r for r in catalog.roots()}
    meter = ProgressMeter("repair", progress, total=len(plan.actions))
    for action in plan.actions:
        if cancel.cancelled:
            report.cancelled = True
            break
        quarantined: str | None = None
        try:
            if action.kind != "restore":
                t = targets.get(getattr(action, "target_id", -1))
                reason = target_offline_reason(t) if t else "the target is no longer registered"
                if reason:
                    raise _Skip(f"target offline: {reason}")
            else:
                r = roots.get(action.base)
                reason = offline_reason(catalog, r) if r else "the root is no longer registered"
                if reason:
                    raise _Skip(f"library folder offline: {reason}")
            quarantined = _write(action, qdir)
            _settle(catalog, action)
            outcome = Outcome(action, "done", None, quarantined)
        except _Skip as exc:
            outcome = Outcome(action, "skipped", str(exc))
        except (OSError, FileReadError) as exc:
            reason = exc.reason if isinstance(exc, FileReadError) else describe_oserror(exc)
            outcome = Outcome(action, "failed", reason, quarantined)
        report.outcomes.append(outcome)
        _journal(catalog, outcome)
        meter.file_done(action.dest)
    meter.finish()
    return report


def _inside(path: str, base: str) -> bool:
    """Whether ``path`` (which may not exist yet) lies inside ``base``, where ``base`` is the
    folder as registered: it must still be that real folder (not a symlink swapped in since,
    not missing: an unplugged root is never re-created), and the destination's folder must
    resolve inside it."""
    if not os.path.isdir(base) or os.path.realpath(base) != base:
        return False
    if ".." in path.split(os.sep):
        return False
    parent = os.path.dirname(path)
    while not os.path.exists(parent) and parent != base and len(parent) > len(base):
        parent = os.path.dirname(parent)  # folders still to be made: check what exists
    real = os.path.realpath(parent)
    return os.path.commonpath([base, real]) == base


def _write(action: Action, qdir: str) -> str | None:
    """The guarded write of one action; returns where the replaced bytes were quarantined."""
    dest = action.dest
    if not _inside(dest, action.base):
        raise _Skip(f"refused: {dest} is outside {action.base}")
    if _stat(dest) != action.dest_stat:
        raise _Skip("the destination changed since the plan")
    try:
        src_st = os.stat(action.source)
        got = hash_file(action.source, algorithm=action.algo)
    except OSError as exc:
        raise _Skip(f"source failed its re-hash: {describe_oserror(exc)}") from exc
    if got.file_hash != action.file_hash:
        raise _Skip("source failed its re-hash (its bytes are not the expected ones)")
    folder = os.path.dirname(dest)
    os.makedirs(folder, exist_ok=True)  # below the base only: _inside() checked it exists
    if not _inside(dest, action.base):
        raise _Skip(f"refused: {dest} is outside {action.base}")
    tmp = os.path.join(folder, f"{TEMP_PREFIX}{uuid.uuid4().hex}")
    try:
        _copy_file(action.source, tmp)
        os.utime(tmp, ns=(src_st.st_atime_ns, src_st.st_mtime_ns))
        if hash_file(tmp, algorithm=action.algo).file_hash != action.file_hash:
            raise OSError(0, "the written file failed its re-hash")
        quarantined = None
        if action.dest_stat is not None:
            quarantined = _quarantine(dest, qdir)
        if not _inside(dest, action.base):  # the folders changed under us while we copied
            raise _Skip(f"refused: {dest} no longer lies inside {action.base}")
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)
    return quarantined


def _copy_file(src: str, dst: str) -> None:
    """Copy ``src`` into a new file ``dst`` and fsync it (tests inject failures here)."""
    with open(src, "rb") as fin, open(dst, "xb") as fout:
        while chunk := fin.read(CHUNK):
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())


def _fsync_dir(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _quarantine(path: str, qdir: str) -> str:
    """Copy ``path`` into the quarantine tree under its own absolute path; fsync."""
    rel = os.path.splitdrive(os.path.abspath(path))[1].lstrip(os.sep)
    where = os.path.join(qdir, rel)
    n = 1
    while os.path.lexists(where):
        where = os.path.join(qdir, f"{rel}.{n}")
        n += 1
    os.makedirs(os.path.dirname(where), exist_ok=True)
    _copy_file(path, where)
    _fsync_dir(os.path.dirname(where))
    return where


def _settle(catalog: Catalog, action: Action) -> None:
    """Tell the catalog what the write changed, through the normal paths."""
    now = time.time()
    if isinstance(action, RestoreFile):
        k = catalog.known_file(action.file_id)
        root = catalog.root(action.root_id)
        obs = observe(action.dest, k.relpath, algorithm=action.algo)
        with catalog.transaction():
            record_read(catalog, root, k, obs, now)
        return
    obs = observe(action.dest, action.relpath, algorithm=action.algo, read_tags_too=False)
    d = obs.digests
    assert d is not None
    state = "match" if d.file_hash == action.file_hash else "corrupt"
    with catalog.transaction():
        catalog.save_copies([CopyRecord(action.target_id, action.file_id, action.relpath,
                                        obs.size, obs.mtime_ns, obs.inode, d.file_hash,
                                        d.audio_hash, d.algorithm, state, now,
                                        f"written by repair ({action.kind})")])  # fmt: skip


def _journal(catalog: Catalog, o: Outcome) -> None:
    a = o.action
    detail = {"source": a.source, "dest": a.dest, "file_hash": a.file_hash,
              "audio_hash": a.audio_hash, "algo": a.algo, "why": a.why, "result": o.result,
              "reason": o.reason, "quarantined": o.quarantined}  # fmt: skip
    with catalog.transaction():
        catalog.add_journal(a.kind, time.time(), file_id=a.file_id, path=a.dest, detail=detail)
