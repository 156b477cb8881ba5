"""The catalog: one SQLite database (WAL) holding roots, files, their history and findings,
rules and mutes, backup copies, decode verdicts and jobs. ``database`` is the
:class:`Catalog` and its queries; ``guard`` protects the file itself (refusing what is not a
catalog, rolling backups, restore). What callers need is exported here."""

from phonovault.core.catalog.database import (
    MIGRATIONS,
    SCHEMA_VERSION,
    AlbumRow,
    Batch,
    Catalog,
    CopyRecord,
    DecodeTarget,
    FileRecord,
    Finding,
    HistoryEntry,
    JobRow,
    JournalEntry,
    KnownFile,
    LibraryRow,
    Mute,
    Observation,
    Root,
    Target,
    display_path,
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
