"""Counts and sums over the whole catalog: the window's status line, the command line's
summaries and the health report (:mod:`phonovault.core.report.health`).

Aggregates only: a report of a 200k-file library must not pull every row into Python. Run
several of them in ``read_snapshot()`` for figures that add up.
"""

from __future__ import annotations

from collections.abc import Sequence

from phonovault.core.catalog.connection import CatalogConnection

__all__ = ["AggregateQueries"]


class AggregateQueries(CatalogConnection):
    """Figures over files, findings and copies."""

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
