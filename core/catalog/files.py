"""Roots and files: the library's folders, each file's record (read, selected, written), and
the library's and albums' table rows.

Reads that 100k-file loops run (:meth:`FileQueries.known_files`) are narrow on purpose; the
writes of a scan or verify are grouped by the caller in ``transaction()`` or ``batch()``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import fields
from typing import Any

from phonovault.core.catalog.connection import CatalogConnection
from phonovault.core.catalog.schema import display_path
from phonovault.core.errors import NotInCatalogError
from phonovault.core.records import (
    AlbumRow,
    FileRecord,
    KnownFile,
    LibraryRow,
    Observation,
    Root,
)

__all__ = ["FileQueries"]

_FILE_COLUMNS = tuple(f.name for f in fields(FileRecord))
_SELECT_FILES = f"SELECT {', '.join(_FILE_COLUMNS)} FROM files"
_TRACK_COLUMNS = (
    "format", "codec", "duration", "sample_rate", "bit_depth", "channels", "bitrate",
    "title", "artist", "album", "albumartist", "track", "tracktotal", "disc", "disctotal",
    "date", "genre", "mb_trackid", "mb_albumid", "mb_artistid", "mb_albumartistid",
    "mb_releasegroupid", "rg_track_gain", "rg_track_peak", "rg_album_gain", "rg_album_peak",
)  # fmt: skip
# What scanning and verifying compare (KnownFile), with the last-seen stat defaulting to the
# baseline's (rows from before schema 2 have none).
_SELECT_KNOWN = (
    "SELECT id, root_id, relpath, size, mtime_ns, inode, COALESCE(seen_size, size), "
    "COALESCE(seen_mtime_ns, mtime_ns), COALESCE(seen_inode, inode), present, "
    "file_hash, audio_hash, hash_algo, audio_method, first_seen, last_read, "
    "last_verified, state, audio_version, setup_hash, seen_ctime_ns, "
    "sha256 IS NOT NULL FROM files"
)


def _observation_columns(obs: Observation) -> dict[str, Any]:
    """The ``files`` columns an observation sets: its stat as the baseline and as last seen,
    and its tags and hashes when it was read that far."""
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


# An MP4 file is named by its codec, as players name it: AAC and ALAC are both "MP4".
_SHOWN_FORMAT = (
    "CASE WHEN f.format = 'MP4' THEN CASE f.codec WHEN 'aac' THEN 'AAC' WHEN 'alac' THEN 'ALAC' "
    "WHEN 'flac' THEN 'FLAC in MP4' WHEN 'opus' THEN 'Opus in MP4' WHEN 'mp3' THEN 'MP3 in MP4' "
    "WHEN 'ac3' THEN 'AC-3 in MP4' WHEN 'eac3' THEN 'E-AC-3 in MP4' ELSE 'MP4' END "
    "ELSE f.format END"
)


class FileQueries(CatalogConnection):
    """Roots, files and the library's rows."""

    # -- roots --------------------------------------------------------------------------------

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

    # -- files: reading -----------------------------------------------------------------------

    def known_files(self, root_id: int) -> dict[bytes, KnownFile]:
        """Every file of a root with what scanning and verifying compare, keyed by path.

        Narrow on purpose: verifying 100k files must not pull every tag into memory.
        """
        rows = self._db.execute(
            _SELECT_KNOWN + " WHERE root_id = ?",
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
            _SELECT_KNOWN + f" WHERE id IN ({','.join('?' * len(ids))})",
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

    # -- the library and its albums as table rows ---------------------------------------------

    def library_rows(self) -> list[LibraryRow]:
        """Every file as a table row, with its full display path; ``format`` says the codec
        where the container does not (AAC or ALAC rather than MP4)."""
        cur = self._db.cursor()
        cur.row_factory = None  # plain tuples: a quarter faster at 200k rows than sqlite3.Row
        cur.execute(
            "SELECT f.id, r.path_text || '/' || f.path_text, f.title, f.artist, f.album, "
            f"f.albumartist, f.track, f.disc, {_SHOWN_FORMAT}, f.duration, f.bit_depth, "
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

    # -- selections (the rules engine, manifests and checks) ----------------------------------

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

    # -- writing (callers group these in transaction()) ---------------------------------------

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

    def set_seen_inodes(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Record ``(file id, inode)`` for files of a renumbered (remounted) root whose
        bytes are unchanged: the baseline's inode moves with them."""
        self._db.executemany(
            "UPDATE files SET inode = ?, seen_inode = ? WHERE id = ?",
            [(inode, inode, file_id) for file_id, inode in pairs],
        )
