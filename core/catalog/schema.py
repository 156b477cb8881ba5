"""The catalog's schema: its version, the migrations that build it, and how a stored path is
shown.

Every table and column is made here, one migration per schema version; the query modules of
this package only read and write them, and :meth:`Catalog._migrate
<phonovault.core.catalog.database.Catalog._migrate>` runs each step with its version bump in
one transaction. Paths are stored as the bytes the file system gave us (so names that are not
valid UTF-8 round-trip exactly), each beside a ``path_text`` column made by
:func:`display_path` for sorting and showing.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "display_path"]

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


def display_path(raw: bytes) -> str:
    """A printable form of a file-system path (undecodable bytes shown as U+FFFD)."""
    return raw.decode("utf-8", "replace")
