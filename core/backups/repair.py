"""Repair: plan, then apply, restores of damaged library files from good backup copies and
refreshes of bad copies from good library files (DESIGN.md, "Backups", Promise 1).

:func:`plan` only reads the catalog and stats files. :func:`apply` writes each file the same
way (the file-system steps are in :mod:`phonovault.core.backups.repair_io`): the source is re-hashed
(a source that fails is never used); the destination's folder is opened from the registered
root or target without following symlinks and held open, and everything after goes through
it; the destination must still be what the plan saw, and if it already holds the good bytes
(an interrupted run wrote them) nothing is written; the source's bytes go to a temp file
beside it, fsync, re-hash; the destination's current bytes are copied into the quarantine
folder (fsync, checked); a last look (the destination unchanged, its folder still that
folder under the root), an atomic rename, an fsync of the folder.

Every action is journaled once, truthfully: ``done`` (the file holds the good bytes;
``written`` says whether this run wrote them), ``skipped`` or ``failed`` (nothing was
replaced, no temp file is left, the quarantine keeps no partial copy), or ``unverified``
(the bytes were replaced and the old ones are in quarantine, but re-reading the file
afterwards failed). The catalog update and the journal entry are one transaction: a kill
leaves both or neither, so a run killed after its rename leaves a healed file that the next
verify sees as ``ok`` and the next apply journals as found good. The next apply also removes
(and journals) the temp files and partial quarantine copies a killed run left, unless the
process that made them still runs. Nothing is written outside registered roots and targets
except the quarantine folder.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import ClassVar

from phonovault.core import config
from phonovault.core.backups.repair_io import (
    QTEMP_PREFIX,
    TEMP_PREFIX,
    Failed,
    Folder,
    Refused,
    fill_temp,
    full_key,
    leftover,
    new_temp_name,
    quarantine,
    split,
)
from phonovault.core.backups.targets import target_offline_reason
from phonovault.core.catalog import Catalog, CopyRecord, KnownFile, Observation, Root, Target
from phonovault.core.durable import pid_alive
from phonovault.core.fixity.judge import abs_path, record_read
from phonovault.core.fixity.reading import FileReadError, describe_oserror, observe
from phonovault.core.identity.digests import hash_file
from phonovault.core.integrity.decoding import DECODE_KINDS, decode_files
from phonovault.core.jobs import CancelToken, ProgressCallback, ProgressMeter
from phonovault.core.library.roots import offline_reason

__all__ = ["TEMP_PREFIX", "CopyNew", "Outcome", "RefreshCopy", "RepairPlan", "RepairReport",
           "RestoreFile", "Unrepairable", "apply", "plan"]  # fmt: skip

Stat = tuple[int, int, int]  # size, mtime_ns, inode


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
    # "done": the file holds the good bytes; "skipped" / "failed": nothing was replaced;
    # "unverified": the bytes were replaced but re-reading the file afterwards failed.
    result: str
    reason: str | None = None
    quarantined: str | None = None  # where the replaced bytes are kept
    written: bool = False  # whether this run replaced (or created) the file's bytes


@dataclass(slots=True)
class RepairReport:
    outcomes: list[Outcome] = field(default_factory=list)
    cancelled: bool = False
    quarantine_dir: str = ""
    cleaned: list[str] = field(default_factory=list)  # leftovers of killed runs, removed
    in_use: list[str] = field(default_factory=list)  # leftovers whose process still runs

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


def plan(
    catalog: Catalog,
    *,
    target: str | None = None,
    include_new: bool = False,
    file_ids: Collection[int] | None = None,
) -> RepairPlan:
    """What :func:`apply` would do, and what cannot be repaired and why. Writes nothing.

    ``file_ids`` limits the plan to those library files: their restores, and the refreshes
    and copies of their backup copies (the window's "Restore from backup…" on one file
    plans for that file alone, not for everything that happens to be damaged)."""
    out = RepairPlan()
    chosen = None if file_ids is None else frozenset(file_ids)
    targets = catalog.targets()
    if target is not None:
        real = os.path.realpath(target)
        targets = [t for t in targets if t.path == real]
    online = {t.id: t for t in targets if target_offline_reason(t) is None}
    for root in catalog.roots():
        known = [k for k in catalog.known_files(root.id).values()
                 if chosen is None or k.id in chosen]  # fmt: skip
        if not known:
            continue
        root_down = offline_reason(catalog, root)
        if root_down is not None:  # an unplugged library: nothing is restored into it
            for k in known:
                if k.state in ("corrupt", "missing"):
                    out.unrepairable.append(Unrepairable(
                        abs_path(root, k.relpath), f"library folder offline: {root_down}", k.id
                    ))  # fmt: skip
            continue
        mine = [t for t in targets if t.root_id == root.id]
        copies = {t.id: catalog.copies(t.id) for t in mine if t.id in online}
        for k in sorted(known, key=lambda k: k.relpath):
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
    """A precondition does not hold: nothing was written."""


@dataclass(frozen=True, slots=True)
class _Wrote:
    written: bool
    quarantined: str | None = None
    trouble: str | None = None  # what went wrong after the rename (an fsync)


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
    qroot = os.fspath(config.data_dir() / "quarantine")
    qdir = os.fspath(quarantine_dir or os.path.join(qroot, time.strftime("%Y%m%dT%H%M%S")))
    report = RepairReport(quarantine_dir=qdir)
    cancel = cancel or CancelToken()
    _sweep(catalog, plan, [qdir] if quarantine_dir else _children(qroot), report)
    targets = {t.id: t for t in catalog.targets()}
    roots = {r.path: r for r in catalog.roots()}
    meter = ProgressMeter("repair", progress, total=len(plan.actions))
    for action in plan.actions:
        if cancel.cancelled:
            report.cancelled = True
            break
        try:
            _check_online(catalog, action, targets, roots)
            outcome = _finish(catalog, action, _write(action, qdir))
        except (_Skip, Refused) as exc:
            outcome = _journal(catalog, Outcome(action, "skipped", str(exc)))
        except Failed as exc:
            outcome = _journal(catalog, Outcome(action, "failed", exc.reason))
        except (OSError, FileReadError) as exc:
            reason = exc.reason if isinstance(exc, FileReadError) else describe_oserror(exc)
            outcome = _journal(catalog, Outcome(action, "failed", reason))
        report.outcomes.append(outcome)
        meter.file_done(action.dest)
    meter.finish()
    _recheck_decodes(catalog, report)
    return report


def _recheck_decodes(catalog: Catalog, report: RepairReport) -> None:
    """A restored file's decode findings were about the damaged bytes: judge the restored
    ones (from the cached verdict of the good bytes, else by decoding them) instead of
    letting the old findings linger."""
    restored = [o.action.file_id for o in report.outcomes
                if o.result == "done" and isinstance(o.action, RestoreFile)]  # fmt: skip
    flagged = [i for i in restored
               if any(f.kind in DECODE_KINDS for f in catalog.findings_for_file(i))]  # fmt: skip
    if flagged:
        decode_files(catalog, catalog.decode_targets(flagged), workers=1)


def _check_online(
    catalog: Catalog, action: Action, targets: dict[int, Target], roots: dict[str, Root]
) -> None:
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


def _write(action: Action, qdir: str) -> _Wrote:
    """The guarded write of one action (the module docstring tells the steps)."""
    parts, name = split(action.dest, action.base)
    if _stat(action.dest) != action.dest_stat:
        raise _Skip(_what_changed(action.dest_stat, _stat(action.dest)))
    try:
        src_st = os.stat(action.source)
        got = hash_file(action.source, algorithm=action.algo)
    except OSError as exc:
        raise _Skip(f"source failed its re-hash: {describe_oserror(exc)}") from exc
    if got.file_hash != action.file_hash:
        raise _Skip("source failed its re-hash (its bytes are not the expected ones)")
    with Folder(action.base, parts, create=True) as folder:
        here = folder.stat(name)
        now = None if here is None else (here.st_size, here.st_mtime_ns, here.st_ino)
        if now != action.dest_stat:
            raise _Skip(_what_changed(action.dest_stat, now))
        old = None if here is None else folder.hash(name, action.algo, "reading the old file")
        if old == action.file_hash:
            return _Wrote(False)  # an interrupted run had written it
        tmp = new_temp_name()
        try:
            fill_temp(action.source, src_st, folder, tmp, action.file_hash, action.algo)
            kept = None if old is None else quarantine(folder, name, action.dest, old,
                                                       action.algo, qdir)  # fmt: skip
            try:
                if full_key(folder.stat(name)) != full_key(here):
                    raise _Skip("the destination changed while it was being repaired")
                if not folder.still_inside():
                    raise _Skip(
                        f"refused: {os.path.dirname(action.dest)} moved while it "
                        f"was being repaired (it is no longer under {action.base})"
                    )
                if here is None:
                    folder.place(tmp, name)
                else:
                    folder.rename(tmp, name)
            except BaseException:
                if kept:  # nothing was replaced: the quarantine keeps replaced bytes only
                    with contextlib.suppress(OSError):
                        os.unlink(kept)
                raise
        except BaseException:
            with contextlib.suppress(OSError):
                folder.unlink(tmp)
            raise
        try:
            os.fsync(folder.fd)
        except OSError as exc:
            return _Wrote(True, kept, f"syncing its folder failed: {describe_oserror(exc)}")
    return _Wrote(True, kept)


def _what_changed(planned: Stat | None, now: Stat | None) -> str:
    what = ("a file appeared there" if planned is None
            else "it was deleted, or is a symlink now" if now is None
            else "it was replaced by another file" if now[2] != planned[2]
            else "it was written to")  # fmt: skip
    return f"the destination changed since the plan ({what})"


def _finish(catalog: Catalog, action: Action, wrote: _Wrote) -> Outcome:
    """Re-read what is now at the destination; record it and journal the outcome in one
    transaction (a kill leaves both or neither)."""
    try:
        obs = _observe(catalog, action)
    except (OSError, FileReadError) as exc:
        why = exc.reason if isinstance(exc, FileReadError) else describe_oserror(exc)
        if wrote.written:
            return _journal(catalog, Outcome(
                action, "unverified", f"written, but re-reading it afterwards failed: {why}; "
                "verify it again", wrote.quarantined, True))  # fmt: skip
        return _journal(catalog, Outcome(action, "failed", f"re-reading it failed: {why}"))
    assert obs.digests is not None
    good = obs.digests.file_hash == action.file_hash
    if wrote.trouble or not good:
        why = wrote.trouble or "the file re-read afterwards does not have the good bytes"
        outcome = Outcome(action, "unverified" if wrote.written else "failed",
                          f"written, but {why}" if wrote.written else why,
                          wrote.quarantined, wrote.written)  # fmt: skip
    elif wrote.written:
        outcome = Outcome(action, "done", None, wrote.quarantined, True)
    else:
        outcome = Outcome(action, "done", "it already had the good bytes (an interrupted "
                          "repair had written them); nothing was written")  # fmt: skip
    with catalog.transaction():
        _record(catalog, action, obs, good)
        _journal(catalog, outcome)
    return outcome


def _observe(catalog: Catalog, action: Action) -> Observation:
    if isinstance(action, RestoreFile):
        relpath = catalog.known_file(action.file_id).relpath
        return observe(action.dest, relpath, algorithm=action.algo)
    assert isinstance(action, RefreshCopy | CopyNew)
    return observe(action.dest, action.relpath, algorithm=action.algo, read_tags_too=False)


def _record(catalog: Catalog, action: Action, obs: Observation, good: bool) -> None:
    """Tell the catalog what the file now is, through the normal paths."""
    now = time.time()
    if isinstance(action, RestoreFile):
        k = catalog.known_file(action.file_id)
        record_read(catalog, catalog.root(action.root_id), k, obs, now)
        return
    d = obs.digests
    assert d is not None and isinstance(action, RefreshCopy | CopyNew)
    catalog.save_copies([CopyRecord(action.target_id, action.file_id, action.relpath,
                                    obs.size, obs.mtime_ns, obs.inode, d.file_hash,
                                    d.audio_hash, d.algorithm, "match" if good else "corrupt",
                                    now, f"written by repair ({action.kind})")])  # fmt: skip


def _journal(catalog: Catalog, o: Outcome) -> Outcome:
    a = o.action
    detail = {"source": a.source, "dest": a.dest, "file_hash": a.file_hash,
              "audio_hash": a.audio_hash, "algo": a.algo, "why": a.why, "result": o.result,
              "written": o.written, "reason": o.reason, "quarantined": o.quarantined}  # fmt: skip
    with catalog.transaction():
        catalog.add_journal(a.kind, time.time(), file_id=a.file_id, path=a.dest, detail=detail)
    return o


# -- leftovers of killed runs -----------------------------------------------------------------


def _children(folder: str) -> list[str]:
    try:
        return [e.path for e in os.scandir(folder) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def _sweep(catalog: Catalog, plan: RepairPlan, qdirs: list[str], report: RepairReport) -> None:
    """Remove what killed runs left: temp files in the folders this plan writes to, and
    partial copies at the top of quarantine folders; journal each removal. One whose writer
    still runs (another repair) is left alone and reported."""
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for action in plan.actions:
        with contextlib.suppress(Refused):
            parts, _ = split(action.dest, action.base)
            if (action.base, parts) in seen:
                continue
            seen.add((action.base, parts))
            try:
                folder = Folder(action.base, parts, create=False)
            except OSError:
                continue
            with folder:
                for name in folder.names():
                    path = os.path.join(action.base, *parts, name)
                    if _stale(name, path, report):
                        with contextlib.suppress(OSError):
                            folder.unlink(name)
                            _cleaned(catalog, path, report)
    for qdir in qdirs:
        with contextlib.suppress(OSError):
            for entry in os.scandir(qdir):
                if entry.name.startswith(QTEMP_PREFIX) and _stale(entry.name, entry.path, report):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                        _cleaned(catalog, entry.path, report)


def _stale(name: str, path: str, report: RepairReport) -> bool:
    pid = leftover(name)
    if pid is None:
        return False
    if pid and pid_alive(pid):
        report.in_use.append(path)
        return False
    return True


def _cleaned(catalog: Catalog, path: str, report: RepairReport) -> None:
    report.cleaned.append(path)
    with catalog.transaction():
        catalog.add_journal("cleanup", time.time(), path=path, detail={
            "removed": path, "why": "left behind by a repair that was interrupted"})  # fmt: skip
