"""Decode checks (:mod:`phonovault.core.integrity`): which files to decode, and the verdicts
cached per audio payload and cover, so an unchanged file, a tag edit or an identical copy
elsewhere is not decoded twice."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from phonovault.core.catalog.connection import CatalogConnection
from phonovault.core.records import DecodeTarget

__all__ = ["DecodeQueries"]

_DECODE_TARGET = (
    "SELECT id, root_id, relpath, size, duration, audio_hash, art_hash, state, "
    "audio_version FROM files WHERE present = 1"
)


class DecodeQueries(CatalogConnection):
    """Decode targets and cached verdicts."""

    def decode_targets_verified_since(
        self, root_ids: Sequence[int], since: float
    ) -> list[DecodeTarget]:
        """Present files of these roots fully read at or after ``since`` (one verify run)."""
        if not root_ids:
            return []
        marks = ",".join("?" * len(root_ids))
        rows = self._db.execute(
            f"{_DECODE_TARGET} AND root_id IN ({marks}) AND last_verified >= ? "
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
            rows = self._db.execute(f"{_DECODE_TARGET} AND id IN ({marks})", chunk)
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
