"""Cover art beside the music: ``cover.jpg``, ``folder.jpg``, ``front.png`` in an album's folder.

Many libraries keep the front cover as a file next to the tracks instead of inside them (the
convention of foobar2000, MusicBee, Picard, Windows Media Player, Kodi and Plex), so "no
embedded cover" is not "no cover". This module finds that file, read-only:

- Names, compared case-insensitively: ``cover``, ``front``, ``folder``, ``album``,
  ``albumart``, ``albumartlarge``, ``albumartsmall`` (Windows Media Player's 75 px thumbnail,
  last) and WMP's ``AlbumArt_{GUID}_Large``/``_Small``; extensions ``.jpg``, ``.jpeg``,
  ``.png``, ``.webp``, ``.gif``. Nothing else: ``*.jpg`` would take a scan of the booklet's
  back page or a photo of the CD for the cover. The first name in that order wins.
- The file must start like a PNG, JPEG, WebP or GIF (its first 16 bytes are all that is
  read): an empty or garbled ``cover.jpg`` is no cover. Which of the four does not have to
  match the extension (a PNG saved as ``cover.jpg`` is common, and players show it).
- The track's own folder first; for a disc folder (``CD1``, ``Disc 2``, ``disk-3``...) its
  parent too, where multi-disc releases keep one cover for all discs. Never above the root.
- A folder or a file whose symlinks lead out of the root is never looked at, and only regular
  files count (a FIFO named ``cover.jpg`` cannot hang a check).

:class:`FolderCovers` remembers each folder's answer while the folder is unchanged (its mtime,
inode and device: adding, removing or renaming a file changes a folder's mtime) and the cover
it found is too (its size and mtime), so a check lists each folder once, and the next check
sees a cover added, removed or saved over since.
"""

from __future__ import annotations

import os
import re
import stat
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from phonovault.core.tags.art import probe_image

__all__ = [
    "COVER_EXTENSIONS",
    "COVER_NAMES",
    "FolderCover",
    "FolderCovers",
    "find_folder_cover",
    "read_folder_cover",
]

#: File names (without extension, case-folded) that are an album's front cover, best first.
COVER_NAMES: tuple[str, ...] = (
    "cover", "front", "folder", "album", "albumart", "albumartlarge", "albumartsmall",
)  # fmt: skip
#: Extensions (case-folded), best first.
COVER_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".webp", ".gif")
_IMAGES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})

# Windows Media Player's per-album files: AlbumArt_{GUID}_Large.jpg / _Small.jpg.
_WMP = re.compile(r"albumart_\{[0-9a-f-]{36}\}_(large|small)")
# A folder that holds one disc of a release: "CD1", "CD 2", "Disc 03", "disk-4 (bonus)".
_DISC_FOLDER = re.compile(r"(cd|disc|disk)\s*[-_.]?\s*\d+\b", re.IGNORECASE)
_Stamp = tuple[tuple[int, int, int], ...]  # (mtime_ns, inode, device) of each folder looked in
MAX_BYTES = 50 << 20  # a cover scan larger than this is not shown (nor read into memory)
_HEAD = 16  # enough for the magic of every image above (WebP: "RIFF" size "WEBP")
_RACY_NS = 3_000_000_000  # a folder changed this recently may change again in the same tick


@dataclass(frozen=True, slots=True)
class FolderCover:
    """A cover image file found beside the music."""

    path: str  # absolute, as found (not resolved)
    mime: str  # what its first bytes are
    size: int  # bytes
    mtime_ns: int

    @property
    def version(self) -> tuple[str, int, int]:
        """Changes when another picture is saved under the name (for caches of its pixels)."""
        return self.path, self.size, self.mtime_ns


def _rank(name: str) -> tuple[int, int] | None:
    """Where ``name`` stands among cover names (lower is better); None: not a cover name."""
    stem, ext = os.path.splitext(name.casefold())
    if ext not in COVER_EXTENSIONS:
        return None
    ext_rank = COVER_EXTENSIONS.index(ext)
    if stem in COVER_NAMES:
        return COVER_NAMES.index(stem), ext_rank
    wmp = _WMP.fullmatch(stem)
    if wmp:  # after "albumartlarge"/"albumartsmall" of the same size
        return COVER_NAMES.index("albumart" + wmp.group(1)), ext_rank + len(COVER_EXTENSIONS)
    return None


def _under(real: str, root_real: str) -> bool:
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


def _candidates(folder: str) -> list[str]:
    """Cover-named entries of ``folder``, best first (an unreadable folder has none)."""
    try:
        with os.scandir(folder) as entries:
            named = [(rank, e.name) for e in entries if (rank := _rank(e.name)) is not None]
    except OSError:
        return []
    return [name for _, name in sorted(named)]


