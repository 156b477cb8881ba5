"""Judging one read of a file against its baseline, and storing the verdict.

Scan and verify share this, so a file gets the same verdict whichever of them reads it
(DESIGN.md, "Fixity classification"). mtime is never trusted alone: taggers preserve it and
rot does not touch it. The two hashes decide; size, mtime and inode only tell bit rot
(nothing wrote, yet bytes changed) from a write that changed the audio.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from phonovault.core.catalog import Catalog, FileRecord, KnownFile, Observation, Root
from phonovault.core.errors import TagReadError
from phonovault.core.fixity.evidence import Evidence, Stat
from phonovault.core.fixity.filesystems import DEFAULT_TRAITS
from phonovault.core.fixity.tag_changes import TagChange, summary, tag_changes
from phonovault.core.identity.digests import Digests, new_hasher, open_regular
from phonovault.core.identity.legacy import LEGACY_OGG_METHOD, legacy_ogg_hash, legacy_stream_hash
from phonovault.core.identity.parts import IDENTITY_VERSION
from phonovault.core.tags.reading import read_tags

FIXITY_KINDS = ("tags-changed", "corrupt", "audio-changed", "missing", "moved", "unreadable")

MESSAGES = {
    "tags-changed": "tags were edited; the audio is unchanged (new file hash recorded)",
    "corrupt": "audio bytes changed although nothing wrote to the file (bit rot?); "
    "restore it from a backup",
    "tag-damage": "bytes outside the audio changed although nothing wrote to the file "
    "(damage in the tag area; the audio is intact); restore it from a backup",
    "audio-changed": "the audio differs from the baseline and the file was written to "
    "(re-encoded or replaced?); accept it as the new baseline if that was intended",
    "missing": "the file is gone from its root",
    "moved": "the file was moved or renamed",
}

# Errors that, on a drive being unplugged, hit every file at once: before judging a file
# by one of them, ask whether its root is still there.
UNPLUG_ERRNOS = frozenset({errno.ENOENT, errno.EIO, errno.ENODEV, errno.ENXIO, errno.ESTALE,
                           errno.ENOTCONN, errno.EHOSTDOWN})  # fmt: skip


def abs_path(root: Root, relpath: bytes) -> str:
    return os.path.join(root.path, os.fsdecode(relpath))


@dataclass(frozen=True, slots=True)
class Verdict:
    """A fresh read judged: its state and, for a changed file, what changed in words."""

    state: str
    detail: str | None = None
    changes: tuple[TagChange, ...] = ()


# What each format's codec set-up is, for a verdict that names the damaged region.
_SETUP_NAMES = {
    "flac": "STREAMINFO", "riff-data": "the fmt chunk", "aiff-ssnd": "the COMM chunk",
    "mp4-mdat": "the MP4 sample tables", "ogg-packets": "the codec headers",
    "dsf-data": "the fmt chunk", "dff-dsd": "the PROP chunk",
}  # fmt: skip


def _stat(size: int, mtime_ns: int, inode: int, ctime_ns: int | None = None) -> Stat:
    return Stat(size, mtime_ns, inode, ctime_ns)


# (version-1 method, version-2 method) whose version-1 hash must be computed again.
_RECOMPUTED = {(LEGACY_OGG_METHOD, "ogg-packets"), ("stream", "stream")}


def _legacy_hash(method: str, algo: str, path: str) -> str | None:
    """The version-1 audio hash of the file at ``path``, for a baseline made with ``method``."""
    if method == LEGACY_OGG_METHOD:
        return legacy_ogg_hash(path, lambda: new_hasher(algo), open_regular)
    return legacy_stream_hash(path, lambda: new_hasher(algo), open_regular)


def same_audio(base: KnownFile, d: Digests, path: str) -> bool:
    """Whether the fresh read's audio is the baseline's. A baseline of identity version 1
    (an upgraded catalog) is compared the way it was made: for every format but Ogg that
    is the new identity's samples half; Ogg's, and that of an MP3 with a Xing frame, are
    computed again."""
    if base.audio_version >= IDENTITY_VERSION:
        return d.audio_hash == base.audio_hash
    algo = base.hash_algo or d.algorithm
    if base.audio_method == LEGACY_OGG_METHOD:
        return _legacy_hash(base.audio_method, algo, path) == base.audio_hash
    if base.audio_method == "file":
        return False
    if d.samples_hash == base.audio_hash:
        return True
    if (base.audio_method, d.audio_method) in _RECOMPUTED:  # a Xing frame, split off
        return _legacy_hash("stream", algo, path) == base.audio_hash
    return False


def _region(base: KnownFile, d: Digests) -> str:
    """Where the audio differs, as far as the two halves tell."""
    if d.audio_method == "file" and base.audio_method != "file":
        where = f"its structure no longer parses ({d.fallback_reason})"
    elif base.audio_version >= IDENTITY_VERSION and base.setup_hash and d.setup_hash:
        if d.setup_hash != base.setup_hash:
            where = f"in the codec set-up ({_SETUP_NAMES.get(d.audio_method, 'headers')})"
        else:
            where = "in the audio samples"
    else:
        where = "in the audio"
    return f"{where}; {d.damage}" if d.damage else where


def judge(base: KnownFile, obs: Observation, evidence: Evidence, path: str,
          old: Callable[[], FileRecord]) -> Verdict:  # fmt: skip
    """The fixity verdict on a fresh read against the stored baseline (DESIGN.md's table).
    ``old()`` gives the baseline's record (its tags), asked only for a tag edit."""
    d = obs.digests
    assert d is not None
    if base.file_hash is None or d.file_hash == base.file_hash:
        return Verdict("ok")
    before = _stat(base.size, base.mtime_ns, base.inode, base.seen_ctime_ns)
    after = _stat(obs.size, obs.mtime_ns, obs.inode, obs.ctime_ns)
    if same_audio(base, d, path):
        if obs.track is None and obs.tag_error is None:
            obs = _with_tags(obs, path)
        changes = tuple(tag_changes(old(), obs.track))
        said = summary(list(changes))
        # A write leaves a mark; damage does not. Without ctime, only a change no tag shows
        # (and no write) is damage: a timestamp-keeping tag edit shows in its fields.
        if evidence.nothing_wrote(before, after) or (
            not changes and evidence.unchanged(before, after)
        ):
            return Verdict("corrupt", f"{MESSAGES['tag-damage']} ({said})", changes)
        return Verdict("tags-changed", said, changes)
    if evidence.unchanged(before, after):
        return Verdict("corrupt", f"{MESSAGES['corrupt']} ({_region(base, d)})")
    return Verdict("audio-changed", f"{MESSAGES['audio-changed']} ({_region(base, d)})")


def record_read(
    catalog: Catalog,
    root: Root,
    base: KnownFile,
    obs: Observation,
    now: float,
    *,
    moved_from: str | None = None,
    evidence: Evidence | None = None,
) -> Verdict:
    """Judge a read, store what it means, return the verdict (the state, and what changed in
    words). Call inside a transaction."""
    path = abs_path(root, obs.relpath)
    ev = evidence or Evidence(DEFAULT_TRAITS)
    verdict = judge(base, obs, ev, path, lambda: catalog.file(base.id))
    state = verdict.state
    if state not in ("ok", "tags-changed"):
        return _record_bad(catalog, root, base, obs, now, verdict)
    obs = _record_same_audio(catalog, base, obs, path, state, moved_from)
    final = "moved" if moved_from else state
    detail: str | None = None
    if state == "tags-changed":
        detail = f"{verdict.detail}; previous file hash {base.file_hash}"
    if moved_from:
        detail = f"from {moved_from}"
    catalog.update_file(
        base.id, state=final, state_detail=detail, last_read=now, last_verified=now, present=1
    )
    if final != "ok":
        _set_only_finding(catalog, base.id, final, f"{MESSAGES[final]} ({detail})", now,
                          verdict.changes)  # fmt: skip
    elif base.state != "ok":  # an ok file has no fixity finding: nothing to clear (hot path)
        catalog.clear_findings(base.id, FIXITY_KINDS)
    _add_read(catalog, base.id, final, now, obs, detail)
    return Verdict(final, verdict.detail if final == "tags-changed" else detail, verdict.changes)


def _record_bad(
    catalog: Catalog, root: Root, base: KnownFile, obs: Observation, now: float, verdict: Verdict
) -> Verdict:
    """Store a verdict that needs the user (corrupt, audio changed), naming a file whose
    bytes the new ones are."""
    state = verdict.state
    message = (verdict.detail or MESSAGES[state]) + _twin_note(catalog, root, base, obs)
    # The baseline stays until the user accepts or repairs; only the seen stat moves.
    catalog.update_file(
        base.id, state=state, state_detail=message, last_read=now, last_verified=now,
        present=1, seen_size=obs.size, seen_mtime_ns=obs.mtime_ns, seen_inode=obs.inode,
        seen_ctime_ns=obs.ctime_ns,
    )  # fmt: skip
    _set_only_finding(catalog, base.id, state, message, now, verdict.changes)
    _add_read(catalog, base.id, state, now, obs, message)
    return Verdict(state, message, verdict.changes)


def _record_same_audio(
    catalog: Catalog, base: KnownFile, obs: Observation, path: str, state: str,
    moved_from: str | None,
) -> Observation:  # fmt: skip
    """Store what a read of the baseline's audio adds: a new baseline (a tag edit, a first
    hash, a move, or tags read anyway), else a new stat or more known about the same bytes.
    Returns the read, with its tags when they were read for the new baseline."""
    d = obs.digests
    assert d is not None
    # An upgraded baseline, or a SHA-256 to fill in: same bytes, more known about them.
    more = base.audio_version < d.audio_version or (d.sha256 is not None and not base.has_sha256)
    if state == "tags-changed" or base.file_hash is None or moved_from or obs.track:
        if obs.track is None and obs.tag_error is None:
            obs = _with_tags(obs, path)
        catalog.update_file(base.id, obs)  # the new baseline (and its tags)
    elif more or (obs.size, obs.mtime_ns, obs.inode, obs.ctime_ns) != (
        base.seen_size,
        base.seen_mtime_ns,
        base.seen_inode,
        base.seen_ctime_ns,
    ):
        # Same bytes, new stat (touched, copied back): remember it so scans skip the file.
        # An upgraded identity or a first SHA-256: the same bytes, more known about them
        # (their tags are the baseline's: not parsed again; a stored SHA-256 is kept).
        known = _identity_columns(d) if more else {}
        catalog.update_file(
            base.id, size=obs.size, mtime_ns=obs.mtime_ns, inode=obs.inode,
            seen_size=obs.size, seen_mtime_ns=obs.mtime_ns, seen_inode=obs.inode,
            ctime_ns=obs.ctime_ns, seen_ctime_ns=obs.ctime_ns, **known,
        )  # fmt: skip
    return obs


def _identity_columns(d: Digests) -> dict[str, object]:
    """The columns a read of a baseline's own bytes can add to: the identity (a version-1
    baseline upgraded) and a SHA-256 (``scan --sha256``), never dropping a stored one."""
    cols: dict[str, object] = {
        "audio_hash": d.audio_hash, "audio_method": d.audio_method,
        "audio_fallback": d.fallback_reason, "audio_version": d.audio_version,
        "setup_hash": d.setup_hash,
    }  # fmt: skip
    if d.sha256 is not None:
        cols["sha256"] = d.sha256
    return cols


def tag_changes_of(catalog: Catalog, file_id: int) -> list[dict[str, str | None]]:
    """The field-by-field changes of a file's current fixity finding (a tag edit, or damage
    in the tag area): ``[{"field", "old", "new"}]``; empty when there are none."""
    details = catalog.finding_details(file_id)
    for kind in ("tags-changed", "corrupt", "moved"):
        if kind in details:
            try:
                changes = json.loads(details[kind]).get("changes", [])
            except (ValueError, AttributeError):
                continue
            return [c for c in changes if isinstance(c, dict)]
    return []


def _add_read(
    catalog: Catalog, file_id: int, state: str, now: float, obs: Observation, detail: str | None
) -> None:
    """The history row of one read: its verdict and what the read saw."""
    catalog.add_history(
        file_id, state, now, digests=obs.digests, size=obs.size, mtime_ns=obs.mtime_ns,
        detail=detail,
    )  # fmt: skip


def record_new(catalog: Catalog, root: Root, obs: Observation, now: float) -> int:
    """Add a file seen for the first time; its read is its baseline. Call in a transaction."""
    file_id = catalog.insert_file(root.id, obs, state="ok", now=now, last_verified=now)
    _add_read(catalog, file_id, "ok", now, obs, "first seen")
    if obs.tag_error:  # a new file has no findings yet: nothing to clear
        note_tags(catalog, file_id, obs, now)
    return file_id


# Unreadable tags are the ``tags-unreadable`` rule's finding. The scan knows first, so it
# files the finding under the rule's kind: a later check then replaces it rather than
# adding a second finding about the same fact.
TAGS_UNREADABLE = "rule:tags-unreadable"


def note_tags(catalog: Catalog, file_id: int, obs: Observation, now: float) -> None:
    """Keep the unreadable-tags finding in step with the latest read of the tags."""
    if obs.tag_error:
        catalog.set_finding(file_id, TAGS_UNREADABLE, f"tags cannot be read: {obs.tag_error}", now)
    else:
        catalog.clear_findings(file_id, [TAGS_UNREADABLE])


def record_problem(catalog: Catalog, base: KnownFile, state: str, reason: str, now: float) -> None:
    """Store an ``unreadable`` or ``missing`` verdict. Call inside a transaction."""
    extra = {"present": 0} if state == "missing" else {}
    catalog.update_file(base.id, state=state, state_detail=reason, **extra)
    _set_only_finding(catalog, base.id, state, reason, now)
    catalog.add_history(base.id, state, now, detail=reason)


def _set_only_finding(catalog: Catalog, file_id: int, kind: str, message: str, now: float,
                      changes: tuple[TagChange, ...] = ()) -> None:  # fmt: skip
    catalog.clear_findings(file_id, [k for k in FIXITY_KINDS if k != kind])
    # The GUI and --json show a tag edit's changes field by field.
    detail = json.dumps({"changes": [c.to_json() for c in changes]}) if changes else None
    catalog.set_finding(file_id, kind, message, now, detail)


def _with_tags(obs: Observation, path: str) -> Observation:
    try:
        track, error = read_tags(path), None
    except TagReadError as exc:
        track, error = None, exc.reason
    return Observation(obs.relpath, obs.size, obs.mtime_ns, obs.inode, obs.digests, track, error,
                       obs.ctime_ns)  # fmt: skip


def _twin_note(catalog: Catalog, root: Root, base: KnownFile, obs: Observation) -> str:
    """When the new bytes are another catalogued file's, say so: a swap or a copy over."""
    d = obs.digests
    assert d is not None
    for other in catalog.files_with_hash(d.file_hash, None):
        if other.id != base.id:
            where = abs_path(catalog.root(other.root_id), other.relpath)
            return f"; its bytes are now those of {where} (files swapped or copied over?)"
    return ""


class GoneSet:
    """Files that vanished from their path, indexed by hash to recognise where they went.

    Several identical files may vanish at once (duplicates moved together): each hash keeps a
    list, and every new file takes one of them. A baseline of identity version 1 (an upgraded
    catalog) is recognised the way :func:`same_audio` compares it: a file renamed and retagged
    at once (Picard, beets) is moved, whichever version its baseline has.
    """

    def __init__(self, gone: Iterable[KnownFile]) -> None:
        self.by_path: dict[bytes, KnownFile] = {}
        self._by_file: dict[str, list[KnownFile]] = {}
        self._by_audio: dict[str, list[KnownFile]] = {}
        self._legacy: list[KnownFile] = []  # version-1 baselines
        for k in gone:
            self.add(k)

    def __bool__(self) -> bool:
        return bool(self.by_path)

    def add(self, k: KnownFile) -> None:
        self.by_path[k.relpath] = k
        if k.file_hash:
            self._by_file.setdefault(k.file_hash, []).append(k)
        if k.audio_hash and k.audio_method != "file":
            if k.audio_version >= IDENTITY_VERSION:
                self._by_audio.setdefault(k.audio_hash, []).append(k)
            else:
                self._legacy.append(k)

    def take(self, obs: Observation, path: str | None = None) -> KnownFile | None:
        """The vanished file with the same bytes (else the same audio), removed from the set.
        ``path`` (the new file's) lets a version-1 baseline be compared as it was made."""
        d = obs.digests
        if d is None:
            return None
        for index, key in ((self._by_file, d.file_hash), (self._by_audio, d.audio_hash)):
            if index is self._by_audio and d.audio_method == "file":
                continue
            for k in index.get(key, ()):
                if k.relpath in self.by_path:
                    return self._taken(k)
        live = [k for k in self._legacy if k.relpath in self.by_path]
        if d.audio_method == "file" or not live:
            return None
        for k in live:  # most formats: version 1 is the samples half
            if k.audio_hash == d.samples_hash:
                return self._taken(k)
        if path is None:
            return None
        computed: dict[tuple[str, str], str | None] = {}  # one more read per kind, at most
        for k in live:
            method = k.audio_method or ""
            if (method, d.audio_method) not in _RECOMPUTED:
                continue
            slot = (method, k.hash_algo or d.algorithm)
            if slot not in computed:
                computed[slot] = _legacy_hash(method, slot[1], path)
            if computed[slot] == k.audio_hash:
                return self._taken(k)
        return None

    def _taken(self, k: KnownFile) -> KnownFile:
        del self.by_path[k.relpath]
        return k


def settle_gone(
    catalog: Catalog, root: Root, gone: GoneSet, now: float
) -> list[tuple[KnownFile, str, str | None]]:
    """Judge files that vanished and did not turn up among new files: a copy of the same
    bytes made after the original was last read means it moved (its history is merged into
    the copy); otherwise it is missing. Returns (file, "moved" | "missing", other path)."""
    verdicts: list[tuple[KnownFile, str, str | None]] = []
    for k in list(gone.by_path.values()):
        twin = None
        if k.file_hash:
            twin = next(
                (
                    f
                    for f in catalog.files_with_hash(k.file_hash, None)
                    if f.id != k.id and f.present and f.file_hash == k.file_hash
                ),
                None,
            )
        # A copy that first appeared in a later run than the one that last read the original
        # is where the original went; one seen side by side with it was a duplicate.
        if twin is not None and catalog.run_started_between(
            k.last_read or k.first_seen, twin.first_seen
        ):
            old, new = abs_path(root, k.relpath), abs_path(catalog.root(twin.root_id), twin.relpath)
            catalog.merge_into(k.id, twin.id)
            catalog.update_file(twin.id, state="moved", state_detail=f"from {old}")
            catalog.add_history(twin.id, "moved", now, detail=f"from {old}")
            catalog.set_finding(twin.id, "moved", f"{MESSAGES['moved']} (from {old})", now)
            catalog.add_journal(
                "merge",
                now,
                file_id=twin.id,
                path=new,
                detail={"from": old, "merged_file_id": k.id},
            )
            verdicts.append((k, "moved", new))
            continue
        reason = MESSAGES["missing"]
        if twin is not None:
            where = abs_path(catalog.root(twin.root_id), twin.relpath)
            reason += f"; an identical copy is at {where}"
        record_problem(catalog, k, "missing", reason, now)
        verdicts.append((k, "missing", None))
    gone.by_path.clear()
    return verdicts
