"""The catalog's guard: damage found on open, rolling backups, and restoring one.

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
  schema migration: a backup, through SQLite's backup API, to
  ``<catalog dir>/backups/<name>-YYYYMMDD-HHMMSS.sqlite`` (UTC), written to a temp file,
  fsynced, ``quick_check``-ed and renamed into place; the newest :data:`KEEP` are kept. A
  backup that passes its check also vouches for the catalog it was read from.

A damaged catalog raises :class:`CatalogDamaged`, which names the file, what is wrong, and
the newest backup that passes its own check, with the command that restores it. Nothing
here ever rewrites or "repairs" a damaged catalog: :func:`restore` moves it (with its
``-wal``/``-shm``) aside under a new name and puts a verified copy of the backup in its place.

This module runs PRAGMAs only (checks, the header, the schema version); every query of the
catalog's contents stays in :mod:`phonovault.core.catalog`.
"""

from __future__ import annotations

import calendar
import contextlib
import logging
import os
import re
import shlex
import sqlite3
import struct
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from phonovault.core.durable import fsync_dir, fsync_file, pid_alive
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

BACKUP_DIR = "backups"
KEEP = 5  # rolling backups kept per catalog
_BACKUP_LOCK = threading.Lock()
BACKUP_EVERY = 24 * 3600.0  # at most one backup on open per this many seconds
CHECK_EVERY = 24 * 3600.0  # a big, cleanly closed catalog is quick_check-ed this often
ALWAYS_CHECK_BELOW = 32 * 1024 * 1024  # smaller catalogs are checked on every open
MAGIC = b"SQLite format 3\x00"
_CORRUPT_CODES = {"SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_CORRUPT_INDEX", "SQLITE_CORRUPT_VTAB",
                  "SQLITE_CORRUPT_SEQUENCE", "SQLITE_IOERR_SHORT_READ"}  # fmt: skip
_STAMP_RE = r"(\d{8}-\d{6})(?:-(\d+))?"
_TEMP_RE = re.compile(r"^\.(?P<stem>.+)\.(?:backup|restore|create)-(?P<pid>\d+)-[0-9a-f]{32}\.tmp$")

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
class Backup:
    path: Path
    taken: float  # when it was made (seconds since the epoch), from its name
    size: int


@dataclass(frozen=True, slots=True)
class Opening:
    """What :func:`before_open` saw, for :func:`after_open`."""

    path: Path
    existed: bool  # a catalog with content was there (False: a new one is being made)
    unclean: bool  # the last run left its -wal file behind (killed, crashed, power cut)
    size: int
    key: tuple[int, int, int, int]  # st_dev, st_ino, st_size, st_mtime_ns
    changed: float  # the last write to the catalog or its -wal, before we connected


@dataclass(frozen=True, slots=True)
class Restored:
    catalog: Path
    backup: Path
    moved_aside: list[Path]  # the replaced catalog and its -wal/-shm, under their new names


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
    wal = _size(_sibling(path, "-wal"))
    if st.st_size == 0 and not wal:
        # A new catalog is never empty under its own name (create_catalog), so an empty file
        # is something else: a sync tool's truncation, a mistyped --catalog. Never filled.
        raise CatalogDamaged(path, "the file is empty (0 bytes)", newest_good_backup(path))
    problem = header_problem(path, st.st_size, wal_in_use=bool(wal))
    if problem:
        raise CatalogDamaged(path, problem, newest_good_backup(path))
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    changed = max(st.st_mtime, _mtime(_sibling(path, "-wal")))
    return Opening(path, True, bool(wal), st.st_size, key, changed)


def _refuse_orphaned_wal(path: Path) -> None:
    """A -wal whose catalog is gone would be replayed into a new catalog of that name."""
    wal = _sibling(path, "-wal")
    if _size(wal):
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
        _remove_stale_temps(path.parent)
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
        for leftover in (tmp, _sibling(tmp, "-wal"), _sibling(tmp, "-shm")):
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
    if getattr(exc, "sqlite_errorname", "") in _CORRUPT_CODES:
        return CatalogDamaged(path, str(exc), newest_good_backup(path))
    return CatalogError(f"cannot open the catalog {path}: {exc}")


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
        if getattr(exc, "sqlite_errorname", "") not in _CORRUPT_CODES:
            raise
        return str(exc)
    if rows == ["ok"]:
        return None
    lines = [ln for r in rows for ln in str(r).splitlines() if not ln.startswith("***")]
    return "; ".join(lines[:3]) or f"{pragma} found problems"


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
    except _BackupFailedCheck as exc:
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


# -- backups ----------------------------------------------------------------------------------


class _BackupFailedCheck(CatalogError):
    pass


def backups_dir(catalog_path: str | os.PathLike[str]) -> Path:
    return Path(os.path.abspath(catalog_path)).parent / BACKUP_DIR


def list_backups(catalog_path: str | os.PathLike[str]) -> list[Backup]:
    """The catalog's backups, newest first (temp files and other files are left out)."""
    folder = backups_dir(catalog_path)
    pattern = re.compile(rf"^{re.escape(Path(catalog_path).stem)}-{_STAMP_RE}\.sqlite$")
    found: list[tuple[float, int, Backup]] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        m = pattern.match(entry.name)
        if not m or not entry.is_file(follow_symlinks=False):
            continue
        taken = float(calendar.timegm(time.strptime(m.group(1), "%Y%m%d-%H%M%S")))
        try:
            size = entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
        found.append((taken, int(m.group(2) or 0), Backup(Path(entry.path), taken, size)))
    found.sort(key=lambda t: (t[0], t[1]), reverse=True)
    return [b for _, _, b in found]


