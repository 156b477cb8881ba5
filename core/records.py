"""The values the catalog hands out and takes in: frozen, slotted, no SQL.

Kept apart from :mod:`phonovault.core.catalog` so that module stays about queries; everything
here is re-exported from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from phonovault.core.identity.digests import Digests
from phonovault.core.tags.reading import TrackInfo


@dataclass(frozen=True, slots=True)
class Root:
    id: int
    path: str  # str with surrogate escapes where the bytes were not UTF-8 (os.fsdecode)
    added: float
    was_mount: bool
    last_scan: float | None


class KnownFile(NamedTuple):
    """What scanning and verifying compare a file on disk against: its baseline (the stat
    and hashes it was accepted with) and the stat it was last seen with."""

    id: int
    root_id: int
    relpath: bytes
    size: int  # baseline
    mtime_ns: int
    inode: int
    seen_size: int  # last read from disk (equals the baseline unless the audio changed)
    seen_mtime_ns: int
    seen_inode: int
    present: bool
    file_hash: str | None
    audio_hash: str | None
    hash_algo: str | None
    audio_method: str | None
    first_seen: float
    last_read: float | None
    last_verified: float | None
    state: str
    audio_version: int  # the audio identity's definition (identity.parts.IDENTITY_VERSION)
    setup_hash: str | None  # the identity's codec set-up half (None: fallback, or version 1)
    seen_ctime_ns: int | None  # ctime when last read (None: read before schema 8)
    has_sha256: bool  # a SHA-256 is stored (scan --sha256 fills in the others)


@dataclass(frozen=True, slots=True)
class FileRecord:
    """Everything the catalog knows about one file."""

    id: int
    root_id: int
    relpath: bytes
    path_text: str
    size: int
    mtime_ns: int
    inode: int
    present: int
    format: str | None
    codec: str | None
    duration: float | None
    sample_rate: int | None
    bit_depth: int | None
    channels: int | None
    bitrate: int | None
    title: str | None
    artist: str | None
    album: str | None
    albumartist: str | None
    track: int | None
    tracktotal: int | None
    disc: int | None
    disctotal: int | None
    date: str | None
    genre: str | None
    mb_trackid: str | None
    mb_albumid: str | None
    mb_artistid: str | None
    mb_albumartistid: str | None
    mb_releasegroupid: str | None
    rg_track_gain: float | None
    rg_track_peak: float | None
    rg_album_gain: float | None
    rg_album_peak: float | None
    tag_formats: str | None
    raw_tags: str | None
    art_count: int | None
    art_bytes: int | None
    art_width: int | None
    art_height: int | None
    art_hash: str | None
    tag_error: str | None
    file_hash: str | None
    audio_hash: str | None
    hash_algo: str | None
    audio_method: str | None
    sha256: str | None
    first_seen: float
    last_read: float | None
    last_verified: float | None
    state: str
    state_detail: str | None
    seen_size: int | None
    seen_mtime_ns: int | None
    seen_inode: int | None
    audio_fallback: str | None  # why the audio hash is the whole file's (audio_method "file")
    audio_version: int  # the audio identity's definition version
    setup_hash: str | None
    ctime_ns: int | None  # the baseline read's ctime
    seen_ctime_ns: int | None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at: float
    state: str
    file_hash: str | None
    audio_hash: str | None
    size: int | None
    mtime_ns: int | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class Finding:
    id: int
    file_id: int | None
    path: str
    kind: str
    severity: str
    message: str
    created: float


@dataclass(frozen=True, slots=True)
class JournalEntry:
    at: float
    action: str
    path: str | None
    detail: str | None


class LibraryRow(NamedTuple):
    """One line of the library table: only what the table shows, cheap to hold 200k of."""

    id: int
    path: str
    title: str | None
    artist: str | None
    album: str | None
    albumartist: str | None
    track: int | None
    disc: int | None
    format: str | None
    duration: float | None
    bit_depth: int | None
    sample_rate: int | None
    size: int
    state: str
    last_verified: float | None


class AlbumRow(NamedTuple):
    """One album: files grouped by album artist (else artist) and album title."""

    albumartist: str
    album: str
    tracks: int
    size: int
    duration: float
    date: str | None
    formats: str
    states: str  # comma-separated distinct states of its files
    cover_file_id: int | None  # a file with embedded art, for the thumbnail


class JobRow(NamedTuple):
    id: int
    kind: str
    started: float
    finished: float | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class Observation:
    """What one read of a file found: its stat, and tags and hashes when they could be read."""

    relpath: bytes
    size: int
    mtime_ns: int
    inode: int
    digests: Digests | None
    track: TrackInfo | None
    tag_error: str | None
    ctime_ns: int | None = None  # evidence of a write a tagger cannot hide (judge.py)


@dataclass(frozen=True, slots=True)
class Target:
    """A backup folder registered as a copy of one library root (DESIGN.md, "Backups")."""

    id: int
    root_id: int
    path: str  # str with surrogate escapes where the bytes were not UTF-8
    marker_id: str  # the identity written in the target's marker file
    added: float
    last_verified: float | None


@dataclass(frozen=True, slots=True)
class CopyRecord:
    """What the last verification of a target found at one path in it.

    ``file_id`` is the library file this copy belongs to; None for a file only in the
    backup that matches nothing the catalog knows. A ``missing`` copy has no stat or hashes
    and its ``relpath`` is where the copy should have been.
    """

    target_id: int
    file_id: int | None
    relpath: bytes
    size: int | None
    mtime_ns: int | None
    inode: int | None
    file_hash: str | None
    audio_hash: str | None
    hash_algo: str | None
    state: str
    verified_at: float | None
    detail: str | None
    audio_version: int = 2  # the identity version of audio_hash (identity.parts)


class CopyState(NamedTuple):
    """One copy as coverage counts it."""

    file_id: int
    target_id: int
    state: str
    verified_at: float | None


class CoverageFile(NamedTuple):
    """A present library file as coverage groups it."""

    id: int
    path: str  # full display path
    albumartist: str | None
    artist: str | None
    album: str | None


# Fixity states in which a file's bytes differ from the baseline hashes stored for it.
UNBASELINED_STATES = frozenset({"corrupt", "audio-changed"})


class DecodeTarget(NamedTuple):
    """A file a decode check is asked for, with what its cached verdict is keyed on."""

    id: int
    root_id: int
    relpath: bytes
    size: int
    duration: float | None
    audio_hash: str | None
    art_hash: str | None
    state: str
    audio_version: int

    @property
    def cache_key(self) -> str | None:
        """The audio identity and the cover: what a decode check judges. Tag edits keep it.
        None when the stored hashes are not the file's current bytes (a corrupt or changed
        file keeps its baseline until accepted): its verdict must not be filed under them;
        and for an identity of version 1, which left the codec set-up out, so that files
        with the same frames but other headers shared one verdict."""
        if self.audio_hash is None or self.state in UNBASELINED_STATES:
            return None
        if self.audio_version < 2:
            return None
        return f"{self.audio_hash}:{self.art_hash or ''}"
