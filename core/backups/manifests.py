"""Manifests that travel: ``sha256sum`` files, BagIt bags and a catalog export (DESIGN.md,
"Manifests"), plus, re-exported from :mod:`phonovault.core.backups.manifest_verify`, finding and
verifying the manifests that already sit beside the music.

Exports never write into a music file: they read (or reuse the stored SHA-256 of a file whose
stat is unchanged since it was hashed) and write the manifest atomically, temp file then
rename, so a crash leaves the old manifest or the new one, never half of one.

A manifest never certifies damage (DESIGN.md, "Fixity classification"): a file whose last
verdict is corrupt, audio-changed, unreadable or missing is left out, and so is one whose
bytes no longer hash to its baseline's file hash (a SHA-256 read now is written only after
the same read gave the baseline's file hash). Left-out files are returned with the reason,
for the caller to warn about; the manifest itself does not mention them.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import datetime
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields
from typing import Any

from phonovault.core.backups.manifest_verify import (
    KINDS,
    MAX_LINE,
    ManifestEntry,
    ManifestError,
    ManifestReport,
    find_manifests,
    gnu_escape,
    verify_manifest,
)
from phonovault.core.catalog import Catalog, FileRecord, Root
from phonovault.core.durable import atomic_file, fsync_dir
from phonovault.core.identity.digests import HashCancelled, hash_file
from phonovault.core.library.roots import root_for_path

__all__ = [
    "KINDS",
    "MAX_LINE",
    "ExportReport",
    "LeftOut",
    "ManifestEntry",
    "ManifestError",
    "ManifestReport",
    "export_bagit",
    "export_catalog",
    "export_sha256sum",
    "find_manifests",
    "verify_manifest",
]

# A root or folder path, or an album as (album artist, album title) like the albums view.
Target = str | os.PathLike[str] | tuple[str, str]


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A file of the selection that the manifest does not list, and why."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class ExportReport:
    out_path: str
    files: int
    bytes: int
    reused: int  # stored SHA-256 taken (file unchanged since it was hashed)
    computed: int  # SHA-256 read from the file now (with its file hash, checked)
    linked: int  # BagIt only: payload files hard-linked rather than copied
    left_out: tuple[LeftOut, ...]  # not certified: damaged, changed, gone (the caller warns)


# Last verdicts whose bytes a manifest must not certify, and what to do about each.
UNCERTIFIABLE = {
    "corrupt": "its last verify found it corrupt (restore it: 'phonovault repair plan')",
    "audio-changed": "its audio changed since its baseline ('phonovault accept' it if you "
    "meant it)",
    "unreadable": "its last verify could not read it",
    "missing": "its last scan or verify found it missing",
}


class _NotCertified(Exception):
    """This file cannot be listed: ``reason`` says why (for people)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Item:
    record: FileRecord
    path: bytes  # absolute, as the file system spells it
    within: bytes  # path relative to the root

    def left_out(self, reason: str) -> LeftOut:
        return LeftOut(os.fsdecode(self.path), reason)


def _album_of(albumartist: str | None, artist: str | None, album: str | None) -> tuple[str, str]:
    """An album's name as the albums view gives it."""
    return (albumartist or None) or (artist or None) or "Unknown artist", album or "Unknown album"


def _selection(catalog: Catalog, target: Target) -> tuple[list[_Item], list[LeftOut]]:
    """Present files of a root, a folder under a root, or an album, in path order; and those
    of them the catalog last found missing (left out, and said so)."""
    roots = {r.id: r for r in catalog.roots()}
    if isinstance(target, tuple):
        ids = [i for i, _r, aa, a, al in catalog.album_grouping() if _album_of(aa, a, al) == target]
        gone = [
            LeftOut(row.path, UNCERTIFIABLE["missing"])
            for row in catalog.library_rows()
            if row.state == "missing"
            and _album_of(row.albumartist, row.artist, row.album) == target
        ]
        what = f"no album {target[0]!r} / {target[1]!r} in the catalog"
    else:
        root, rel = root_for_path(catalog, target)
        ids = catalog.file_ids_under(root.id, rel)
        prefix = b"" if rel in (b"", b".") else rel.rstrip(b"/") + b"/"
        gone = [
            LeftOut(os.path.join(root.path, os.fsdecode(k.relpath)), UNCERTIFIABLE["missing"])
            for k in catalog.known_files(root.id).values()
            if not k.present and (k.relpath == rel or k.relpath.startswith(prefix))
        ]
        what = f"no catalogued files under {os.fspath(target)} (run a scan?)"
    if not ids and not gone:
        raise ManifestError(what)
    records = sorted(catalog.files_by_ids(ids), key=lambda r: (r.root_id, r.relpath))
    return [_item(roots[r.root_id], r) for r in records], gone


