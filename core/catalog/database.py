"""The :class:`Catalog`: opening the SQLite catalog, migrating it, and the query families it
is made of.

Opening goes through :mod:`phonovault.core.catalog.guard` (a damaged file or one that is not
a catalog is refused before anything writes to it), then the schema is brought up to
:data:`~phonovault.core.catalog.schema.SCHEMA_VERSION`. The connection and its transactions
are :class:`~phonovault.core.catalog.connection.CatalogConnection`'s; every query lives in
the module of its family, each a base class of :class:`Catalog`, so callers keep one object
(``catalog.files()``, ``catalog.add_mute(...)``) and one transaction across families.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from phonovault.core.catalog import guard as catalog_guard  # damage on open, backups
from phonovault.core.catalog.aggregates import AggregateQueries
from phonovault.core.catalog.copies import CopyQueries
from phonovault.core.catalog.decode_checks import DecodeQueries
from phonovault.core.catalog.files import FileQueries
from phonovault.core.catalog.history import HistoryQueries
from phonovault.core.catalog.jobs import JobQueries
from phonovault.core.catalog.rules import RuleQueries
from phonovault.core.catalog.schema import MIGRATIONS, SCHEMA_VERSION
from phonovault.core.errors import SchemaTooNewError

__all__ = ["Catalog"]


class Catalog(
    FileQueries,
    HistoryQueries,
    JobQueries,
    RuleQueries,
    DecodeQueries,
    CopyQueries,
    AggregateQueries,
):
    """An open catalog. Use as a context manager, or call :meth:`close`.

    Its queries come from one base class per family (roots and files, history and findings,
    jobs, tag rules and mutes, decode checks, backup copies, report aggregates), all on the
    one connection of :class:`~phonovault.core.catalog.connection.CatalogConnection`."""

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