def newest_good_backup(catalog_path: str | os.PathLike[str]) -> Backup | None:
    """The newest backup that is a SQLite database passing quick_check."""
    for backup in list_backups(catalog_path):
        if check_catalog(backup.path) is None:
            return backup
    return None


def back_up(
    catalog_path: str | os.PathLike[str],
    *,
    db: sqlite3.Connection | None = None,
    keep: int = KEEP,
    now: float | None = None,
) -> Backup:
    """Copy the catalog (through ``db``, or a connection of our own) into its backups
    folder: temp file, SQLite backup API, rollback journal mode (one self-contained file),
    quick_check, fsync, rename, fsync the folder; then keep only the newest ``keep``.
    Raises OSError / sqlite3.Error when it cannot be written, and a CatalogError when the
    copy fails its check (the copy is deleted: a bad backup never replaces a good one)."""
    path = Path(catalog_path)
    folder = backups_dir(path)
    folder.mkdir(exist_ok=True)
    _remove_stale_temps(folder)
    now = time.time() if now is None else now
    tmp = folder / f".{path.stem}.backup-{os.getpid()}-{uuid.uuid4().hex}.tmp"
    own = db is None
    src = sqlite3.connect(str(path)) if db is None else db
    try:
        dst = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")
            problem = quick_check(dst)
        finally:
            dst.close()
        if problem:
            raise _BackupFailedCheck(f"the copy failed quick_check: {problem}")
        with contextlib.suppress(OSError):
            os.chmod(tmp, os.stat(path).st_mode & 0o666)  # as private as the catalog
        fsync_file(tmp)
        final = _place(tmp, folder, path.stem, now)
        fsync_dir(folder)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        if own:
            src.close()
    made = Backup(final, float(int(now)), final.stat().st_size)
    for old in list_backups(path)[max(keep, 1) :]:
        if old.path != final:
            with contextlib.suppress(OSError):
                old.path.unlink()
    return made


def _place(tmp: Path, folder: Path, stem: str, now: float) -> Path:
    """Give the finished copy its name. A hard link never replaces an existing file, so two
    processes backing up in the same second both keep theirs (as name and name-2)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    for n in range(1, 1000):
        name = folder / (f"{stem}-{stamp}.sqlite" if n == 1 else f"{stem}-{stamp}-{n}.sqlite")
        try:
            os.link(tmp, name)
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links: the rename may then replace
            if name.exists():
                continue
            os.replace(tmp, name)
            return name
        os.unlink(tmp)
        return name
    raise OSError(f"no free backup name in {folder}")


def _remove_stale_temps(folder: Path) -> None:
    """Temp files of backups and restores whose process is gone (killed mid-copy)."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            m = _TEMP_RE.match(entry.name)
            if m and not pid_alive(int(m.group("pid"))):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


# -- checking and restoring (no Catalog needed: they work on a damaged one) -------------------


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
    problem = header_problem(path, size, wal_in_use=_size(_sibling(path, "-wal")) > 0)
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


def restore(
    catalog_path: str | os.PathLike[str],
    backup: str | os.PathLike[str],
    *,
    now: float | None = None,
) -> Restored:
    """Put a verified copy of ``backup`` where the catalog is. The catalog there (damaged or
    not) and its ``-wal``/``-shm`` are renamed aside, never deleted; the backup is left as
    it was. Close the app (and any other Phonovault) on this catalog first."""
    catalog = Path(catalog_path)
    source = resolve_backup(catalog, backup)
    problem = check_catalog(source)
    if problem:
        raise CatalogError(f"the backup {source} cannot be used: {problem}")
    tmp = catalog.parent / f".{catalog.stem}.restore-{os.getpid()}-{uuid.uuid4().hex}.tmp"
    try:
        _copy_bytes(source, tmp)
        problem = check_catalog(tmp)
        if problem:
            raise CatalogError(f"the copy of {source} failed its check: {problem}")
        moved = _move_aside(catalog, time.time() if now is None else now)
        os.replace(tmp, catalog)
        fsync_dir(catalog.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Restored(catalog, source, moved)


def resolve_backup(catalog: Path, backup: str | os.PathLike[str]) -> Path:
    """``backup`` as given, or the file of that name in the catalog's backups folder."""
    given = Path(backup)
    if given.exists() or given.is_absolute() or len(given.parts) > 1:
        if not given.is_file():
            raise CatalogError(f"no backup at {given} (see 'phonovault catalog backups')")
        return given
    inside = backups_dir(catalog) / given
    if not inside.is_file():
        raise CatalogError(f"no backup called {given} in {inside.parent} "
                           "(see 'phonovault catalog backups')")  # fmt: skip
    return inside


def _move_aside(catalog: Path, now: float) -> list[Path]:
    """Rename the catalog and its -wal/-shm to ``<stem>.before-restore-<UTC time><suffix>``
    (the -wal keeps pairing with its database under the new name)."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
    base = catalog.with_name(f"{catalog.stem}.before-restore-{stamp}{catalog.suffix}")
    n = 1
    while any(_sibling(base, s).exists() for s in ("", "-wal", "-shm")):
        n += 1
        base = catalog.with_name(f"{catalog.stem}.before-restore-{stamp}-{n}{catalog.suffix}")
    moved = []
    for suffix in ("", "-wal", "-shm"):
        src = _sibling(catalog, suffix)
        if src.exists():
            os.rename(src, _sibling(base, suffix))
            moved.append(_sibling(base, suffix))
    return moved


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


# -- small helpers ----------------------------------------------------------------------------


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _stamp_path(catalog: Path) -> Path:
    return backups_dir(catalog) / f".{catalog.stem}.checked"


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _mtime(path: Path) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def _copy_bytes(src: Path, dst: Path) -> None:
    with open(src, "rb") as fin, open(dst, "xb") as fout:
        while chunk := fin.read(1 << 20):
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
