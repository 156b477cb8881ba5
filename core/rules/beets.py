"""Drift between a user's beets library and the files: read-only, always.

Three questions, the ones a beets user asks before running ``beet write`` or ``beet update``:
which items point at files that are gone, which files under Phonovault's roots beets does not
know, and which tag fields differ between the beets DB and the file (read with ``mediafile``,
beets' own reader, so "differs" means "``beet write``/``beet update`` would change it").

How the DB is opened, and why. ``beets.library.Library()`` is not a reader: opening a DB
creates tables and columns, runs data migrations, writes ``.bak`` copies beside the DB and
prints to stdout. The user's file is therefore never given to beets. We open it with sqlite3
as a ``mode=ro`` URI (SQLite itself refuses any write through that connection) and copy it
with SQLite's backup API into a private temporary folder: unlike copying the file, the backup
is a consistent snapshot even while beets is writing, and it includes a WAL's content. beets
then opens the *copy*, so migrations, ``.bak`` files and prints land in (or are captured for)
that folder, which is deleted afterwards. We still let beets read the copy, rather than reading
``items`` rows ourselves, because only beets knows its schema across versions: paths stored
absolute (older beets) or relative to the music folder (2.x), ``genre`` becoming ``genres``,
and its field types.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import logging
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from phonovault.core.catalog import Catalog
from phonovault.core.errors import PhonovaultError
from phonovault.core.jobs import CancelToken, ProgressCallback, ProgressMeter
from phonovault.core.library.roots import offline_reason

__all__ = ["FIELDS", "BeetsDbError", "DriftReport", "FieldDrift", "GoneItem", "drift"]

log = logging.getLogger(__name__)

# The fields compared, in report order. "genre" is compared as beets' ``genres`` list when
# the installed beets has that field (2.x), else as the single ``genre`` string.
FIELDS = (
    "title", "artist", "album", "albumartist", "track", "tracktotal", "disc", "disctotal",
    "year", "genre", "mb_trackid", "mb_albumid",
)  # fmt: skip
_INT_FIELDS = frozenset({"track", "tracktotal", "disc", "disctotal", "year"})

Value = str | int | None


class BeetsDbError(PhonovaultError):
    """The beets library DB cannot be read (missing, not a beets DB, locked, unresolvable)."""


@dataclass(frozen=True, slots=True)
class GoneItem:
    """A beets item whose file is not on disk."""

    path: str  # os.fsdecode of the path beets stores (surrogate escapes for non-UTF-8 bytes)
    item_id: int
    artist: str
    album: str
    title: str


@dataclass(frozen=True, slots=True)
class FieldDrift:
    """One field where the beets DB and the file's tags disagree (values normalised)."""

    path: str
    field: str
    db_value: Value
    file_value: Value


@dataclass(frozen=True, slots=True)
class DriftReport:
    gone: list[GoneItem]
    unknown: list[str]  # catalog files (under Phonovault's roots) that beets does not know
    differ: list[FieldDrift]
    items: int  # beets items looked at
    files: int  # catalog files looked at
    errors: list[tuple[str, str]]  # (path, reason): unreadable files, offline roots
    directory: str = ""  # the music folder relative beets paths were resolved against

    @property
    def drifted(self) -> bool:
        return bool(self.gone or self.unknown or self.differ)


class _Item(NamedTuple):
    id: int
    path: bytes  # absolute, as beets expands it
    values: dict[str, Value]  # normalised FIELDS


