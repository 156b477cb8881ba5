"""Whether a file is a sound SQLite database: its header and length, then SQLite's own
``quick_check`` (or ``integrity_check``).

No policy here: :mod:`~phonovault.core.catalog.guard` decides when a catalog is checked on
open and what is refused, :mod:`~phonovault.core.catalog.snapshots` checks every backup it
writes or restores, and ``phonovault catalog check`` runs :func:`check_catalog` on a catalog
that may be too damaged to open. PRAGMAs only; nothing here writes.
"""

from __future__ import annotations

import os
import sqlite3
import struct
from pathlib import Path
from urllib.parse import quote

__all__ = [
    "CORRUPT_CODES",
    "MAGIC",
    "check_catalog",
    "file_size",
    "header_problem",
    "quick_check",
    "sibling",
]

MAGIC = b"SQLite format 3\x00"
CORRUPT_CODES = {"SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_CORRUPT_INDEX", "SQLITE_CORRUPT_VTAB",
                 "SQLITE_CORRUPT_SEQUENCE", "SQLITE_IOERR_SHORT_READ"}  # fmt: skip


def header_problem(path: Path, size: int, *, wal_in_use: bool = False) -> str | None:
    """What is wrong with the file's first 100 bytes (or its length), or None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    if not head.startswith(MAGIC):
        return f"it is not a SQLite database: it starts with {head[:16]!r}"
    if len(head) < 100:
        return f"it is truncated ({size} bytes, less than a SQLite header)"
    page_size = struct.unpack(">H", head[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        return f"its header is damaged (page size {page_size})"
    if wal_in_use:
        return None  # a checkpoint cut short is finished from the -wal: lengths may differ
    pages, counter, valid_for = struct.unpack(">I", head[28:32]), head[24:28], head[92:96]
    if size % page_size:
        return f"it is truncated ({size} bytes is not a whole number of {page_size}-byte pages)"
    if counter == valid_for and size < pages[0] * page_size:
        return f"it is truncated ({size:,} bytes; its header says {pages[0] * page_size:,})"
    return None


def quick_check(db: sqlite3.Connection, *, full: bool = False) -> str | None:
    """None when SQLite's quick_check (or, with ``full``, integrity_check) passes; else its
    first findings. Other trouble (a lock, a full disk) is not damage: it is raised."""
    pragma = "integrity_check" if full else "quick_check"
    try:
        rows = [r[0] for r in db.execute(f"PRAGMA {pragma}(5)").fetchall()]
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorname", "") not in CORRUPT_CODES:
            raise
        return str(exc)
    if rows == ["ok"]:
        return None
    lines = [ln for r in rows for ln in str(r).splitlines() if not ln.startswith("***")]
    return "; ".join(lines[:3]) or f"{pragma} found problems"


def check_catalog(path: str | os.PathLike[str], *, full: bool = False) -> str | None:
    """What is wrong with the catalog file at ``path``, or None. Opens it read-only (SQLite
    may create empty ``-wal``/``-shm`` files beside a WAL catalog)."""
    path = Path(path)
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        return f"it cannot be opened ({exc.strerror or exc})"
    if size == 0:
        return "the file is empty (0 bytes)"
    problem = header_problem(path, size, wal_in_use=file_size(sibling(path, "-wal")) > 0)
    if problem:
        return problem
    try:
        db = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True)
        try:
            return quick_check(db, full=full)
        finally:
            db.close()
    except sqlite3.Error as exc:
        return f"it could not be checked ({exc})"


def sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def file_size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
