"""Open a music file for its parser: read-only, never blocking, every read capped and watched.

mutagen trusts what a file's headers declare and swallows or rewrites the I/O errors it meets.
The reader here answers both: a declared size never becomes an allocation, a FIFO never hangs
a scan, and a failing disk is told apart from a damaged file. :mod:`phonovault.core.plugin_api`
hands the same reader to plugins.
"""

from __future__ import annotations

import errno
import io
import os
from typing import IO

__all__ = [
    "IS_DIR",
    "NOT_REGULAR",
    "CappedReader",
    "WatchedReader",
    "describe_oserror",
    "open_capped",
]

IS_DIR = "is a directory, not a file"
NOT_REGULAR = "not a regular file (a pipe, socket or device)"

# Reads up to this size are passed through untouched (the common case: headers, frames).
_SMALL_READ = 1 << 16


class CappedReader(io.BufferedReader):
    """A read-only file whose ``read(n)`` never asks for more than the file still holds.

    mutagen reads as many bytes as a header declares, and ``read(n)`` allocates ``n`` bytes
    before it reads: a FLAC picture, a Vorbis comment or an ID3 frame claiming 4 GB costs a
    4 GB allocation in an 80 KB file (a MemoryError without memory overcommit, gigabytes of
    address space with it). Capping the request at what is left returns the same short read
    mutagen would have got, without the allocation.
    """

    def read(self, size: int | None = -1, /) -> bytes:
        if size is not None and size > _SMALL_READ:
            left = os.fstat(self.fileno()).st_size - self.tell()
            size = min(size, max(left, 0))
        return super().read(size)


def open_capped(
    path: str | bytes | os.PathLike[str] | os.PathLike[bytes], mode: str = "rb"
) -> CappedReader:
    """Open ``path`` for reading as a :class:`CappedReader` (``mode`` is always ``"rb"``; it
    is accepted so this can stand in for :func:`open`)."""
    # Non-blocking open: a FIFO named "x.flac" must not hang the scan (it has no effect on
    # regular files); callers refuse anything but a regular file before mutagen sees it.
    raw = open(os.fspath(path), "rb", buffering=0, opener=_open_nonblocking)  # noqa: SIM115
    try:
        return CappedReader(raw)
    except BaseException:
        raw.close()
        raise


def _open_nonblocking(path: str | bytes, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


class WatchedReader:
    """Passes a file's reads through and keeps the first real I/O error they raise.

    mutagen turns an I/O error into its own errors ("not a valid file", a ValueError from
    its file check, a nested AtomError), or swallows it and reports an unknown format; a
    secondary parse that fails only loses its part. A failing disk must never read as a
    damaged file, so the reader, not the parser, says what happened. EINVAL is a seek
    before the start that a corrupt size asked for: damage, not the disk.
    """

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self.name = getattr(fh, "name", "")
        self.error: OSError | None = None

    def _failed(self, exc: OSError) -> None:
        if self.error is None and exc.errno not in (None, errno.EINVAL):
            self.error = exc

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._fh.read(size)
        except OSError as exc:
            self._failed(exc)
            raise

    def seek(self, offset: int, whence: int = 0, /) -> int:
        try:
            return self._fh.seek(offset, whence)
        except OSError as exc:
            self._failed(exc)
            raise

    def tell(self) -> int:
        try:
            return self._fh.tell()
        except OSError as exc:
            self._failed(exc)
            raise

    def fileno(self) -> int:
        return self._fh.fileno()


def describe_oserror(exc: OSError) -> str:
    """A short reason for an OS failure; ``errno`` stays on the exception for the caller."""
    reasons = {
        errno.ENOENT: "file not found (deleted or moved?)",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EIO: "input/output error while reading (a warning sign of a failing disk)",
        errno.EISDIR: IS_DIR,
    }
    return reasons.get(exc.errno or 0) or f"cannot read the file: {exc.strerror or exc}"
