"""Backup targets and the copies on them (:mod:`phonovault.core.backups.targets` drives
these): each copy row keeps the stat it was read with, so a re-verify re-reads only copies
that changed, and what coverage needs to tell which files have good copies."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence

from phonovault.core.catalog.connection import CatalogConnection
from phonovault.core.catalog.schema import display_path
from phonovault.core.records import CopyRecord, CopyState, CoverageFile, Target

__all__ = ["CopyQueries"]


class CopyQueries(CatalogConnection):
    """Backup targets, their copies, and coverage."""

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
