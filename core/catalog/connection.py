"""The catalog's one connection and the transactions on it.

:class:`CatalogConnection` is the base every query family of this package derives from, and
:class:`~phonovault.core.catalog.database.Catalog` opens the connection it holds: so every
query, whichever module defines it, runs on the same connection and joins the same
transaction. One writer, WAL journal, small explicit transactions: a kill at any moment
leaves the last committed state, and a re-run picks up from there.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from phonovault.core.errors import CatalogError

__all__ = ["Batch", "CatalogConnection"]


class Batch:
    """Handle of :meth:`Catalog.batch`."""

    def __init__(self, catalog: CatalogConnection, seconds: float) -> None:
        self._catalog = catalog
        self._seconds = seconds
        self._since = time.monotonic()

    def tick(self) -> None:
        if time.monotonic() - self._since >= self._seconds:
            self._catalog._db.execute("COMMIT")
            self._catalog._begin()
            self._since = time.monotonic()


class CatalogConnection:
    """The connection and its transactions. ``Catalog.__init__`` sets the attributes; the
    query families (roots and files, history, jobs, ...) use ``_db`` and
    :meth:`transaction` and nothing else of it."""

    path: Path
    _db: sqlite3.Connection
    _depth: int  # transaction() blocks open: nested ones join the outermost

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
