"""Library roots: registering them, and finding the catalog entry behind a path."""

from __future__ import annotations

import os

from phonovault.core.catalog import Catalog, FileRecord, Root
from phonovault.core.errors import NotInCatalogError, RootError
from phonovault.core.library.walk import root_offline_reason


def root_folder(path: str | os.PathLike[str]) -> str:
    """The real path of a folder to register as a root; RootError when it is not one.
    Callers check before opening a catalog, so a mistyped folder never starts one."""
    real = os.path.realpath(os.fspath(path))
    if not os.path.isdir(real):
        raise RootError(f"{os.fspath(path)} is not a folder")
    return real


def add_root(catalog: Catalog, path: str | os.PathLike[str]) -> Root:
    """Register a folder as a library root (nothing is written inside it)."""
    real = root_folder(path)
    for root in catalog.roots():
        if real == root.path:
            return root
        if _contains(root.path, real) or _contains(real, root.path):
            raise RootError(f"{real} overlaps the registered root {root.path}; roots must not nest")
    return catalog.add_root(real, was_mount=os.path.ismount(real))


def _contains(outer: str, inner: str) -> bool:
    return inner.startswith(outer.rstrip(os.sep) + os.sep)


def root_for_path(catalog: Catalog, path: str | os.PathLike[str]) -> tuple[Root, bytes]:
    """The root holding ``path`` (or being it) and the path relative to it (stored bytes)."""
    absolute = os.path.abspath(os.fspath(path))
    for candidate in (absolute, os.path.realpath(absolute)):
        for root in catalog.roots():
            if candidate == root.path or _contains(root.path, candidate):
                # The root itself gives b".": callers read that as "the whole root".
                return root, os.fsencode(os.path.relpath(candidate, root.path))
    raise NotInCatalogError(f"{os.fspath(path)} is not under any registered root")


def locate(catalog: Catalog, path: str | os.PathLike[str]) -> tuple[Root, FileRecord]:
    """The catalog entry of a file the user named on the command line or in the GUI."""
    root, relpath = root_for_path(catalog, path)
    record = catalog.file_by_path(root.id, relpath)
    if record is None:
        raise NotInCatalogError(f"{os.fspath(path)} is not in the catalog (run a scan?)")
    return root, record


def absolute_path(root: Root, record: FileRecord) -> str:
    return os.path.join(root.path, os.fsdecode(record.relpath))


def offline_reason(catalog: Catalog, root: Root) -> str | None:
    """Why a root is offline now (absent, unmounted, or empty where files were), else None."""
    return root_offline_reason(
        root.path, was_mount=root.was_mount, expect_files=catalog.has_present_files(root.id)
    )
