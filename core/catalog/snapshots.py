"""Rolling backups of the catalog, and restoring one.

A backup goes through SQLite's backup API to
``<catalog dir>/backups/<name>-YYYYMMDD-HHMMSS.sqlite`` (UTC): written to a temp file,
``quick_check``-ed, fsynced and renamed into place; the newest :data:`KEEP` are kept, and a
copy that fails its check is deleted, so a bad backup never replaces a good one.
:func:`restore` deletes nothing either: the catalog it replaces (damaged or not) is moved
aside with its ``-wal``/``-shm``, and a verified copy of the backup takes its place. When a
backup is taken on open is :mod:`~phonovault.core.catalog.guard`'s decision.
No function here needs a working catalog: they work on a damaged one.
"""

from __future__ import annotations

import calendar
import contextlib
import os
import re
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from phonovault.core.catalog.checks import check_catalog, quick_check, sibling
from phonovault.core.durable import fsync_dir, fsync_file, pid_alive
from phonovault.core.errors import CatalogError

__all__ = [
    "BACKUP_DIR",
    "KEEP",
    "Backup",
    "BackupFailedCheck",
    "Restored",
    "back_up",
    "backups_dir",
    "list_backups",
    "newest_good_backup",
    "remove_stale_temps",
    "resolve_backup",
    "restore",
    "set_aside",
]

BACKUP_DIR = "backups"
KEEP = 5  # rolling backups kept per catalog
_STAMP_RE = r"(\d{8}-\d{6})(?:-(\d+))?"
_TEMP_RE = re.compile(r"^\.(?P<stem>.+)\.(?:backup|restore|create)-(?P<pid>\d+)-[0-9a-f]{32}\.tmp$")


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    taken: float  # when it was made (seconds since the epoch), from its name
    size: int


@dataclass(frozen=True, slots=True)
class Restored:
    catalog: Path
    backup: Path
    moved_aside: list[Path]  # the replaced catalog and its -wal/-shm, under their new names


# -- backups ----------------------------------------------------------------------------------


class BackupFailedCheck(CatalogError):
    """The copy just made failed its quick_check; it was deleted."""


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
    remove_stale_temps(folder)
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
            raise BackupFailedCheck(f"the copy failed quick_check: {problem}")
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


def remove_stale_temps(folder: Path) -> None:
    """Temp files of backups and restores whose process is gone (killed mid-copy)."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            m = _TEMP_RE.match(entry.name)
            if m and not pid_alive(int(m.group("pid"))):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


# -- restoring --------------------------------------------------------------------------------


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


def set_aside(
    catalog_path: str | os.PathLike[str], *, label: str = "damaged", now: float | None = None
) -> list[Path]:
    """Rename a catalog and its ``-wal``/``-shm`` to ``<stem>.<label>-<UTC time><suffix>``,
    never deleting anything, so that a new catalog can start at its path (a damaged one the
    user chose to leave). Returns the new names."""
    catalog = Path(catalog_path)
    moved = _move_aside(catalog, time.time() if now is None else now, label)
    if moved:
        fsync_dir(catalog.parent)
    return moved


def _move_aside(catalog: Path, now: float, label: str = "before-restore") -> list[Path]:
    """Rename the catalog and its -wal/-shm to ``<stem>.<label>-<UTC time><suffix>`` (the
    -wal keeps pairing with its database under the new name)."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
    base = catalog.with_name(f"{catalog.stem}.{label}-{stamp}{catalog.suffix}")
    n = 1
    while any(sibling(base, s).exists() for s in ("", "-wal", "-shm")):
        n += 1
        base = catalog.with_name(f"{catalog.stem}.{label}-{stamp}-{n}{catalog.suffix}")
    moved = []
    for suffix in ("", "-wal", "-shm"):
        src = sibling(catalog, suffix)
        if src.exists():
            os.rename(src, sibling(base, suffix))
            moved.append(sibling(base, suffix))
    return moved


def _copy_bytes(src: Path, dst: Path) -> None:
    with open(src, "rb") as fin, open(dst, "xb") as fout:
        while chunk := fin.read(1 << 20):
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
