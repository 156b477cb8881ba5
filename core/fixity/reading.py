"""One read of one file: its stat, both hashes and its tags.

This is the unit of work the scanner and the verifier hand to worker threads. The bytes are
read once for both hashes (see :mod:`phonovault.core.identity.digests`); mutagen then parses the
header, which the page cache still holds.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from typing import Any

from phonovault.core.catalog import Observation
from phonovault.core.errors import FileProblem, TagReadError
from phonovault.core.identity.digests import NOT_REGULAR, Expected, hash_file, open_regular
from phonovault.core.tags.reading import read_tags


class FileReadError(FileProblem):
    """The file's bytes could not be read (permission, I/O error, vanished)."""

    def __init__(
        self,
        path: str,
        reason: str,
        errno_: int | None = None,
        *,
        changed_during_read: bool = False,
    ) -> None:
        super().__init__(path, reason)
        self.errno = errno_
        self.changed_during_read = changed_during_read

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled by the reader processes (phonovault.core.fixity.readpool); the default would call
        # the class with the formatted message alone.
        return (type(self), (self.path, self.reason, self.errno),
                {"changed_during_read": self.changed_during_read})  # fmt: skip


def describe_oserror(exc: OSError) -> str:
    if exc.errno == errno.EIO:
        return "input/output error while reading (a warning sign of a failing disk)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOENT:
        return "the file vanished"
    return exc.strerror or str(exc)


def observe(
    path: str,
    relpath: bytes,
    *,
    algorithm: str = "blake3",
    with_sha256: bool = False,
    read_tags_too: bool = True,
    on_bytes: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    opener: Callable[..., Any] | None = None,
    expect: Expected | None = None,
) -> Observation:
    """Hash (and optionally tag-read) one file. Raises :class:`FileReadError` when its bytes
    cannot be read or it changed while we read it; unreadable tags are part of the result.

    ``opener(path, "rb")`` opens the file for both reads (tests pass one that fails).
    ``expect`` (the baseline) spares the audio hash of a file whose bytes are unchanged."""
    try:
        before = os.stat(path)
        if not stat.S_ISREG(before.st_mode):  # replaced by a FIFO, a folder, a device link
            raise FileReadError(path, NOT_REGULAR, errno.EINVAL)
        digests = hash_file(
            path,
            algorithm=algorithm,
            with_sha256=with_sha256,
            opener=opener or open_regular,
            on_bytes=on_bytes,
            should_stop=should_stop,
            expect=expect,
        )
        after = os.stat(path)
    except OSError as exc:
        raise FileReadError(path, describe_oserror(exc), exc.errno) from exc
    if (before.st_size, before.st_mtime_ns) != (
        after.st_size,
        after.st_mtime_ns,
    ) or digests.size != after.st_size:
        raise FileReadError(
            path,
            "the file changed while it was being read; it will be read again next time",
            changed_during_read=True,
        )
    track = None
    tag_error = None
    if read_tags_too:
        try:
            track = read_tags(path, opener=opener)
        except TagReadError as exc:
            cause = exc.__cause__
            if isinstance(cause, OSError) and cause.errno not in (None, errno.EINVAL):
                # The disk failed (or the file went) while its tags were read: the file is
                # unreadable, not its tags wrong.
                raise FileReadError(path, exc.reason, cause.errno) from exc
            tag_error = exc.reason
    return Observation(
        relpath, after.st_size, after.st_mtime_ns, after.st_ino, digests, track, tag_error,
        after.st_ctime_ns,
    )  # fmt: skip
