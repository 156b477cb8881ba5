"""The SQLite catalog: schema, migrations and every query (the only module with SQL).

One writer, WAL journal, small explicit transactions: a kill at any moment leaves the last
committed state, and a re-run picks up from there. Paths are stored as the bytes the file
system gave us, so names that are not valid UTF-8 round-trip exactly.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from phonovault.core.catalog import guard as catalog_guard  # damage on open, backups
from phonovault.core.errors import (
    CatalogError,
    NotInCatalogError,
    SchemaTooNewError,
)
from phonovault.core.identity.digests import Digests
from phonovault.core.records import (
    AlbumRow,
    CopyRecord,
    CopyState,
    CoverageFile,
    DecodeTarget,
    FileRecord,
    Finding,
    HistoryEntry,
    JobRow,
    JournalEntry,
    KnownFile,
    LibraryRow,
    Observation,
    Root,
    Target,
)

__all__ = [
    "SCHEMA_VERSION",
    "AlbumRow",
    "Batch",
    "Catalog",
    "CopyRecord",
    "DecodeTarget",
    "FileRecord",
    "Finding",
    "HistoryEntry",
    "JobRow",
    "JournalEntry",
    "KnownFile",
    "LibraryRow",
    "Mute",
    "Observation",
    "Root",
    "Target",
    "display_path",
]

SCHEMA_VERSION = 8

# Each entry upgrades the schema by one version; never edit a released entry, append.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE roots (
        id INTEGER PRIMARY KEY,
        path BLOB NOT NULL UNIQUE,
        path_text TEXT NOT NULL,
        added REAL NOT NULL,
        was_mount INTEGER NOT NULL DEFAULT 0,
        last_scan REAL
    );
    CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        root_id INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
        relpath BLOB NOT NULL,
        path_text TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        present INTEGER NOT NULL DEFAULT 1,
        format TEXT, codec TEXT, duration REAL, sample_rate INTEGER, bit_depth INTEGER,
        channels INTEGER, bitrate INTEGER,
        title TEXT, artist TEXT, album TEXT, albumartist TEXT,
        track INTEGER, tracktotal INTEGER, disc INTEGER, disctotal INTEGER,
        date TEXT, genre TEXT,
        mb_trackid TEXT, mb_albumid TEXT, mb_artistid TEXT, mb_albumartistid TEXT,
        mb_releasegroupid TEXT,
        rg_track_gain REAL, rg_track_peak REAL, rg_album_gain REAL, rg_album_peak REAL,
        tag_formats TEXT, raw_tags TEXT,
        art_count INTEGER, art_bytes INTEGER, art_width INTEGER, art_height INTEGER,
        art_hash TEXT,
        tag_error TEXT,
        file_hash TEXT, audio_hash TEXT, hash_algo TEXT, audio_method TEXT, sha256 TEXT,
        first_seen REAL NOT NULL,
        last_read REAL,
        last_verified REAL,
        state TEXT NOT NULL DEFAULT 'ok',
        state_detail TEXT,
        UNIQUE (root_id, relpath)
    );
    CREATE INDEX files_file_hash ON files(file_hash);
    CREATE INDEX files_audio_hash ON files(audio_hash);
    CREATE INDEX files_state ON files(state);
    CREATE INDEX files_last_verified ON files(last_verified);
    CREATE TABLE history (
        id INTEGER PRIMARY KEY,
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        at REAL NOT NULL,
        state TEXT NOT NULL,
        file_hash TEXT, audio_hash TEXT, size INTEGER, mtime_ns INTEGER,
        detail TEXT
    );
    CREATE INDEX history_file ON history(file_id, at);
    CREATE TABLE findings (
        id INTEGER PRIMARY KEY,
        file_id INTEGER REFERENCES files(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        severity TEXT NOT NULL,
        message TEXT NOT NULL,
        created REAL NOT NULL,
        UNIQUE (file_id, kind)
    );
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        action TEXT NOT NULL,
        file_id INTEGER REFERENCES files(id) ON DELETE SET NULL,
        path_text TEXT,
        detail TEXT
    );
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        params TEXT NOT NULL,
        started REAL NOT NULL,
        finished REAL,
        outcome TEXT
    );
    """,
    # 2: the stat last seen on disk, apart from the baseline's. A file whose audio changed
    # keeps its baseline until the user accepts it; without these, every scan would re-read
    # it (its stat never matches the baseline) and add a history row each time.
    """
    ALTER TABLE files ADD COLUMN seen_size INTEGER;
    ALTER TABLE files ADD COLUMN seen_mtime_ns INTEGER;
    ALTER TABLE files ADD COLUMN seen_inode INTEGER;
    """,
    # 3: tag rules. A mute silences one rule for one file or for one album (album artist,
    # else artist, and album title, as the albums view groups), with the user's reason.
    # A finding's detail (JSON: the tags a rule flagged, a suggested fix) feeds the GUI.
    """
    CREATE TABLE mutes (
        id INTEGER PRIMARY KEY,
        rule_id TEXT NOT NULL,
        file_id INTEGER REFERENCES files(id) ON DELETE CASCADE,
        albumartist TEXT,
        album TEXT,
        reason TEXT NOT NULL,
        created REAL NOT NULL,
        CHECK ((file_id IS NULL) <> (album IS NULL))
    );
    CREATE INDEX mutes_rule ON mutes(rule_id);
    ALTER TABLE findings ADD COLUMN detail TEXT;
    """,
    # 4: backup targets and what the last verification found in each. A copy row keeps the
    # stat it was read with, so a re-verify re-reads only copies that changed. file_id is
    # NULL for a file only in the backup that matches nothing in the catalog.
    """
    CREATE TABLE targets (
        id INTEGER PRIMARY KEY,
        root_id INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
        path BLOB NOT NULL UNIQUE,
        path_text TEXT NOT NULL,
        marker_id TEXT NOT NULL UNIQUE,
        added REAL NOT NULL,
        last_verified REAL
    );
    CREATE TABLE copies (
        id INTEGER PRIMARY KEY,
        target_id INTEGER NOT NULL REFERENCES targets(id) ON DELETE CASCADE,
        file_id INTEGER REFERENCES files(id) ON DELETE SET NULL,
        relpath BLOB NOT NULL,
        path_text TEXT NOT NULL,
        size INTEGER, mtime_ns INTEGER, inode INTEGER,
        file_hash TEXT, audio_hash TEXT, hash_algo TEXT,
        state TEXT NOT NULL,
        verified_at REAL,
        detail TEXT,
        UNIQUE (target_id, relpath)
    );
    CREATE INDEX copies_file ON copies(file_id);
    CREATE INDEX copies_state ON copies(target_id, state);
    CREATE INDEX copies_file_hash ON copies(file_hash);
    """,
    # 5: unreadable tags are one finding, the tags-unreadable rule's (the scan used to file
    # its own "unreadable-tags" beside it).
    """
    DELETE FROM findings WHERE kind = 'unreadable-tags' AND file_id IN
        (SELECT file_id FROM findings WHERE kind = 'rule:tags-unreadable');
    UPDATE findings SET kind = 'rule:tags-unreadable', severity = 'error'
        WHERE kind = 'unreadable-tags';
    """,
    # 6: decode checks, cached per audio payload (and cover): an unchanged file, a tag edit
    # or an identical copy elsewhere is not decoded twice. ``result`` is the JSON of
    # integrity.DecodeResult; ``decoder`` names the FFmpeg/PyAV that judged it.
    """
    CREATE TABLE decode_checks (
        key TEXT PRIMARY KEY,
        ok INTEGER NOT NULL,
        result TEXT NOT NULL,
        decoder TEXT NOT NULL,
        checked_at REAL NOT NULL
    );
    """,
    # 7: why a file's audio hash is its whole file's (a format or a structure the payload
    # parser does not know): DESIGN.md says the fallback "says so", so it is kept to be shown.
    """
    ALTER TABLE files ADD COLUMN audio_fallback TEXT;
    """,
    # 8: audio identity version 2 (DESIGN.md, "Hashes"): it covers the codec set-up too, and
    # its set-up half is kept to name where damage is. Existing identities are version 1;
    # each file gets its version-2 identity at its next read, without a new verdict when its
    # bytes are the baseline's. ctime is evidence of a write (judge.py). Copies say which
    # identity version they were made with. Cached decode verdicts were filed under version
    # 1 identities, which files with other headers shared: they are dropped (the findings
    # they made stay until the next decode check).
    """
    ALTER TABLE files ADD COLUMN audio_version INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE files ADD COLUMN setup_hash TEXT;
    ALTER TABLE files ADD COLUMN ctime_ns INTEGER;
    ALTER TABLE files ADD COLUMN seen_ctime_ns INTEGER;
    ALTER TABLE copies ADD COLUMN audio_version INTEGER NOT NULL DEFAULT 1;
    DELETE FROM decode_checks;
    """,
)