def _item(root: Root, record: FileRecord) -> _Item:
    return _Item(record, os.path.join(os.fsencode(root.path), record.relpath), record.relpath)


def _certified_sha256(
    item: _Item, path: bytes, should_stop: Callable[[], bool] | None
) -> tuple[str, bool]:
    """(SHA-256, reused?) of the bytes at ``path`` (the file, or its copy in a bag), which
    must be the record's baseline. The stored SHA-256 is trusted only while the stat there
    equals the baseline's (size, mtime, inode); else one read gives the SHA-256 and the
    catalog's file hash, and the SHA-256 is used only when the file hash is the baseline's.
    Raises :class:`_NotCertified` when the file cannot be vouched for."""
    r = item.record
    if r.state in UNCERTIFIABLE:
        raise _NotCertified(UNCERTIFIABLE[r.state])
    try:
        st = os.stat(path)
        if r.sha256 and (st.st_size, st.st_mtime_ns, st.st_ino) == (r.size, r.mtime_ns, r.inode):
            return r.sha256, True
        if not r.file_hash:
            raise _NotCertified("it has no baseline file hash to check it against (scan it)")
        got = hash_file(path, algorithm=r.hash_algo or "blake3", with_sha256=True,
                        should_stop=should_stop)  # fmt: skip
    except FileNotFoundError:
        raise _NotCertified("it is not on disk now (its drive offline, or deleted)") from None
    except OSError as exc:
        raise _NotCertified(f"it cannot be read now ({exc.strerror or exc})") from exc
    except HashCancelled:
        raise ManifestError("export cancelled") from None
    if got.file_hash != r.file_hash or got.sha256 is None:
        raise _NotCertified(
            "its bytes are no longer its baseline's (its file hash differs): it changed "
            "since its last verify; verify it again"
        )
    return got.sha256, False


def _cannot_write(out: str, exc: OSError) -> ManifestError:
    return ManifestError(f"cannot write {out}: {exc.strerror or exc}")


def export_sha256sum(
    catalog: Catalog,
    target: Target,
    out_path: str | os.PathLike[str],
    *,
    should_stop: Callable[[], bool] | None = None,
) -> ExportReport:
    """Write a GNU ``sha256sum`` manifest of a root, folder or album to ``out_path``.

    Paths are relative to the manifest's folder, so ``sha256sum -c`` run there checks every
    file; the manifest must therefore sit in the target's folder or above it. Names holding a
    backslash, newline or CR use GNU's escaped form (line starts with ``\\``); other bytes,
    UTF-8 or not, are written as the file system gave them.
    """
    out = os.path.abspath(os.fspath(out_path))
    base = os.fsencode(os.path.dirname(out))
    items, left_out = _selection(catalog, target)
    lines: list[bytes] = []
    reused = computed = total = 0
    for item in items:
        rel = os.path.relpath(item.path, base)
        if rel.startswith(b"../") or rel == b"..":
            raise ManifestError(
                f"the manifest must be in the folder of the files or above it: "
                f"{os.fsdecode(item.path)} is not under {os.fsdecode(base)}"
            )
        try:
            digest, was_stored = _certified_sha256(item, item.path, should_stop)
        except _NotCertified as exc:
            left_out.append(item.left_out(exc.reason))
            continue
        reused += was_stored
        computed += not was_stored
        total += item.record.size
        escaped, name = gnu_escape(rel)
        lines.append((b"\\" if escaped else b"") + digest.encode("ascii") + b"  " + name + b"\n")
    try:
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with atomic_file(out) as fh:
            fh.writelines(lines)
    except OSError as exc:
        raise _cannot_write(out, exc) from exc
    return ExportReport(out, len(lines), total, reused, computed, 0, tuple(left_out))


