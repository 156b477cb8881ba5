"""The catalog's guard: what is checked, refused and backed up when a catalog is opened.

The catalog is years of checksums and verify history; SQLite in WAL mode survives kills, but
not a disk that rots pages, a sync tool that truncates the file, or something else written
over it. So, on every open (:func:`before_open`, :func:`after_open`, called by
``Catalog.__init__``):

- a cheap look at the file before SQLite touches it: is it a SQLite database at all (not
  empty, the right header), and is it as long as its header says? A file that fails is
  refused even by a command that may create a catalog (``roots add``): only a path holding
  nothing becomes a new catalog, made under a temp name and linked into place, so a
  catalog's name never holds an empty file of ours.
- ``PRAGMA quick_check`` — but not on every open of a big catalog: it reads every page
  (148 ms warm, 650 ms cold, for 200,000 files / 154 MB, on the 2-core build machine). It
  runs when the catalog is small (under 32 MB, about 40,000 files: at most ~30 ms), when the
  previous run did not close it cleanly (its ``-wal`` file was left behind, not empty), and
  otherwise once a day. A process checks a catalog at most once a day however often it opens
  it (the GUI opens one connection per job).
- at most once a day, when the catalog changed since its newest backup, and always before a
  schema migration: a backup (:func:`~phonovault.core.catalog.snapshots.back_up`, the
  newest :data:`KEEP` are kept). A backup that passes its check also vouches for the catalog
  it was read from.

A damaged catalog raises :class:`CatalogDamaged`, which names the file, what is wrong, and
the newest backup that passes its own check, with the command that restores it. Nothing
here ever rewrites or "repairs" a damaged catalog.

The checks themselves are :mod:`~phonovault.core.catalog.checks`, the backups and restoring
:mod:`~phonovault.core.catalog.snapshots`; what the command line needs of the catalog file
(``back_up``, ``list_backups``, ``check_catalog``, ``restore``, ...) is exported here too.
This module runs PRAGMAs only (checks, the schema version); every query of the catalog's
contents stays in the query modules of :mod:`phonovault.core.catalog`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from phonovault.core.catalog.checks import (
    CORRUPT_CODES,
    check_catalog,
    file_size,
    header_problem,
    quick_check,
    sibling,
)
from phonovault.core.catalog.snapshots import (
    BACKUP_DIR,
    KEEP,
    Backup,
    BackupFailedCheck,
    Restored,
    back_up,
    backups_dir,
    list_backups,
    newest_good_backup,
    remove_stale_temps,
    restore,
)
from phonovault.core.durable import fsync_dir, fsync_file
from phonovault.core.errors import CatalogError, CatalogMissingError

__all__ = [
    "BACKUP_DIR",
    "KEEP",
    "Backup",
    "CatalogDamaged",
    "Opening",
    "Restored",
    "advice",
    "after_open",
    "back_up",
    "backups_dir",
    "before_open",
    "check_catalog",
    "create_catalog",
    "list_backups",
    "newest_good_backup",
    "open_error",
    "restore",
]

log = logging.getLogger("phonovault")

_BACKUP_LOCK = threading.Lock()
BACKUP_EVERY = 24 * 3600.0  # at most one backup on open per this many seconds
CHECK_EVERY = 24 * 3600.0  # a big, cleanly closed catalog is quick_check-ed this often
ALWAYS_CHECK_BELOW = 32 * 1024 * 1024  # smaller catalogs are checked on every open

# Catalog files this process has checked, and when, by (st_dev, st_ino, st_size,
# st_mtime_ns): the GUI opens a connection per job, and its own open connection keeps a -wal
# file that would otherwise read as "not closed cleanly" on every one of them. Any write to
# the file (a checkpoint, or something else writing over it) makes it a new key.
_checked_here: dict[tuple[int, int, int, int], float] = {}
_checked_lock = threading.Lock()


class CatalogDamaged(CatalogError):
    """The catalog file is damaged or is not a catalog; it was not written to."""

    def __init__(self, path: Path, problem: str, backup: Backup | None) -> None:
        self.path = path
        self.problem = problem
        self.backup = backup
        super().__init__(_damaged_message(path, problem, backup))


@dataclass(frozen=True, slots=True)
class Opening:
    """What :func:`before_open` saw, for :func:`after_open`."""

    path: Path
    existed: bool  # a catalog with content was there (False: a new one is being made)
    unclean: bool  # the last run left its -wal file behind (killed, crashed, power cut)
    size: int
    key: tuple[int, int, int, int]  # st_dev, st_ino, st_size, st_mtime_ns
    changed: float  # the last write to the catalog or its -wal, before we connected


# -- on open ----------------------------------------------------------------------------------


def before_open(path: Path, *, create: bool) -> Opening | None:
    """Look at the catalog file before SQLite opens it. A file that is there must be a
    SQLite database as long as its header says: an empty file, or one that is not SQLite,
    raises :class:`CatalogDamaged` whatever ``create`` says, and is never written to. Only a
    path holding nothing becomes a new catalog, and only with ``create`` (else
    :class:`CatalogMissingError`); :func:`create_catalog` makes it, and None is returned
    (also for ``:memory:``): a new catalog needs no check and no backup."""
    if str(path) == ":memory:":
        return None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        _refuse_orphaned_wal(path)
        if not create:
            raise CatalogMissingError(
                f"no catalog at {path}; start one with 'phonovault roots add FOLDER'"
            ) from None
        if create_catalog(path):
            return None
        return before_open(path, create=False)  # another process made it just now
    except OSError as exc:
        raise CatalogError(f"cannot open the catalog {path}: {exc.strerror or exc}") from exc
    wal = file_size(sibling(path, "-wal"))
    if st.st_size == 0 and not wal:
        # A new catalog is never empty under its own name (create_catalog), so an empty file
        # is something else: a sync tool's truncation, a mistyped --catalog. Never filled.
        raise CatalogDamaged(path, "the file is empty (0 bytes)", newest_good_backup(path))
    problem = header_problem(path, st.st_size, wal_in_use=bool(wal))
    if problem:
        raise CatalogDamaged(path, problem, newest_good_backup(path))
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    changed = max(st.st_mtime, _mtime(sibling(path, "-wal")))
    return Opening(path, True, bool(wal), st.st_size, key, changed)


def _refuse_orphaned_wal(path: Path) -> None:
    """A -wal whose catalog is gone would be replayed into a new catalog of that name."""
    wal = sibling(path, "-wal")
    if file_size(wal):
        raise CatalogDamaged(
            path, f"the file is gone but its write-ahead log {wal.name} is still there",
            newest_good_backup(path),
        )  # fmt: skip


def create_catalog(path: Path) -> bool:
    """Make an empty SQLite database in WAL mode at ``path``, which holds nothing: built
    under a temp name beside it and hard-linked into place, so the catalog's name never
    holds an empty or half-made file, even after a kill (a temp file is left, removed by
    the next creation). False when something appeared at ``path`` meanwhile (it is left
    alone). The caller's migrations then give it its tables."""
    tmp = path.parent / f".{path.stem}.create-{os.getpid()}-{uuid.uuid4().hex}.tmp"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(path.parent)
        db = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode = WAL")  # writes the header: a valid database
        finally:
            db.close()
        fsync_file(tmp)
        try:
            os.link(tmp, path)  # never replaces what is there
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links
            if os.path.lexists(path):
                return False
            os.replace(tmp, path)
        fsync_dir(path.parent)
        return True
    except (OSError, sqlite3.Error) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise CatalogError(f"cannot create the catalog {path}: {why}") from exc
    finally:
        for leftover in (tmp, sibling(tmp, "-wal"), sibling(tmp, "-shm")):
            with contextlib.suppress(OSError):
                os.unlink(leftover)


