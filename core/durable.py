"""Writing that survives a crash: temp file, fsync, rename, fsync of the folder.

One home for the few primitives every writer shares (exports, reports, the catalog's
backups, repair), so they all make a rename durable the same way.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from typing import IO, Any

__all__ = ["atomic_file", "fsync_dir", "fsync_file", "pid_alive"]


def fsync_file(path: str | os.PathLike[str]) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename in ``folder`` durable. Best effort: not every system can open or fsync
    a folder, and the rename has happened either way."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(out_path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """A temp file beside ``out_path``, fsynced and renamed over it only when all went well
    (on any error it is removed and ``out_path`` is as it was). Its mode follows the umask,
    as for any file the user saves."""
    out_path = os.fspath(out_path)
    folder = os.path.dirname(os.path.abspath(out_path))
    tmp = os.path.join(folder, f".{os.path.basename(out_path)}.{secrets.token_hex(4)}.tmp")
    # 0o666 and the umask decide the mode, as for any file the user saves.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        kwargs: dict[str, Any] = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out_path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(folder)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (a temp file's writer may still be at work)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, and is someone else's
    return True