def export_bagit(
    catalog: Catalog,
    target: Target,
    bag_dir: str | os.PathLike[str],
    *,
    should_stop: Callable[[], bool] | None = None,
) -> ExportReport:
    """Build a complete BagIt 1.0 bag (RFC 8493) of a root, folder or album at ``bag_dir``.

    Why a bag of copies and not a "holey" bag (§2.2.3, payload named in ``fetch.txt`` by
    ``file://`` URL): a holey bag is incomplete by definition, and the reference
    ``bagit`` library validates completeness against ``data/`` only (its Payload-Oxum and
    completeness checks fail, fetch entries are never resolved), so nobody downstream could
    validate it. Instead ``data/`` is filled with **hard links** to the music when the bag is on
    the same file system (no bytes copied, no space used, music never moved) and with copies
    otherwise. A hard-linked bag shares the music's bytes: it is a transfer package that
    validates anywhere, not a second copy; bit rot shows in both (and validation catches it).

    The bag is assembled in a temp folder beside ``bag_dir`` and renamed into place at the
    end. It must not lie inside a library root (a scan would catalogue its payload twice).
    Names must be UTF-8: BagIt manifests are UTF-8 text.
    """
    bag = os.path.abspath(os.fspath(bag_dir))
    _check_bag_location(catalog, bag)
    items, left_out = _selection(catalog, target)
    undecodable = [i for i in items if not _is_utf8(i.within)]
    if undecodable:
        raise ManifestError(
            f"BagIt manifests are UTF-8; {len(undecodable)} file names are not (first: "
            f"{os.fsdecode(undecodable[0].path)!r}); export a sha256sum manifest instead"
        )
    parent = os.path.dirname(bag)
    try:
        os.makedirs(parent, exist_ok=True)
        work = tempfile.mkdtemp(prefix=f".{os.path.basename(bag)}.", dir=parent)
    except OSError as exc:
        raise _cannot_write(bag, exc) from exc
    try:
        report = _fill_bag(work, items, target, should_stop, left_out)
        fsync_dir(work)
        os.rename(work, bag)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    fsync_dir(parent)
    return ExportReport(bag, *report)


def _check_bag_location(catalog: Catalog, bag: str) -> None:
    if os.path.lexists(bag) and (not os.path.isdir(bag) or os.listdir(bag)):
        raise ManifestError(f"{bag} already exists; choose a new folder for the bag")
    if os.path.isdir(bag):
        os.rmdir(bag)  # an empty folder the user made: the finished bag is renamed onto it
    real = os.path.realpath(bag)
    for root in catalog.roots():
        if real == root.path or real.startswith(root.path.rstrip(os.sep) + os.sep):
            raise ManifestError(
                f"{bag} is inside the library root {root.path}; put the bag beside it"
            )


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _fill_bag(
    work: str,
    items: list[_Item],
    target: Target,
    should_stop: Callable[[], bool] | None,
    left_out: list[LeftOut],
) -> tuple[int, int, int, int, int, tuple[LeftOut, ...]]:
    manifest: list[str] = []
    reused = computed = linked = total = 0
    for item in items:
        dest = os.path.join(os.fsencode(work), b"data", item.within)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        try:
            digest, was_linked, was_stored = _place(item, dest, should_stop)
        except _NotCertified as exc:
            left_out.append(item.left_out(exc.reason))
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dest)
            continue
        linked += was_linked
        reused += was_stored
        computed += not was_stored
        total += os.stat(dest).st_size
        manifest.append(f"{digest}  data/{_bag_name(item.within.decode('utf-8'))}\n")
    files = len(manifest)
    described = "/".join(target) if isinstance(target, tuple) else os.fspath(target)
    info = (
        f"Bagging-Date: {datetime.date.today().isoformat()}\n"
        f"Payload-Oxum: {total}.{files}\n"
        "Source-Organization: Phonovault\n"
        f"External-Description: Music files of {described}, exported by Phonovault "
        "with their SHA-256 checksums.\n"
        "Bag-Software-Agent: Phonovault\n"
    )
    tag_files = {
        "bagit.txt": "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
        "bag-info.txt": info,
        "manifest-sha256.txt": "".join(manifest),
    }
    tagmanifest = []
    for name, text in tag_files.items():
        data = text.encode("utf-8")
        with open(os.path.join(work, name), "wb") as fh:
            fh.write(data)
            os.fsync(fh.fileno())
        tagmanifest.append(f"{hashlib.sha256(data).hexdigest()}  {name}\n")
    with open(os.path.join(work, "tagmanifest-sha256.txt"), "w", encoding="utf-8") as fh:
        fh.writelines(tagmanifest)
        os.fsync(fh.fileno())
    return files, total, reused, computed, linked, tuple(left_out)