# Fixity states that need the user's attention, and how loud they are.
SEVERITY = {
    "corrupt": "error",
    "audio-changed": "warning",
    "missing": "error",
    "unreadable": "error",
    "moved": "info",
    "tags-changed": "info",
    "rule:tags-unreadable": "error",  # filed by the scan, kept by the tags-unreadable rule
    # decode checks (core/integrity.py)
    "decode-error": "error",
    "truncated": "error",
    "md5-mismatch": "error",
    "undecodable": "error",
    "cover-damaged": "warning",
}


_FILE_COLUMNS = tuple(f.name for f in fields(FileRecord))
_SELECT_FILES = f"SELECT {', '.join(_FILE_COLUMNS)} FROM files"
_TRACK_COLUMNS = (
    "format", "codec", "duration", "sample_rate", "bit_depth", "channels", "bitrate",
    "title", "artist", "album", "albumartist", "track", "tracktotal", "disc", "disctotal",
    "date", "genre", "mb_trackid", "mb_albumid", "mb_artistid", "mb_albumartistid",
    "mb_releasegroupid", "rg_track_gain", "rg_track_peak", "rg_album_gain", "rg_album_peak",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Mute:
    """A rule silenced for one file (``file_id``) or one album (``albumartist``, ``album``)."""

    rule_id: str
    file_id: int | None
    path: str  # the file's display path, "" for an album
    albumartist: str | None
    album: str | None
    reason: str
    created: float


def display_path(raw: bytes) -> str:
    """A printable form of a file-system path (undecodable bytes shown as U+FFFD)."""
    return raw.decode("utf-8", "replace")


def _observation_columns(obs: Observation) -> dict[str, Any]:
    cols: dict[str, Any] = {
        "size": obs.size, "mtime_ns": obs.mtime_ns, "inode": obs.inode, "present": 1,
        "seen_size": obs.size, "seen_mtime_ns": obs.mtime_ns, "seen_inode": obs.inode,
        "tag_error": obs.tag_error, "ctime_ns": obs.ctime_ns, "seen_ctime_ns": obs.ctime_ns,
    }  # fmt: skip
    track = obs.track
    if track is not None:
        for name in _TRACK_COLUMNS:
            cols[name] = getattr(track, name)
        cols["tag_formats"] = ",".join(track.tag_formats)
        cols["raw_tags"] = json.dumps(
            {k: list(v) for k, v in track.raw.items()}, ensure_ascii=False
        )
        art = track.art
        cols.update(
            art_count=art.count,
            art_bytes=art.total_bytes,
            art_width=art.width,
            art_height=art.height,
            art_hash=art.hash,
        )
    d = obs.digests
    if d is not None:
        cols.update(
            file_hash=d.file_hash,
            audio_hash=d.audio_hash,
            hash_algo=d.algorithm,
            audio_method=d.audio_method,
            audio_fallback=d.fallback_reason,
            sha256=d.sha256,
            audio_version=d.audio_version,
            setup_hash=d.setup_hash,
        )
    return cols


class Batch:
    """Handle of :meth:`Catalog.batch`."""

    def __init__(self, catalog: Catalog, seconds: float) -> None:
        self._catalog = catalog
        self._seconds = seconds
        self._since = time.monotonic()

    def tick(self) -> None:
        if time.monotonic() - self._since >= self._seconds:
            self._catalog._db.execute("COMMIT")
            self._catalog._begin()
            self._since = time.monotonic()


class Catalog:
    """An open catalog. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True) -> None:
        self.path = Path(path)
        # An existing file that is empty or not SQLite is refused, whatever ``create`` says;
        # only a path holding nothing becomes a new catalog (CatalogMissingError otherwise).
        opening = catalog_guard.before_open(self.path, create=create)
        try:
            self._db = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA busy_timeout = 5000")
            catalog_guard.after_open(self._db, opening, schema=SCHEMA_VERSION)
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise catalog_guard.open_error(self.path, exc, getattr(self, "_db", None)) from exc
        self._depth = 0

    # -- plumbing ---------------------------------------------------------------------------

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"the catalog {self.path} was written by a newer Phonovault (schema "
                f"{version}, this version knows {SCHEMA_VERSION}); it was left untouched. "
                "Upgrade Phonovault to open it."
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            # executescript() would commit on its own; run statements one by one so the
            # whole step and its version bump are one transaction.
            self._db.execute("BEGIN IMMEDIATE")
            for statement in MIGRATIONS[target - 1].split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {target}")
            self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit of work; nested calls join the outer transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._begin()
        self._depth = 1
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._depth = 0

    def _begin(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise CatalogError(
                    f"the catalog {self.path} is busy: another Phonovault (a scan or verify, "
                    "or the app) is writing to it; try again when it has finished"
                ) from exc
            raise CatalogError(f"the catalog {self.path} cannot be written: {exc}") from exc

    @contextmanager
    def batch(self, seconds: float = 0.5) -> Iterator[Batch]:
        """A transaction that a long loop commits every ``seconds`` through ``tick()``:
        a kill loses at most that much work, and 100k files do not cost 100k fsyncs.
        Not nestable: a tick would commit the outer transaction's work."""
        if self._depth:
            raise RuntimeError("Catalog.batch() cannot run inside another transaction")
        with self.transaction():
            yield Batch(self, seconds)

    def integrity_ok(self) -> bool:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # -- roots ------------------------------------------------------------------------------

    def add_root(self, path: str | os.PathLike[str], *, was_mount: bool = False) -> Root:
        raw = os.fsencode(path)
        with self.transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO roots (path, path_text, added, was_mount) "
                "VALUES (?, ?, ?, ?)",
                (raw, display_path(raw), time.time(), int(was_mount)),
            )
        root = self.root_by_path(path)
        assert root is not None
        return root

    def remove_root(self, root_id: int) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM roots WHERE id = ?", (root_id,))

    def roots(self) -> list[Root]:
        rows = self._db.execute("SELECT * FROM roots ORDER BY path_text").fetchall()
        return [self._root(r) for r in rows]

    def root_by_path(self, path: str | os.PathLike[str]) -> Root | None:
        row = self._db.execute(
            "SELECT * FROM roots WHERE path = ?", (os.fsencode(path),)
        ).fetchone()
        return self._root(row) if row else None

    def root(self, root_id: int) -> Root:
        return self._root(
            self._db.execute("SELECT * FROM roots WHERE id = ?", (root_id,)).fetchone()
        )

    def has_present_files(self, root_id: int) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM files WHERE root_id = ? AND present = 1 LIMIT 1", (root_id,)
        ).fetchone()
        return row is not None

    def mark_root_scanned(self, root_id: int, at: float) -> None:
        with self.transaction():
            self._db.execute("UPDATE roots SET last_scan = ? WHERE id = ?", (at, root_id))

    @staticmethod
    def _root(row: sqlite3.Row) -> Root:
        return Root(
            row["id"],
            os.fsdecode(row["path"]),
            row["added"],
            bool(row["was_mount"]),
            row["last_scan"],
        )

    # -- files: reading ---------------------------------------------------------------------

    def known_files(self, root_id: int) -> dict[bytes, KnownFile]:
        """Every file of a root with what scanning and verifying compare, keyed by path.

        Narrow on purpose: verifying 100k files must not pull every tag into memory.
        """
        rows = self._db.execute(
            "SELECT id, root_id, relpath, size, mtime_ns, inode, COALESCE(seen_size, size), "
            "COALESCE(seen_mtime_ns, mtime_ns), COALESCE(seen_inode, inode), present, "
            "file_hash, audio_hash, hash_algo, audio_method, first_seen, last_read, "
            "last_verified, state, audio_version, setup_hash, seen_ctime_ns, "
            "sha256 IS NOT NULL FROM files WHERE root_id = ?",
            (root_id,),
        )
        make = KnownFile._make
        return {r[2]: make((*r[:9], bool(r[9]), *r[10:-1], bool(r[-1]))) for r in rows}

    def known_file(self, file_id: int) -> KnownFile:
        found = self.known_files_by_ids([file_id])
        if not found:
            raise NotInCatalogError(f"no file with id {file_id}")
        return found[0]

    def known_files_by_ids(self, ids: Sequence[int]) -> list[KnownFile]:
        rows = self._db.execute(
            "SELECT id, root_id, relpath, size, mtime_ns, inode, COALESCE(seen_size, size), "
            "COALESCE(seen_mtime_ns, mtime_ns), COALESCE(seen_inode, inode), present, "
            "file_hash, audio_hash, hash_algo, audio_method, first_seen, last_read, "
            "last_verified, state, audio_version, setup_hash, seen_ctime_ns, "
            f"sha256 IS NOT NULL FROM files WHERE id IN ({','.join('?' * len(ids))})",
            list(ids),
        ).fetchall()
        return [KnownFile._make((*r[:9], bool(r[9]), *r[10:-1], bool(r[-1]))) for r in rows]

    def merge_into(self, old_id: int, new_id: int) -> None:
        """Fold a vanished file's history into the file its bytes turned up as (a copy made
        before the original was deleted is a move): nothing is forgotten."""
        self._db.execute("UPDATE history SET file_id = ? WHERE file_id = ?", (new_id, old_id))
        old = self.file(old_id)
        self._db.execute(
            "UPDATE files SET first_seen = MIN(first_seen, ?) WHERE id = ?",
            (old.first_seen, new_id),
        )
        self._db.execute("DELETE FROM files WHERE id = ?", (old_id,))

    def file(self, file_id: int) -> FileRecord:
        row = self._db.execute(_SELECT_FILES + " WHERE id = ?", (file_id,)).fetchone()
        if row is None:
            raise NotInCatalogError(f"no file with id {file_id}")
        return FileRecord(*row)

    def file_by_path(self, root_id: int, relpath: bytes) -> FileRecord | None:
        row = self._db.execute(
            _SELECT_FILES + " WHERE root_id = ? AND relpath = ?", (root_id, relpath)
        ).fetchone()
        return FileRecord(*row) if row else None

    def files(
        self,
        root_ids: Sequence[int] | None = None,
        *,
        order: str = "path",
        older_than: float | None = None,
    ) -> Iterator[FileRecord]:
        """Files of the given roots (all when None), by path or least recently verified."""
        sql = _SELECT_FILES
        where, args = [], []  # type: ignore[var-annotated]
        if root_ids is not None:
            where.append(f"root_id IN ({','.join('?' * len(root_ids))})")
            args.extend(root_ids)
        if older_than is not None:
            where.append("(last_verified IS NULL OR last_verified < ?)")
            args.append(older_than)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += (
            " ORDER BY root_id, relpath"
            if order == "path"
            else " ORDER BY last_verified IS NOT NULL, last_verified, id"
        )
        for row in self._db.execute(sql, args).fetchall():
            yield FileRecord(*row)

    def files_with_hash(self, file_hash: str | None, audio_hash: str | None) -> list[FileRecord]:
        rows = self._db.execute(
            _SELECT_FILES + " WHERE file_hash = ? OR audio_hash = ?", (file_hash, audio_hash)
        ).fetchall()
        return [FileRecord(*r) for r in rows]

    def library_rows(self) -> list[LibraryRow]:
        """Every file as a table row, with its full display path."""
        cur = self._db.cursor()
        cur.row_factory = None  # plain tuples: a quarter faster at 200k rows than sqlite3.Row
        cur.execute(
            "SELECT f.id, r.path_text || '/' || f.path_text, f.title, f.artist, f.album, "
            "f.albumartist, f.track, f.disc, f.format, f.duration, f.bit_depth, "
            "f.sample_rate, f.size, f.state, f.last_verified "
            "FROM files f JOIN roots r ON r.id = f.root_id ORDER BY f.id"
        )
        return list(map(LibraryRow._make, cur))

    def album_count(self) -> int:
        row = self._db.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM files GROUP BY "
            "COALESCE(NULLIF(albumartist, ''), NULLIF(artist, ''), 'Unknown artist'), "
            "COALESCE(NULLIF(album, ''), 'Unknown album'))"
        ).fetchone()
        return int(row[0])

    def album_rows(self) -> list[AlbumRow]:
        cur = self._db.execute(
            "SELECT COALESCE(NULLIF(albumartist, ''), NULLIF(artist, ''), 'Unknown artist') "
            "AS aa, COALESCE(NULLIF(album, ''), 'Unknown album') AS al, COUNT(*), "
            "SUM(size), COALESCE(SUM(duration), 0), MIN(date), "
            "GROUP_CONCAT(DISTINCT format), GROUP_CONCAT(DISTINCT state), "
            "MIN(CASE WHEN art_count > 0 THEN id END) "
            "FROM files GROUP BY aa, al ORDER BY aa COLLATE NOCASE, al COLLATE NOCASE"
        )
        return [AlbumRow._make(row) for row in cur]

    def album_file_ids(self, albumartist: str, album: str) -> list[int]:
        rows = self._db.execute(
            "SELECT id FROM files WHERE COALESCE(NULLIF(albumartist, ''), NULLIF(artist, ''), "
            "'Unknown artist') = ? AND COALESCE(NULLIF(album, ''), 'Unknown album') = ? "
            "ORDER BY disc, track, path_text",
            (albumartist, album),
        ).fetchall()
        return [r[0] for r in rows]

    def jobs(self, limit: int = 200) -> list[JobRow]:
        rows = self._db.execute(
            "SELECT id, kind, started, finished, outcome FROM jobs ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [JobRow._make(r) for r in rows]

    def history(self, file_id: int) -> list[HistoryEntry]:
        rows = self._db.execute(
            "SELECT at, state, file_hash, audio_hash, size, mtime_ns, detail FROM history "
            "WHERE file_id = ? ORDER BY at, id",
            (file_id,),
        ).fetchall()
        return [HistoryEntry(*r) for r in rows]

    def state_counts(self, root_ids: Sequence[int] | None = None) -> dict[str, int]:
        sql = "SELECT state, COUNT(*) FROM files"
        args: list[int] = []
        if root_ids is not None:
            sql += f" WHERE root_id IN ({','.join('?' * len(root_ids))})"
            args = list(root_ids)
        return dict(self._db.execute(sql + " GROUP BY state", args).fetchall())

    def totals(self) -> tuple[int, int, float | None]:
        """(files, bytes, oldest last-verified time) over the whole catalog."""
        row = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0), MIN(COALESCE(last_verified, 0)) FROM files"
        ).fetchone()
        return row[0], row[1], (row[2] or None)

    def summary_counts(self) -> tuple[int, int, float | None, dict[str, int], int, int]:
        """(files, bytes, oldest last-verified time, files per state, albums, findings at
        warning or worse) in one statement, so the numbers come from one snapshot.

        The same figures as :meth:`totals`, :meth:`state_counts`, :meth:`album_count` and
        ``len(findings(min_severity="warning"))``, for the window's status line.
        """
        rows = self._db.execute(
            "SELECT s.state, s.n, s.bytes, s.oldest, a.albums, w.findings FROM "
            "(SELECT COUNT(*) AS albums FROM (SELECT 1 FROM files GROUP BY "
            "COALESCE(NULLIF(albumartist, ''), NULLIF(artist, ''), 'Unknown artist'), "
            "COALESCE(NULLIF(album, ''), 'Unknown album'))) AS a "
            "CROSS JOIN (SELECT COUNT(*) AS findings FROM findings "
            "WHERE severity IN ('warning', 'error')) AS w "
            # LEFT JOIN ... ON 1: one row of NULLs when there are no files at all
            "LEFT JOIN (SELECT state, COUNT(*) AS n, SUM(size) AS bytes, "
            "MIN(COALESCE(last_verified, 0)) AS oldest FROM files GROUP BY state) AS s ON 1"
        ).fetchall()
        states = {r[0]: r[1] for r in rows if r[0] is not None}
        files = sum(states.values())
        size = sum(r[2] for r in rows if r[0] is not None)
        oldest = min((r[3] for r in rows if r[0] is not None), default=None)
        return files, size, (oldest or None), states, rows[0][4], rows[0][5]

    def findings(self, *, min_severity: str = "info") -> list[Finding]:
        order = {"info": 0, "warning": 1, "error": 2}
        allowed = [s for s, n in order.items() if n >= order[min_severity]]
        rows = self._db.execute(
            "SELECT f.id, f.file_id, r.path, fi.relpath, f.kind, f.severity, f.message, "
            "f.created FROM findings f "
            "LEFT JOIN files fi ON fi.id = f.file_id LEFT JOIN roots r ON r.id = fi.root_id "
            f"WHERE f.severity IN ({','.join('?' * len(allowed))}) "
            "ORDER BY f.created DESC, f.id DESC",
            allowed,
        ).fetchall()
        return [self._finding(r) for r in rows]

    def findings_for_file(self, file_id: int) -> list[Finding]:
        rows = self._db.execute(
            "SELECT f.id, f.file_id, r.path, fi.relpath, f.kind, f.severity, f.message, "
            "f.created FROM findings f JOIN files fi ON fi.id = f.file_id "
            "JOIN roots r ON r.id = fi.root_id WHERE f.file_id = ? ORDER BY f.created DESC",
            (file_id,),
        ).fetchall()
        return [self._finding(r) for r in rows]

    @staticmethod
    def _finding(row: sqlite3.Row) -> Finding:
        """A finding from ``id, file_id, root path, relpath, ...``: the path is built from the
        stored bytes (surrogate escapes, like every other path), not from the lossy
        ``path_text``, so a name that is not UTF-8 can still be opened and reported exactly."""
        root, rel = row[2], row[3]
        path = os.path.join(os.fsdecode(root), os.fsdecode(rel)) if root and rel else ""
        return Finding(row[0], row[1], path, *row[4:])

    def journal(self, limit: int = 1000) -> list[JournalEntry]:
        rows = self._db.execute(
            "SELECT at, action, path_text, detail FROM journal ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [JournalEntry(*r) for r in rows]

    # -- files: writing (callers group these in transaction()) ------------------------------

    def insert_file(
        self, root_id: int, obs: Observation, *, state: str, now: float, **extra: Any
    ) -> int:
        cols = _observation_columns(obs)
        cols.update(
            root_id=root_id,
            relpath=obs.relpath,
            path_text=display_path(obs.relpath),
            first_seen=now,
            last_read=now,
            state=state,
            **extra,
        )
        names = ", ".join(cols)
        marks = ", ".join("?" * len(cols))
        cur = self._db.execute(
            f"INSERT INTO files ({names}) VALUES ({marks})", tuple(cols.values())
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def update_file(self, file_id: int, obs: Observation | None = None, /, **extra: Any) -> None:
        """Store a new observation (a new baseline) and/or other columns of one file."""
        cols = _observation_columns(obs) if obs is not None else {}
        if obs is not None:
            cols["relpath"] = obs.relpath
            cols["path_text"] = display_path(obs.relpath)
        cols.update(extra)
        unknown = set(cols) - set(_FILE_COLUMNS)
        if unknown:
            raise ValueError(f"unknown file columns: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in cols)
        self._db.execute(f"UPDATE files SET {assignments} WHERE id = ?", (*cols.values(), file_id))

    def add_history(
        self,
        file_id: int,
        state: str,
        now: float,
        *,
        digests: Digests | None = None,
        size: int | None = None,
        mtime_ns: int | None = None,
        detail: str | None = None,
    ) -> None:
        self._db.execute(
            "INSERT INTO history (file_id, at, state, file_hash, audio_hash, size, mtime_ns, "
            "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                file_id,
                now,
                state,
                digests.file_hash if digests else None,
                digests.audio_hash if digests else None,
                size,
                mtime_ns,
                detail,
            ),
        )

    def set_seen_inodes(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Record ``(file id, inode)`` for files of a renumbered (remounted) root whose
        bytes are unchanged: the baseline's inode moves with them."""
        self._db.executemany(
            "UPDATE files SET inode = ?, seen_inode = ? WHERE id = ?",
            [(inode, inode, file_id) for file_id, inode in pairs],
        )

    def set_finding(
        self, file_id: int, kind: str, message: str, now: float, detail: str | None = None
    ) -> None:
        """Record (or refresh) one finding about a file; kinds are fixity states and
        ``rule:<id>``. ``detail`` is JSON for the GUI (a tag edit's changes)."""
        self._db.execute(
            "INSERT INTO findings (file_id, kind, severity, message, detail, created) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (file_id, kind) DO UPDATE SET "
            "message = excluded.message, detail = excluded.detail",
            (file_id, kind, SEVERITY.get(kind, "warning"), message, detail, now),
        )

    def clear_findings(self, file_id: int, kinds: Iterable[str]) -> None:
        kinds = list(kinds)
        self._db.execute(
            f"DELETE FROM findings WHERE file_id = ? AND kind IN ({','.join('?' * len(kinds))})",
            (file_id, *kinds),
        )

    def add_journal(
        self,
        action: str,
        now: float,
        *,
        file_id: int | None = None,
        path: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self._db.execute(
            "INSERT INTO journal (at, action, file_id, path_text, detail) VALUES (?, ?, ?, ?, ?)",
            (now, action, file_id, path, json.dumps(detail) if detail else None),
        )

    # -- jobs -------------------------------------------------------------------------------

    def unfinished_job(self, kind: str, params: dict[str, object]) -> tuple[int, float] | None:
        """The newest job of this kind and parameters that never finished (it was killed)."""
        row = self._db.execute(
            "SELECT id, started FROM jobs WHERE kind = ? AND params = ? AND finished IS NULL "
            "ORDER BY id DESC LIMIT 1",
            (kind, json.dumps(params, sort_keys=True)),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def start_job(self, kind: str, params: dict[str, object], now: float) -> int:
        """Record a new run; older unfinished runs of this kind will not be resumed now."""
        with self.transaction():
            self._db.execute(
                "UPDATE jobs SET finished = ?, outcome = 'abandoned' "
                "WHERE kind = ? AND finished IS NULL",
                (now, kind),
            )
            cur = self._db.execute(
                "INSERT INTO jobs (kind, params, started) VALUES (?, ?, ?)",
                (kind, json.dumps(params, sort_keys=True), now),
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def run_started_between(self, after: float, before: float) -> bool:
        """Whether a scan or verify run started in that interval (so two files read at these
        times were seen by different runs, not side by side in one)."""
        row = self._db.execute(
            "SELECT 1 FROM jobs WHERE started > ? AND started < ? LIMIT 1", (after, before)
        ).fetchone()
        return row is not None

    def finish_job(self, job_id: int, outcome: str, now: float) -> None:
        with self.transaction():
            self._db.execute(
                "UPDATE jobs SET finished = ?, outcome = ? WHERE id = ?", (now, outcome, job_id)
            )

    # -- tag rules (phonovault.core.rules.engine drives these) -------------------------------------

    def files_by_ids(self, ids: Sequence[int]) -> list[FileRecord]:
        """Full records of the given files, in id order (chunked under SQLite's 999-variable
        limit, so any number of ids works)."""
        out: list[FileRecord] = []
        for start in range(0, len(ids), 900):
            chunk = list(ids[start : start + 900])
            rows = self._db.execute(
                _SELECT_FILES + f" WHERE id IN ({','.join('?' * len(chunk))}) ORDER BY id", chunk
            ).fetchall()
            out.extend(FileRecord(*r) for r in rows)
        return out

    def album_grouping(
        self, root_ids: Sequence[int] | None = None
    ) -> list[tuple[int, int, str | None, str | None, str | None]]:
        """``(id, root_id, albumartist, artist, album)`` of every present file: enough to
        group albums without pulling every file's raw tags into memory."""
        sql = "SELECT id, root_id, albumartist, artist, album FROM files WHERE present = 1"
        args: list[int] = []
        if root_ids is not None:
            sql += f" AND root_id IN ({','.join('?' * len(root_ids))})"
            args = list(root_ids)
        return [tuple(r) for r in self._db.execute(sql + " ORDER BY id", args)]  # type: ignore[misc]

    def file_ids_under(self, root_id: int, relpath: bytes) -> list[int]:
        """Present files at ``relpath`` or below it (``b"."`` or ``b""``: the whole root)."""
        if relpath in (b"", b"."):
            rows = self._db.execute(
                "SELECT id FROM files WHERE root_id = ? AND present = 1", (root_id,)
            )
        else:
            prefix = relpath.rstrip(b"/") + b"/"
            rows = self._db.execute(
                "SELECT id FROM files WHERE root_id = ? AND present = 1 AND "
                "(relpath = ? OR substr(relpath, 1, ?) = ?)",
                (root_id, relpath, len(prefix), prefix),
            )
        return [r[0] for r in rows]

    # -- decode checks (integrity.py) -------------------------------------------------------

    _DECODE_TARGET = (
        "SELECT id, root_id, relpath, size, duration, audio_hash, art_hash, state, "
        "audio_version FROM files WHERE present = 1"
    )

    def decode_targets_verified_since(
        self, root_ids: Sequence[int], since: float
    ) -> list[DecodeTarget]:
        """Present files of these roots fully read at or after ``since`` (one verify run)."""
        if not root_ids:
            return []
        marks = ",".join("?" * len(root_ids))
        rows = self._db.execute(
            f"{self._DECODE_TARGET} AND root_id IN ({marks}) AND last_verified >= ? "
            "ORDER BY root_id, relpath",
            (*root_ids, since),
        )
        return [DecodeTarget._make(r) for r in rows]

    def decode_targets(self, file_ids: Sequence[int]) -> list[DecodeTarget]:
        """These files (present ones), for a decode check the user asked for by hand."""
        out: list[DecodeTarget] = []
        for start in range(0, len(file_ids), 500):
            chunk = list(file_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"{self._DECODE_TARGET} AND id IN ({marks})", chunk)
            out.extend(DecodeTarget._make(r) for r in rows)
        return out

    def decode_results(self, keys: Iterable[str]) -> dict[str, str]:
        """Cached verdicts (result JSON) for these cache keys; unknown keys are left out."""
        found: dict[str, str] = {}
        wanted = list(dict.fromkeys(keys))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, result in self._db.execute(
                f"SELECT key, result FROM decode_checks WHERE key IN ({marks})", chunk
            ):
                found[key] = result
        return found

    def save_decode_result(
        self, key: str, *, ok: bool, result: str, decoder: str, now: float
    ) -> None:
        self._db.execute(
            "INSERT INTO decode_checks (key, ok, result, decoder, checked_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET ok = excluded.ok, "
            "result = excluded.result, decoder = excluded.decoder, "
            "checked_at = excluded.checked_at",
            (key, int(ok), result, decoder, now),
        )

    def decode_summary(self) -> tuple[int, int, float | None]:
        """Present files whose current audio (and cover) has a decode verdict, how many of
        them decoded cleanly, and when the oldest of those verdicts was made."""
        row = self._db.execute(
            "SELECT count(*), coalesce(sum(d.ok), 0), min(d.checked_at) FROM files f "
            "JOIN decode_checks d ON d.key = f.audio_hash || ':' || coalesce(f.art_hash, '') "
            "WHERE f.present = 1 AND f.state NOT IN ('corrupt', 'audio-changed') "
            "AND f.audio_version >= 2"
        ).fetchone()
        return int(row[0]), int(row[1]), row[2]

    def decode_checked_at(self, file_id: int) -> tuple[float, bool, str] | None:
        """When this file's current audio was last decode-checked, whether it passed, and
        the verdict's JSON; None if never."""
        row = self._db.execute(
            "SELECT d.checked_at, d.ok, d.result FROM files f JOIN decode_checks d "
            "ON d.key = f.audio_hash || ':' || coalesce(f.art_hash, '') WHERE f.id = ? "
            "AND f.state NOT IN ('corrupt', 'audio-changed') AND f.audio_version >= 2",
            (file_id,),
        ).fetchone()
        return None if row is None else (row[0], bool(row[1]), row[2])

    def last_job_finished(self, kind: str) -> float | None:
        """When the newest run of this kind that completed finished; None if none did."""
        row = self._db.execute(
            "SELECT max(finished) FROM jobs WHERE kind = ? AND outcome = 'done'", (kind,)
        ).fetchone()
        return None if row[0] is None else float(row[0])

    def replace_rule_findings(
        self,
        file_id: int,
        findings: Sequence[tuple[str, str, str, str | None]],
        keep: Iterable[str],
        now: float,
    ) -> None:
        """Make ``(kind, severity, message, detail)`` the file's rule findings (kinds
        ``rule:...``): others are deleted except the kinds in ``keep`` (rules that did not run
        this time). A finding that stays keeps its first-seen time."""
        stay = [f[0] for f in findings] + list(keep)
        self._db.execute(
            "DELETE FROM findings WHERE file_id = ? AND substr(kind, 1, 5) = 'rule:' "
            f"AND kind NOT IN ({','.join('?' * len(stay))})",
            (file_id, *stay),
        )
        self._db.executemany(
            "INSERT INTO findings (file_id, kind, severity, message, detail, created) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (file_id, kind) DO UPDATE SET "
            "severity = excluded.severity, message = excluded.message, detail = excluded.detail",
            [(file_id, kind, sev, msg, detail, now) for kind, sev, msg, detail in findings],
        )

    def clear_rule_findings_of_absent_files(self) -> None:
        """Drop rule findings of files that are gone (their ``missing`` finding stays)."""
        self._db.execute(
            "DELETE FROM findings WHERE substr(kind, 1, 5) = 'rule:' AND file_id IN "
            "(SELECT id FROM files WHERE present = 0)"
        )

    def replace_catalog_findings(
        self, prefix: str, findings: Sequence[tuple[str, str, str]], now: float
    ) -> None:
        """Make ``(kind, severity, message)`` the findings about no file in particular whose
        kind starts with ``prefix`` (``plugin:``). Done by delete-and-insert: UNIQUE treats
        NULL file ids as distinct, so an upsert would pile up copies."""
        self._db.execute(
            "DELETE FROM findings WHERE file_id IS NULL AND substr(kind, 1, ?) = ?",
            (len(prefix), prefix),
        )
        self._db.executemany(
            "INSERT INTO findings (file_id, kind, severity, message, created) "
            "VALUES (NULL, ?, ?, ?, ?)",
            [(kind, sev, msg, now) for kind, sev, msg in findings],
        )

    def finding_details(self, file_id: int) -> dict[str, str]:
        """kind -> detail (JSON text) of the file's findings that have one."""
        rows = self._db.execute(
            "SELECT kind, detail FROM findings WHERE file_id = ? AND detail IS NOT NULL",
            (file_id,),
        )
        return {r[0]: r[1] for r in rows}

    def add_mute(
        self,
        rule_id: str,
        reason: str,
        now: float,
        *,
        file_id: int | None = None,
        album: tuple[str, str] | None = None,
    ) -> None:
        """Silence ``rule_id`` for one file or one album (a repeat replaces the reason)."""
        with self.transaction():
            self.remove_mute(rule_id, file_id=file_id, album=album)
            artist, title = album or (None, None)
            self._db.execute(
                "INSERT INTO mutes (rule_id, file_id, albumartist, album, reason, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (rule_id, file_id, artist, title, reason, now),
            )

    def remove_mute(
        self, rule_id: str, *, file_id: int | None = None, album: tuple[str, str] | None = None
    ) -> int:
        """Lift a mute; returns how many were lifted (0 or 1)."""
        with self.transaction():
            if album is not None:
                cur = self._db.execute(
                    "DELETE FROM mutes WHERE rule_id = ? AND albumartist = ? AND album = ?",
                    (rule_id, *album),
                )
            else:
                cur = self._db.execute(
                    "DELETE FROM mutes WHERE rule_id = ? AND file_id = ?", (rule_id, file_id)
                )
        return cur.rowcount

    def mutes(self) -> list[Mute]:
        rows = self._db.execute(
            "SELECT m.rule_id, m.file_id, COALESCE(r.path_text || '/' || fi.path_text, ''), "
            "m.albumartist, m.album, m.reason, m.created FROM mutes m "
            "LEFT JOIN files fi ON fi.id = m.file_id LEFT JOIN roots r ON r.id = fi.root_id "
            "ORDER BY m.rule_id, m.created, m.id"
        ).fetchall()
        return [Mute(*r) for r in rows]

    # -- backup targets and their copies (phonovault.core.backups.targets drives these) ------------

    def add_target(self, root_id: int, path: str, marker_id: str, now: float) -> Target:
        raw = os.fsencode(path)
        with self.transaction():
            self._db.execute(
                "INSERT INTO targets (root_id, path, path_text, marker_id, added) "
                "VALUES (?, ?, ?, ?, ?)",
                (root_id, raw, display_path(raw), marker_id, now),
            )
        found = self.target_by_path(path)
        assert found is not None
        return found

    def targets(self) -> list[Target]:
        rows = self._db.execute("SELECT * FROM targets ORDER BY path_text").fetchall()
        return [self._target(r) for r in rows]

    def target_by_path(self, path: str | os.PathLike[str]) -> Target | None:
        row = self._db.execute(
            "SELECT * FROM targets WHERE path = ?", (os.fsencode(path),)
        ).fetchone()
        return self._target(row) if row else None

    def mark_target_verified(self, target_id: int, at: float) -> None:
        with self.transaction():
            self._db.execute("UPDATE targets SET last_verified = ? WHERE id = ?", (at, target_id))

    @staticmethod
    def _target(row: sqlite3.Row) -> Target:
        return Target(
            row["id"],
            row["root_id"],
            os.fsdecode(row["path"]),
            row["marker_id"],
            row["added"],
            row["last_verified"],
        )

    def copies(self, target_id: int) -> dict[bytes, CopyRecord]:
        """What the last verification of the target stored, keyed by path in the target."""
        rows = self._db.execute(
            "SELECT target_id, file_id, relpath, size, mtime_ns, inode, file_hash, audio_hash, "
            "hash_algo, state, verified_at, detail, audio_version FROM copies "
            "WHERE target_id = ?",
            (target_id,),
        )
        return {r[2]: CopyRecord(*r) for r in rows}

    def save_copies(self, copies: Sequence[CopyRecord]) -> None:
        """Store (or replace) copy rows; call inside a transaction."""
        self._db.executemany(
            "INSERT INTO copies (target_id, file_id, relpath, path_text, size, mtime_ns, inode, "
            "file_hash, audio_hash, hash_algo, state, verified_at, detail, audio_version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (target_id, relpath) DO UPDATE SET file_id = excluded.file_id, "
            "path_text = excluded.path_text, size = excluded.size, "
            "mtime_ns = excluded.mtime_ns, inode = excluded.inode, "
            "file_hash = excluded.file_hash, audio_hash = excluded.audio_hash, "
            "hash_algo = excluded.hash_algo, state = excluded.state, "
            "verified_at = excluded.verified_at, detail = excluded.detail, "
            "audio_version = excluded.audio_version",
            [
                (c.target_id, c.file_id, c.relpath, display_path(c.relpath), c.size, c.mtime_ns,
                 c.inode, c.file_hash, c.audio_hash, c.hash_algo, c.state, c.verified_at,
                 c.detail, c.audio_version)
                for c in copies
            ],
        )  # fmt: skip

    def forget_copies(self, target_id: int, relpaths: Iterable[bytes]) -> None:
        """Drop rows of paths a complete verification no longer found; call in a transaction."""
        self._db.executemany(
            "DELETE FROM copies WHERE target_id = ? AND relpath = ?",
            [(target_id, r) for r in relpaths],
        )

    def hashes_ever(self, root_id: int) -> dict[int, set[str]]:
        """Every file hash and audio hash each file of the root ever had (baseline and
        history): a backup copy equal to one of them is an old version, not damage."""
        rows = self._db.execute(
            "SELECT f.id, f.file_hash, f.audio_hash FROM files f WHERE f.root_id = ? "
            "UNION ALL SELECT h.file_id, h.file_hash, h.audio_hash FROM history h "
            "JOIN files f ON f.id = h.file_id WHERE f.root_id = ?",
            (root_id, root_id),
        )
        out: dict[int, set[str]] = {}
        for file_id, file_hash, audio_hash in rows:
            out.setdefault(file_id, set()).update(h for h in (file_hash, audio_hash) if h)
        return out

    def copy_states(self) -> list[CopyState]:
        """Every copy that belongs to a library file, for coverage."""
        rows = self._db.execute(
            "SELECT file_id, target_id, state, verified_at FROM copies WHERE file_id IS NOT NULL"
        )
        return [CopyState._make(r) for r in rows]

    def coverage_files(self) -> list[CoverageFile]:
        """Every present file with what coverage groups it by."""
        rows = self._db.execute(
            "SELECT f.id, r.path_text || '/' || f.path_text, f.albumartist, f.artist, f.album "
            "FROM files f JOIN roots r ON r.id = f.root_id WHERE f.present = 1 "
            "ORDER BY r.path_text, f.path_text"
        )
        return [CoverageFile._make(r) for r in rows]

    # -- the health report (phonovault.core.report.health drives these) ----------------------------
    # Aggregates only: a report of a 200k-file library must not pull every row into Python.

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """Reads that all see one state of the catalog (a WAL read transaction), so figures
        from several queries add up while another connection writes. Not for writes."""
        if self._db.in_transaction:  # already inside one: that is a snapshot too
            yield
            return
        self._db.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            self._db.execute("COMMIT")

    def root_totals(self) -> dict[int, tuple[int, int, int]]:
        """Root id -> (files, bytes, files no longer present)."""
        rows = self._db.execute(
            "SELECT root_id, COUNT(*), COALESCE(SUM(size), 0), SUM(present = 0) FROM files "
            "GROUP BY root_id"
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def worst_counts(self, attention_states: Sequence[str]) -> tuple[int, int, int]:
        """Files by the worst thing known about them: (nothing, a warning finding at most,
        an error finding or one of ``attention_states``)."""
        rows = self._db.execute(
            "SELECT CASE WHEN f.state IN "
            f"({','.join('?' * len(attention_states))}) THEN 2 ELSE COALESCE((SELECT "
            "MAX(CASE x.severity WHEN 'error' THEN 2 WHEN 'warning' THEN 1 ELSE 0 END) "
            "FROM findings x WHERE x.file_id = f.id), 0) END AS worst, COUNT(*) "
            "FROM files f GROUP BY worst",
            list(attention_states),
        )
        counts = dict(rows.fetchall())
        return counts.get(0, 0), counts.get(1, 0), counts.get(2, 0)

    def verified_ages(self, now: float, bounds: Sequence[float]) -> tuple[list[int], float | None]:
        """Present files by time since their last verification, ``bounds`` ascending (in
        seconds): counts ``[never, < bounds[0], < bounds[1], ..., older than the last]``,
        and the oldest verification time."""
        cases = " ".join(f"WHEN last_verified >= ? THEN {i + 1}" for i in range(len(bounds)))
        rows = self._db.execute(
            f"SELECT CASE WHEN last_verified IS NULL THEN 0 {cases} ELSE {len(bounds) + 1} "
            "END AS bucket, COUNT(*), MIN(last_verified) FROM files WHERE present = 1 "
            "GROUP BY bucket",
            [now - b for b in bounds],
        ).fetchall()
        counts = [0] * (len(bounds) + 2)
        for bucket, n, _oldest in rows:
            counts[bucket] = n
        oldest = min((r[2] for r in rows if r[2] is not None), default=None)
        return counts, oldest

    def finding_kind_counts(self) -> list[tuple[str, str, int]]:
        """``(kind, severity, count)`` of every kind of finding stored."""
        rows = self._db.execute(
            "SELECT kind, severity, COUNT(*) FROM findings GROUP BY kind, severity"
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def findings_sample(
        self, per_kind: int
    ) -> list[tuple[str, str, bytes | None, bytes | None, str]]:
        """``(kind, severity, root path, relpath, message)`` of at most ``per_kind`` findings
        of each kind and severity, by path. The paths are the stored bytes (None for a
        finding about no file), so names that are not UTF-8 stay exact."""
        rows = self._db.execute(
            "SELECT kind, severity, root_path, relpath, message FROM ("
            "SELECT f.kind, f.severity, r.path AS root_path, fi.relpath, f.message, "
            "ROW_NUMBER() OVER (PARTITION BY f.kind, f.severity "
            "ORDER BY r.path_text, fi.path_text, f.id) AS n "
            "FROM findings f LEFT JOIN files fi ON fi.id = f.file_id "
            "LEFT JOIN roots r ON r.id = fi.root_id) WHERE n <= ? ORDER BY kind, severity, n",
            (per_kind,),
        )
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def good_copy_counts(self, good_states: Sequence[str]) -> dict[int, int]:
        """Number of present files per number of their copies in ``good_states`` (the
        aggregate of :meth:`copy_states` that coverage computes file by file)."""
        rows = self._db.execute(
            "SELECT good, COUNT(*) FROM (SELECT f.id, COUNT(c.id) AS good FROM files f "
            "LEFT JOIN copies c ON c.file_id = f.id "
            f"AND c.state IN ({','.join('?' * len(good_states))}) "
            "WHERE f.present = 1 GROUP BY f.id) GROUP BY good ORDER BY good",
            list(good_states),
        )
        return {r[0]: r[1] for r in rows}

    def copy_state_counts(self) -> dict[int, dict[str, int]]:
        """Target id -> copy state -> copies, as the last verification of each stored them."""
        out: dict[int, dict[str, int]] = {}
        rows = self._db.execute(
            "SELECT target_id, state, COUNT(*) FROM copies GROUP BY target_id, state"
        )
        for target_id, state, n in rows:
            out.setdefault(target_id, {})[state] = n
        return out