def after_open(db: sqlite3.Connection, opening: Opening | None, *, schema: int) -> None:
    """Check (when due) and back up (when due) a catalog just connected to, before any
    migration runs. On damage, closes ``db`` and raises :class:`CatalogDamaged`: a
    connection left to the garbage collector would later remove the ``-wal`` file by name,
    which after a restore belongs to the restored catalog."""
    if opening is None or not opening.existed:
        return
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        db.close()
        raise open_error(opening.path, exc) from exc
    now = time.time()
    checked = False
    if version and _backup_due(opening, version, schema, now):
        # The GUI opens a connection per job and per background read, often at once: one
        # of them takes the backup, the others find it taken.
        with _BACKUP_LOCK:
            if _backup_due(opening, version, schema, now):
                checked = _backup_on_open(db, opening, now)
    if not checked and _check_due(opening, now):
        problem = quick_check(db)
        if problem:
            db.close()
            raise CatalogDamaged(opening.path, problem, newest_good_backup(opening.path))
        _mark_checked(opening, now)


def open_error(
    path: Path, exc: sqlite3.DatabaseError, db: sqlite3.Connection | None = None
) -> CatalogError:
    """The error to raise when SQLite itself failed to open or migrate the catalog: damage
    (SQLITE_CORRUPT, SQLITE_NOTADB) names the newest good backup; a lock or a full disk
    does not."""
    if db is not None:
        with contextlib.suppress(sqlite3.Error):
            db.close()
    if getattr(exc, "sqlite_errorname", "") in CORRUPT_CODES:
        return CatalogDamaged(path, str(exc), newest_good_backup(path))
    return CatalogError(f"cannot open the catalog {path}: {exc}")


