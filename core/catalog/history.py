"""What happened and what needs attention: each file's history of states, the journal of
what Phonovault did, and findings (a fixity state or a rule's verdict about a file).

The writes (by scans, verifies and decode checks) join the caller's ``transaction()`` or
``batch()``.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from typing import Any

from phonovault.core.catalog.connection import CatalogConnection
from phonovault.core.identity.digests import Digests
from phonovault.core.records import Finding, HistoryEntry, JournalEntry

__all__ = ["SEVERITY", "HistoryQueries"]

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


class HistoryQueries(CatalogConnection):
    """A file's history, the journal, and findings."""

    def history(self, file_id: int) -> list[HistoryEntry]:
        rows = self._db.execute(
            "SELECT at, state, file_hash, audio_hash, size, mtime_ns, detail FROM history "
            "WHERE file_id = ? ORDER BY at, id",
            (file_id,),
        ).fetchall()
        return [HistoryEntry(*r) for r in rows]

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

    def finding_details(self, file_id: int) -> dict[str, str]:
        """kind -> detail (JSON text) of the file's findings that have one."""
        rows = self._db.execute(
            "SELECT kind, detail FROM findings WHERE file_id = ? AND detail IS NOT NULL",
            (file_id,),
        )
        return {r[0]: r[1] for r in rows}

    # -- writing (callers group these in transaction()) ---------------------------------------

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
