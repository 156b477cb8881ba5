"""The catalog: one SQLite database (WAL) holding roots, files, their history and findings,
rules and mutes, backup copies, decode verdicts and jobs. What callers need is exported here.

The file itself: ``guard`` (refusing what is not a catalog, checks on open), ``snapshots``
(rolling backups, restore), ``checks`` (is a file a sound SQLite database). Its contents:
``schema`` (the version and its migrations), ``database`` (:class:`Catalog`: opening and
migrating), ``connection`` (the one connection and its transactions), and one module per
family of queries, each a base class of :class:`Catalog`: ``files`` (roots, files, library
and album rows), ``history`` (history, journal, findings), ``jobs``, ``rules`` (rule
findings, mutes), ``decode_checks``, ``copies`` (backup targets and copies) and
``aggregates`` (the figures of the status line and the health report).
"""

from phonovault.core.catalog.connection import Batch
from phonovault.core.catalog.database import Catalog
from phonovault.core.catalog.rules import Mute
from phonovault.core.catalog.schema import MIGRATIONS, SCHEMA_VERSION, display_path
from phonovault.core.records import (
    AlbumRow,
    CopyRecord,
    DecodeTarget,
    FileRecord,
    Finding,
    HistoryEntry,
    JobRow,
    JournalEntry,
    KnownFile,
    LibraryRow,
    Observation,
    Root,
    Target,
)

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "AlbumRow",
    "Batch",
    "Catalog",
    "CopyRecord",
    "DecodeTarget",
    "FileRecord",
    "Finding",
    "HistoryEntry",
    "JobRow",
    "JournalEntry",
    "KnownFile",
    "LibraryRow",
    "Mute",
    "Observation",
    "Root",
    "Target",
    "display_path",
]