def _bag_name(name: str) -> str:
    """RFC 8493 §2.1.3: CR, LF and % in a manifest path are percent-encoded."""
    return name.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _place(
    item: _Item, dest: bytes, should_stop: Callable[[], bool] | None
) -> tuple[str, bool, bool]:
    """Hard-link (else copy) one file into the bag: (SHA-256 of the bag's bytes, linked?,
    stored hash reused?). The file is certified first (:func:`_certified_sha256`); a copy is
    hashed as it is written and must give that SHA-256, so the manifest describes exactly
    the bytes in the bag, and they are the baseline's."""
    digest, stored = _certified_sha256(item, item.path, should_stop)
    try:
        os.link(item.path, dest)
    except FileNotFoundError:
        raise _NotCertified("it is not on disk now (its drive offline, or deleted)") from None
    except OSError:  # another file system, or links not allowed: copy
        try:
            copied = _copy_hashing(item.path, dest, should_stop)
        except OSError as exc:
            raise _NotCertified(f"it cannot be copied now ({exc.strerror or exc})") from exc
        if copied != digest:
            raise _NotCertified("it changed while it was being copied; export again") from None
        return digest, False, stored
    return digest, True, stored


def _copy_hashing(src: bytes, dest: bytes, should_stop: Callable[[], bool] | None) -> str:
    h = hashlib.sha256()
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        while chunk := fin.read(1 << 20):
            if should_stop is not None and should_stop():
                raise ManifestError("export cancelled")
            h.update(chunk)
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    shutil.copystat(src, dest)
    return h.hexdigest()


# -- the whole catalog -----------------------------------------------------------------------

_HIDDEN = ("relpath", "path_text")  # replaced by the full path (and path_b64)
CATALOG_FIELDS = ("root", "path", *(f.name for f in fields(FileRecord) if f.name not in _HIDDEN))


def _catalog_rows(catalog: Catalog) -> Iterator[dict[str, Any]]:
    roots = {r.id: r for r in catalog.roots()}
    for record in catalog.files():
        row = asdict(record)
        raw = row.pop("relpath")
        row.pop("path_text")
        root = roots[record.root_id]
        full = os.path.join(root.path, os.fsdecode(raw))
        yield {"root": root.path, "path": full, **row}


def export_catalog(catalog: Catalog, out_path: str | os.PathLike[str], fmt: str = "csv") -> int:
    """Write every catalogued file's metadata (path, size, format, codec, duration, tags,
    hashes, state, last verified, ...) as CSV or JSON: what the user owned stays known even
    if the files are lost. Returns the number of files written.

    A path that is not UTF-8 is written in printable form (U+FFFD) with its exact bytes in
    ``path_b64`` (JSON) so nothing is silently mangled; CSV has the same column.
    """
    out = os.fspath(out_path)
    rows = []
    for row in _catalog_rows(catalog):
        exact = row["path"].encode("utf-8", "surrogateescape")
        row["path"] = exact.decode("utf-8", "replace")
        row["path_b64"] = base64.b64encode(exact).decode("ascii") if not _is_utf8(exact) else ""
        rows.append(row)
    if fmt == "json":
        doc = {"format": "phonovault-catalog", "version": 1, "files": rows}
        with atomic_file(out, "w") as fh:
            json.dump(doc, fh, ensure_ascii=False, indent=1)
            fh.write("\n")
    elif fmt == "csv":
        with atomic_file(out, "w") as fh:
            writer = csv.DictWriter(fh, fieldnames=(*CATALOG_FIELDS, "path_b64"))
            writer.writeheader()
            writer.writerows(rows)
    else:
        raise ManifestError(f"unknown catalog format {fmt!r}; use csv or json")
    return len(rows)