def drift(
    catalog: Catalog,
    db_path: str | os.PathLike[str],
    directory: str | os.PathLike[str] | None = None,
    *,
    check_fields: bool = True,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> DriftReport:
    """Compare the beets library at ``db_path`` with the files and with the catalog.

    ``directory`` is beets' music folder, needed to resolve the relative paths beets 2.x
    stores. When None it is read from beets' ``config.yaml`` (beside the DB, else $BEETSDIR,
    else ~/.config/beets), else beets' own default (``~/Music``) is used. Reading tags
    (``check_fields``) is the slow part (one ``MediaFile`` open per item); without it only
    gone and unknown files are reported.
    Raises :class:`BeetsDbError` when the DB cannot be read and
    :class:`~phonovault.core.jobs.Cancelled` when ``cancel`` is set.
    """
    db = Path(db_path).expanduser().absolute()
    with tempfile.TemporaryDirectory(prefix="phonovault-beets-") as private:
        snapshot = Path(private) / "library.db"
        stored_paths = _snapshot(db, snapshot)
        music_dir = _music_dir(db, directory, stored_paths)
        items = _load_items(snapshot, music_dir, Path(private))
    return _compare(catalog, items, music_dir, check_fields, progress, cancel)


# -- reading the beets DB ---------------------------------------------------------------------


def _snapshot(db: Path, dest: Path) -> list[bytes]:
    """Copy the DB through a read-only connection; return the item paths as stored."""
    if not db.exists():
        raise BeetsDbError(
            f"no beets library at {db} (beets keeps it in ~/.config/beets/library.db unless "
            "'library:' in its config.yaml says otherwise)"
        )
    if db.is_dir():
        raise BeetsDbError(f"{db} is a folder; give the beets library file (library.db)")
    try:
        src = sqlite3.connect(db.as_uri() + "?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as exc:
        raise BeetsDbError(f"cannot open the beets library {db}: {exc}") from exc
    try:
        tables = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "items" not in tables:
            raise BeetsDbError(f"{db} is an SQLite database but not a beets library (no items)")
        stored = [r[0] for r in src.execute("SELECT path FROM items")]
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
        finally:
            dst.close()
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc) or "malformed" in str(exc):
            raise BeetsDbError(f"{db} is not a beets library: {exc}") from exc
        raise BeetsDbError(
            f"cannot read the beets library {db}: {exc} (if beets is busy with it, try again "
            "when it has finished)"
        ) from exc
    finally:
        src.close()
    return [os.fsencode(p) for p in stored if p]


def _music_dir(db: Path, given: str | os.PathLike[str] | None, stored: list[bytes]) -> str:
    """The folder relative item paths hang from; refuse to guess over an absent folder."""
    relative = any(not os.path.isabs(p) for p in stored)
    configured = _configured_directory(db) if given is None else None
    if given is not None:
        folder, source = os.fspath(given), "--directory"
    elif configured is not None:
        folder, source = configured
    else:
        import platformdirs

        folder, source = str(platformdirs.user_music_path()), "beets' default"
    folder = os.path.abspath(os.path.expanduser(folder))
    if relative and not os.path.isdir(folder):
        raise BeetsDbError(
            f"the beets library stores paths relative to its music folder, and {folder} "
            f"(from {source}) is not a folder here: is the drive plugged in? Name the folder "
            "with --directory"
        )
    return folder


def _configured_directory(db: Path) -> tuple[str, str] | None:
    """``directory:`` and the config.yaml it came from: the one beside the DB (beets' usual
    layout), else where beets itself looks ($BEETSDIR, then ~/.config/beets). Read with
    PyYAML, not through beets' configuration, which creates ~/.config/beets when loaded."""
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    candidates = [db.parent, Path(os.environ.get("BEETSDIR", db.parent)), Path(xdg, "beets")]
    for config in dict.fromkeys(Path(os.path.expanduser(c), "config.yaml") for c in candidates):
        try:
            import yaml

            data = yaml.safe_load(config.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ImportError):
            continue
        except Exception as exc:  # yaml.YAMLError: a broken config is not ours to fix
            log.warning("ignoring %s: %s", config, exc)
            continue
        value = data.get("directory") if isinstance(data, dict) else None
        if isinstance(value, str) and value:  # relative: to the config's folder, as beets
            return os.path.join(config.parent, os.path.expanduser(value)), str(config)
    return None


def _load_items(snapshot: Path, music_dir: str, private: Path) -> list[_Item]:
    """Every item of the snapshot, through beets, isolated from the rest of the process.

    beets binds the music folder in a context variable (run in a copied context so it does not
    leak) and prints migration notes to stdout (captured: ``--json`` output must stay one
    document). If beets' global configuration was never loaded in this process, it is loaded
    with BEETSDIR pointing at the private folder: defaults only, the user's config untouched.
    """
    out = io.StringIO()
    with _beets_config_home(private), contextlib.redirect_stdout(out):
        try:
            items = contextvars.copy_context().run(_read_library, snapshot, music_dir)
        except PhonovaultError:
            raise
        except Exception as exc:  # sqlite3.Error, beets' own errors: all "cannot read"
            raise BeetsDbError(f"beets could not read a copy of the library: {exc}") from exc
    if out.getvalue().strip():
        log.debug("beets said, opening the snapshot: %s", out.getvalue().strip())
    return items


@contextlib.contextmanager
def _beets_config_home(private: Path) -> Iterator[None]:
    import beets

    if getattr(beets.config, "_materialized", True):
        yield
        return
    before = os.environ.get("BEETSDIR")
    os.environ["BEETSDIR"] = str(private)
    try:
        beets.config["timeout"].get()  # materialise now, while BEETSDIR points here
        yield
    finally:
        if before is None:
            os.environ.pop("BEETSDIR", None)
        else:
            os.environ["BEETSDIR"] = before


def _genre_key() -> str:
    from beets.library import Item

    return "genres" if "genres" in Item._fields else "genre"


def _read_library(snapshot: Path, music_dir: str) -> list[_Item]:
    """Runs in a copied context: ``Library()`` binds ``music_dir`` there, and beets expands
    the relative paths it stores against it as rows are loaded."""
    from beets.library import Library

    genre_key = _genre_key()
    lib = Library(str(snapshot), directory=music_dir)
    try:
        found = []
        for item in lib.items():
            values = {f: _norm(f, item.get(genre_key if f == "genre" else f)) for f in FIELDS}
            found.append(_Item(item.id or 0, bytes(item.path), values))
        return found
    finally:
        lib._close()


# -- comparing --------------------------------------------------------------------------------


def _norm(field: str, value: Any) -> Value:
    """One spelling per meaning: None, "" and 0 are all "not set"; numbers are ints
    ("03" and 3 agree); a list (beets' genres) reads as its entries joined with "; "."""
    if isinstance(value, list | tuple):
        value = "; ".join(str(v) for v in value if v not in (None, ""))
    if value is None or value == "":
        return None
    if field in _INT_FIELDS:
        try:
            return int(value) or None
        except (TypeError, ValueError):
            return str(value)  # garbage in a number tag: keep its text, it will differ
    return value if isinstance(value, str) else str(value)


def _file_values(path: bytes, genre_key: str) -> dict[str, Value]:
    """The FIELDS of a file as beets would read them (``beet update``)."""
    import mediafile

    mf = mediafile.MediaFile(os.fsdecode(path))
    return {f: _norm(f, getattr(mf, genre_key if f == "genre" else f)) for f in FIELDS}


def _real(path: bytes, cache: dict[bytes, bytes]) -> bytes:
    """The real path, resolving the folder once per folder (albums share one): a beets
    music folder reached through a symlink still matches the catalog's real roots."""
    head, tail = os.path.split(path)
    real = cache.get(head)
    if real is None:
        real = cache[head] = os.path.realpath(head)
    return os.path.join(real, tail)


def _catalog_files(catalog: Catalog, errors: list[tuple[str, str]]) -> dict[bytes, bytes]:
    """Present catalog files by real path -> path as the catalog has it. Offline roots are
    not judged (an unplugged drive would make every file look unknown)."""
    cache: dict[bytes, bytes] = {}
    found: dict[bytes, bytes] = {}
    for root in catalog.roots():
        why = offline_reason(catalog, root)
        if why is not None:
            errors.append((root.path, f"Phonovault root offline ({why}); not compared"))
            continue
        base = os.fsencode(root.path)
        for relpath, known in catalog.known_files(root.id).items():
            if known.present:
                path = os.path.join(base, relpath)
                found[_real(path, cache)] = path
    return found


def _compare(
    catalog: Catalog,
    items: list[_Item],
    music_dir: str,
    check_fields: bool,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
) -> DriftReport:
    genre_key = _genre_key()
    errors: list[tuple[str, str]] = []
    files = _catalog_files(catalog, errors)
    cache: dict[bytes, bytes] = {}
    gone: list[GoneItem] = []
    differ: list[FieldDrift] = []
    known: set[bytes] = set()
    meter = ProgressMeter("beets drift", progress, total=len(items))
    for item in sorted(items, key=lambda i: i.path):
        if cancel is not None:
            cancel.check()
        text = os.fsdecode(item.path)
        meter.file_done(text)
        known.add(_real(item.path, cache))
        try:
            os.stat(item.path)
        except (FileNotFoundError, NotADirectoryError):
            v = item.values
            gone.append(
                GoneItem(text, item.id, *(str(v[k] or "") for k in ("artist", "album", "title")))
            )
            continue
        except OSError as exc:
            errors.append((text, f"cannot stat: {exc.strerror or exc}"))
            continue
        if check_fields:
            differ.extend(_field_drift(item, text, genre_key, errors))
    meter.finish()
    # A file deleted since the last scan is the catalog's news (a scan marks it missing).
    unknown = sorted(
        os.fsdecode(path)
        for real, path in files.items()
        if real not in known and os.path.lexists(path)
    )
    return DriftReport(gone, unknown, differ, len(items), len(files), errors, music_dir)


def _field_drift(
    item: _Item, text: str, genre_key: str, errors: list[tuple[str, str]]
) -> list[FieldDrift]:
    """The fields whose tag in the file differs from what beets stored; a file whose tags
    cannot be read is an error instead."""
    try:
        on_disk = _file_values(item.path, genre_key)
    except Exception as exc:  # mediafile wraps mutagen's errors (and bugs) in its own
        errors.append((text, f"tags unreadable: {exc}"))
        return []
    return [
        FieldDrift(text, f, item.values[f], on_disk[f])
        for f in FIELDS
        if item.values[f] != on_disk[f]
    ]