def _check_due(opening: Opening, now: float) -> bool:
    with _checked_lock:
        last_here = _checked_here.get(opening.key)
    if last_here is not None and now - last_here < CHECK_EVERY:
        return False
    if opening.size < ALWAYS_CHECK_BELOW or opening.unclean:
        return True
    stamp = _stamp_path(opening.path)
    try:
        return now - stamp.stat().st_mtime >= CHECK_EVERY
    except OSError:
        return True


def _mark_checked(opening: Opening, now: float) -> None:
    with _checked_lock:
        _checked_here[opening.key] = now
    stamp = _stamp_path(opening.path)
    try:
        stamp.parent.mkdir(exist_ok=True)
        stamp.touch()
        os.utime(stamp, (now, now))
    except OSError:
        pass  # only costs an earlier check next time


def _backup_due(opening: Opening, version: int, schema: int, now: float) -> bool:
    if version < schema:
        return True  # a migration is about to rewrite it: keep what it was
    backups = list_backups(opening.path)
    if not backups:
        return True
    newest = backups[0].taken
    return now - newest >= BACKUP_EVERY and opening.changed > newest


def _backup_on_open(db: sqlite3.Connection, opening: Opening, now: float) -> bool:
    """Back up now; True when the backup passed its check (which vouches for the catalog).
    A backup that cannot be written is logged, never fatal: the user's command goes on."""
    try:
        back_up(opening.path, db=db, now=now)
    except BackupFailedCheck as exc:
        problem = quick_check(db)
        if problem:
            db.close()
            raise CatalogDamaged(opening.path, problem, newest_good_backup(opening.path)) from exc
        log.warning("a new backup of the catalog %s failed its check and was deleted "
                    "(%s); the catalog itself is sound", opening.path, exc)  # fmt: skip
        return True
    except (OSError, sqlite3.Error) as exc:
        log.warning("could not back up the catalog %s: %s", opening.path, exc)
        return False
    _mark_checked(opening, now)
    return True


# -- the message --------------------------------------------------------------------------


def _damaged_message(path: Path, problem: str, backup: Backup | None) -> str:
    path = Path(os.path.abspath(path))
    return (
        f"cannot open the catalog {path}: it is damaged ({problem}). Phonovault will not "
        f"write to it or try to mend it. {advice(path, backup)}"
    )


def advice(path: Path, backup: Backup | None) -> str:
    """What to do about a damaged catalog: the exact restore command, or what else to do."""
    path = Path(os.path.abspath(path))
    if backup is None:
        return (
            f"There is no good backup of it in {backups_dir(path)}. Move the file aside and "
            "start a new catalog with 'phonovault roots add FOLDER' (your music is not "
            "affected; a new scan rebuilds the checksums, but the verify history stays in the "
            "damaged file)."
        )
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(backup.taken))
    return (
        f"The newest good backup is {backup.path} (from {when}); restore it with: "
        f"phonovault catalog restore {shlex.quote(str(backup.path))} --catalog "
        f"{shlex.quote(str(path))} (the damaged file is moved aside, not deleted)."
    )


def _stamp_path(catalog: Path) -> Path:
    return backups_dir(catalog) / f".{catalog.stem}.checked"


def _mtime(path: Path) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0
