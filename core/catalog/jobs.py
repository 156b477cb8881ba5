"""Jobs: the runs of scans, verifies and other long work, so that a killed run is resumed
and the activity view can list what ran and how it ended."""

from __future__ import annotations

import json

from phonovault.core.catalog.connection import CatalogConnection
from phonovault.core.records import JobRow

__all__ = ["JobQueries"]


class JobQueries(CatalogConnection):
    """Starting, finishing and finding runs."""

    def jobs(self, limit: int = 200) -> list[JobRow]:
        rows = self._db.execute(
            "SELECT id, kind, started, finished, outcome FROM jobs ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [JobRow._make(r) for r in rows]

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

    def last_job_finished(self, kind: str) -> float | None:
        """When the newest run of this kind that completed finished; None if none did."""
        row = self._db.execute(
            "SELECT max(finished) FROM jobs WHERE kind = ? AND outcome = 'done'", (kind,)
        ).fetchone()
        return None if row[0] is None else float(row[0])