def _open_regular(path: str, root_real: str) -> int | None:
    """A read-only descriptor of ``path`` when it resolves inside the root to a regular file."""
    real = os.path.realpath(path)
    if not _under(real, root_real):
        return None
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(real, flags)  # the resolved name: a link swapped in since is refused
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
    except OSError:
        return None
    os.close(fd)
    return None


def _open_image(path: str, root_real: str) -> FolderCover | None:
    """``path`` as a cover when it resolves inside the root to a regular file that starts
    like an image; reads its first bytes only."""
    fd = _open_regular(path, root_real)
    if fd is None:
        return None
    try:
        st = os.fstat(fd)
        head = os.read(fd, _HEAD)
    except OSError:
        return None
    finally:
        os.close(fd)
    mime, _w, _h = probe_image(head)
    return FolderCover(path, mime, st.st_size, st.st_mtime_ns) if mime in _IMAGES else None


def _in_folder(folder: str, root_real: str) -> FolderCover | None:
    if not _under(os.path.realpath(folder), root_real):
        return None
    for name in _candidates(folder):
        found = _open_image(os.path.join(folder, name), root_real)
        if found is not None:
            return found
    return None


def _folders(folder: str, root: str) -> list[str]:
    """The folders to look in for a file in ``folder``: it, and the parent of a disc folder
    (never the root's parent)."""
    folder, root = os.path.normpath(folder), os.path.normpath(root)
    out = [folder]
    if folder != root and _DISC_FOLDER.match(os.path.basename(folder)):
        out.append(os.path.dirname(folder))
    return out


def find_folder_cover(folder: str, root: str) -> FolderCover | None:
    """The cover file for music in ``folder`` (inside the library root ``root``), or None.

    Never raises for what the disk says (a folder that cannot be listed has no cover)."""
    root_real = os.path.realpath(root)
    for place in _folders(folder, root):
        found = _in_folder(place, root_real)
        if found is not None:
            return found
    return None


def read_folder_cover(cover: FolderCover, root: str, limit: int = MAX_BYTES) -> bytes | None:
    """The picture's bytes, for display (the GUI reads them off the UI thread); None when the
    file is gone, has left the root, is no longer an image or is larger than ``limit``."""
    fd = _open_regular(cover.path, os.path.realpath(root))
    if fd is None:
        return None
    try:
        with os.fdopen(fd, "rb") as fh:
            fd = -1  # the file object closes it now
            data = fh.read(limit + 1)
    except OSError:
        return None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > limit or probe_image(data[:_HEAD])[0] not in _IMAGES:
        return None
    return data


class FolderCovers:
    """:func:`find_folder_cover` that lists a folder again only once it changed.

    A folder's answer is kept with the folder's (mtime, inode, device) and reused while they
    are the same; one changed in the last few seconds is not kept (a file system with coarse
    timestamps could change it again without a new mtime). Safe to share between threads.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        # (folder, root) -> (the folders' stamp, the answer)
        self._seen: OrderedDict[tuple[str, str], tuple[_Stamp, FolderCover | None]] = OrderedDict()

    def find(self, folder: str, root: str) -> FolderCover | None:
        key = (os.path.normpath(folder), os.path.normpath(root))
        stamp = _stamp(_folders(*key))
        if stamp is None:  # gone or unreadable: nothing to find, nothing to keep
            return None
        with self._lock:
            kept = self._seen.get(key)
            if kept is not None and kept[0] == stamp and _same_file(kept[1]):
                self._seen.move_to_end(key)
                return kept[1]
        found = find_folder_cover(*key)
        if time.time_ns() - max(s[0] for s in stamp) > _RACY_NS:
            with self._lock:
                self._seen[key] = (stamp, found)
                self._seen.move_to_end(key)
                while len(self._seen) > self._capacity:
                    self._seen.popitem(last=False)
        return found

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


def _same_file(cover: FolderCover | None) -> bool:
    """Whether a cover found earlier is still the same picture (a picture saved over it in
    place leaves the folder's mtime alone, not the file's)."""
    if cover is None:
        return True
    try:
        st = os.stat(cover.path)
    except OSError:
        return False
    return (st.st_size, st.st_mtime_ns) == (cover.size, cover.mtime_ns)


def _stamp(folders: list[str]) -> _Stamp | None:
    try:
        stats = [os.stat(f) for f in folders]
    except OSError:
        return None
    return tuple((s.st_mtime_ns, s.st_ino, s.st_dev) for s in stats)
