"""Walking a library root: which files are music, and whether the root is there at all.

The walk only stats (a rescan of an unchanged library is a stat walk). It never follows a
symlink out of its root, never loops, and turns every unreadable folder into a note instead of
an exception. A root that is absent, unmounted or suddenly empty is *offline*: callers then
judge none of its files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from phonovault.core.tags.reading import AUDIO_EXTENSIONS


@dataclass(frozen=True, slots=True)
class Entry:
    """One music file found on disk."""

    relpath: bytes  # relative to the root, as the file system's bytes
    path: str  # absolute; str with surrogate escapes, usable with open()
    size: int
    mtime_ns: int
    inode: int


@dataclass(slots=True)
class WalkResult:
    entries: list[Entry] = field(default_factory=list)
    skipped: int = 0  # files that are not music (covers, cue sheets, logs, ...)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    unreadable_dirs: list[bytes] = field(default_factory=list)  # relpaths we could not list
    blocked: list[bytes] = field(default_factory=list)  # music files we could not stat


def is_music_name(name: str) -> bool:
    if name.startswith("._"):  # macOS AppleDouble companions carry the same suffix
        return False
    return os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS


def inside_root(path: str, root_real: str) -> bool:
    """Whether ``path``, every symlink resolved, is ``root_real`` (a root's realpath) or under
    it. The walk and verify both ask, so a link leading out of a root is never read as if it
    were part of the library."""
    return _under(os.path.realpath(path), root_real)


def _under(real: str, root_real: str) -> bool:
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


class Containment:
    """:func:`inside_root` for many files of one root, each folder resolved once.

    ``os.path.realpath`` is pure Python and lstats every component of the path: it was a
    fifth of a 100,000-file verify. Files share their folders, so a folder's realpath is
    kept; a file still gets its own ``lstat``, and is resolved in full when it is a link."""

    def __init__(self, root_real: str) -> None:
        self.root_real = root_real
        self._folders: dict[str, str] = {}

    def __call__(self, path: str) -> bool:
        folder, name = os.path.split(path)
        real_folder = self._folders.get(folder)
        if real_folder is None:
            real_folder = self._folders[folder] = os.path.realpath(folder)
        real = os.path.join(real_folder, name)
        if os.path.islink(real):
            real = os.path.realpath(real)
        return _under(real, self.root_real)


def walk_root(root: str, should_stop: Callable[[], bool] | None = None) -> WalkResult:
    """Every music file under ``root``, depth first, in a stable (sorted) order."""
    result = WalkResult()
    root_real = os.path.realpath(root)
    seen_dirs: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        if should_stop is not None and should_stop():
            break
        folder = stack.pop()
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen_dirs:
                continue  # a loop through a symlink or a bind mount
            seen_dirs.add((st.st_dev, st.st_ino))
            with os.scandir(folder) as it:
                items = sorted(it, key=lambda e: e.name, reverse=True)
        except OSError as exc:
            result.problems.append((folder, _reason(exc, "cannot list folder")))
            result.unreadable_dirs.append(os.fsencode(os.path.relpath(folder, root)))
            continue
        for item in items:
            _visit(item, root, root_real, stack, result)
    return result


def _visit(
    item: os.DirEntry[str], root: str, root_real: str, stack: list[str], result: WalkResult
) -> None:
    try:
        link = item.is_symlink()
        if link and not inside_root(item.path, root_real):
            result.problems.append(
                (item.path, "symbolic link leads outside the root; not followed")
            )
            return
        if item.is_dir(follow_symlinks=True):
            stack.append(item.path)
            return
        if not item.is_file(follow_symlinks=True):
            return  # sockets, fifos, devices, dangling links
        if not is_music_name(item.name):
            result.skipped += 1
            return
        st = item.stat(follow_symlinks=True)
    except OSError as exc:  # vanished, permission denied, symlink loop
        if not isinstance(exc, FileNotFoundError):  # a vanished file is simply not there
            result.problems.append((item.path, _reason(exc, "cannot read")))
            result.blocked.append(os.fsencode(os.path.relpath(item.path, root)))
        return
    relpath = os.fsencode(os.path.relpath(item.path, root))
    result.entries.append(Entry(relpath, item.path, st.st_size, st.st_mtime_ns, st.st_ino))


def _reason(exc: OSError, what: str) -> str:
    detail = exc.strerror or exc.__class__.__name__
    return f"{what}: {detail}"


def root_offline_reason(path: str, *, was_mount: bool, expect_files: bool) -> str | None:
    """Why a root counts as offline now, or None when it is online.

    An unplugged drive leaves either nothing or an empty mount point behind; treating that as
    "every file missing" would be the worst possible report, so it is never judged at all.
    """
    if not os.path.isdir(path):
        return "folder not found (drive unplugged or share not mounted?)"
    if was_mount and not os.path.ismount(path):
        return "was a mount point and nothing is mounted there now"
    try:
        with os.scandir(path) as it:
            empty = next(it, None) is None
    except OSError as exc:
        return _reason(exc, "cannot list the root")
    if empty and expect_files:
        return "folder is empty although the catalog has files there (not mounted?)"
    return None
