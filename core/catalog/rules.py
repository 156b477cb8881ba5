"""What the tag rules engine (:mod:`phonovault.core.rules.engine`) stores: the rules'
findings, about files or about no file in particular, and the user's mutes that silence a
rule for one file or one album."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from phonovault.core.catalog.connection import CatalogConnection

__all__ = ["Mute", "RuleQueries"]


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


class RuleQueries(CatalogConnection):
    """Rule findings and mutes."""

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
