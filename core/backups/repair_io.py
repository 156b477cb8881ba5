"""The file-system half of repair: writing one file under a registered folder so that a
kill, a full disk, a vanishing source or a folder swapped for a symlink never costs a byte.

- :class:`Folder` opens the destination's folder from the registered root or target one
  component at a time with ``O_NOFOLLOW`` and holds it open; the temp file, the re-hashes and
  the rename all go through that descriptor (``dir_fd``), so no path is resolved again once
  the folder is open. :meth:`Folder.still_inside` is the last look before the rename.
- :func:`fill_temp` and :func:`quarantine` copy through :func:`_read_chunk` and
  :func:`_write_chunk` (the seams where the tests inject EIO and ENOSPC), fsync, and check
  the copy's hash; a failure removes the temp file and raises :class:`Failed` with a reason
  that says which step failed and that nothing was replaced.
- Temp files are named ``.phonovault-tmp-<pid>-<hex>`` beside the destination and
  ``.phonovault-qtmp-<pid>-<hex>`` at the top of the quarantine folder, so what a killed run
  left is recognisable (:func:`leftover`), and whether its writer still runs can be told.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import uuid

from phonovault.core.durable import fsync_dir
from phonovault.core.fixity.reading import describe_oserror
from phonovault.core.identity.digests import NOT_REGULAR, BinaryReader, hash_file

__all__ = ["QTEMP_PREFIX", "TEMP_PREFIX", "Failed", "Folder", "Refused", "fill_temp",
           "full_key", "leftover", "new_temp_name", "quarantine", "split"]  # fmt: skip

TEMP_PREFIX = ".phonovault-tmp-"  # beside a destination, while its new bytes are written
QTEMP_PREFIX = ".phonovault-qtmp-"  # in the quarantine folder, while replaced bytes are copied
CHUNK = 1 << 20
# Ours, from this version (with the writer's pid) or an older one (without).
_LEFTOVER = re.compile(r"^\.phonovault-q?tmp-(?:(?P<pid>\d+)-)?[0-9a-f]{32}$")
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | _CLOEXEC
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_NEW_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC


class Refused(Exception):
    """A precondition does not hold (outside the base, a symlink, a folder that moved):
    nothing was written."""


class Failed(Exception):
    """A step failed; nothing was replaced. ``reason`` says which step, and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def split(dest: str, base: str) -> tuple[tuple[str, ...], str]:
    """The folders from ``base`` down to ``dest``'s, and its name; refused when ``dest`` is
    not spelled as an absolute path inside ``base``."""
    rel = os.path.relpath(dest, base) if os.path.isabs(dest) else ""
    parts = tuple(rel.split(os.sep))
    if ".." in dest.split(os.sep) or not rel or parts[0] in ("..", "."):
        raise Refused(f"refused: {dest} is outside {base}")
    return parts[:-1], parts[-1]


class Folder:
    """The destination's folder, reached from the registered ``base`` without following a
    symlink anywhere below it, and held open."""

    def __init__(self, base: str, parts: tuple[str, ...], *, create: bool) -> None:
        self.base, self.parts = base, parts
        self.fd = _walk(base, parts, create=create)

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)

    def stat(self, name: str) -> os.stat_result | None:
        try:
            return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def names(self) -> list[str]:
        return os.listdir(self.fd)

    def opener(self, name: str, mode: str = "rb") -> BinaryReader:
        return os.fdopen(open_regular(name, dir_fd=self.fd), "rb")

    def unlink(self, name: str) -> None:
        os.unlink(name, dir_fd=self.fd)

    def rename(self, src: str, dst: str) -> None:
        os.rename(src, dst, src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def place(self, tmp: str, name: str) -> None:
        """Put ``tmp`` at ``name`` where nothing is: a hard link, which fails rather than
        replace a file that appeared since the last look; on a file system without hard
        links (FAT, exFAT, some shares), a rename."""
        try:
            os.link(tmp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd, follow_symlinks=False)
        except FileExistsError as exc:
            raise Refused("a file appeared at the destination while it was being repaired") from exc
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK,
                                 errno.EXDEV, errno.ENOSYS):  # fmt: skip
                raise
            self.rename(tmp, name)
            return
        with contextlib.suppress(OSError):
            self.unlink(tmp)  # if this fails, the next apply removes it

    def hash(self, name: str, algo: str, doing: str) -> str:
        try:
            return hash_file(name, algorithm=algo, opener=self.opener).file_hash
        except OSError as exc:
            raise Failed(f"{doing} failed: {describe_oserror(exc)}; nothing was replaced") from exc

    def still_inside(self) -> bool:
        """Whether walking down from the base again reaches this very folder."""
        try:
            fd = _walk(self.base, self.parts, create=False)
        except (Refused, OSError):
            return False
        try:
            a, b = os.fstat(fd), os.fstat(self.fd)
        finally:
            os.close(fd)
        return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _walk(base: str, parts: tuple[str, ...], *, create: bool) -> int:
    """A descriptor on ``base``/``parts``. The base must still be the real folder registered
    (and is never created: an unplugged root stays absent); below it, a symlink or a file
    where a folder should be is refused, and a missing folder is made when ``create``."""
    if os.path.realpath(base) != base:
        raise Refused(f"refused: {base} is no longer the folder registered (a symlink now?)")
    try:
        fd = os.open(base, _DIR_FLAGS)
    except OSError as exc:
        raise Refused(f"refused: {base} cannot be opened ({describe_oserror(exc)})") from exc
    st, now = os.fstat(fd), os.stat(base)
    if (st.st_dev, st.st_ino) != (now.st_dev, now.st_ino):
        os.close(fd)
        raise Refused(f"refused: {base} changed while it was opened")
    for part in parts:
        try:
            try:
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, dir_fd=fd)
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise Refused(f"refused: {part!r} under {base} is a symlink or not a folder; "
                              "nothing is written through it") from exc  # fmt: skip
            raise
        os.close(fd)
        fd = nxt
    return fd


def open_regular(name: str, *, dir_fd: int | None = None, follow: bool = False) -> int:
    """A descriptor for reading ``name``, refusing (OSError) what is not a regular file: a
    FIFO put in its place would block the repair forever. Without ``follow``, a symlink is
    refused too. Non-blocking mode has no effect on a regular file."""
    flags = (_READ_FLAGS & ~os.O_NOFOLLOW if follow else _READ_FLAGS) | _NONBLOCK
    fd = os.open(name, flags, dir_fd=dir_fd)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, NOT_REGULAR)
    return fd


def new_temp_name(prefix: str = TEMP_PREFIX) -> str:
    return f"{prefix}{os.getpid()}-{uuid.uuid4().hex}"


def fill_temp(
    source: str, src_st: os.stat_result, folder: Folder, tmp: str, expect: str, algo: str
) -> None:
    """``source``'s bytes into the new file ``tmp`` in ``folder`` (never through a symlink),
    with the source's times, fsynced, and re-hashed against ``expect``."""
    try:
        src = open_regular(source, follow=True)
    except OSError as exc:
        raise Failed(f"the source cannot be opened: {describe_oserror(exc)}") from exc
    try:
        try:
            dst = os.open(tmp, _NEW_FLAGS, 0o666, dir_fd=folder.fd)
        except OSError as exc:
            raise Failed(f"cannot create a temp file beside it: {exc.strerror or exc}") from exc
        try:
            _copy(src, dst, "the source", "the temp file")
            try:
                os.utime(dst, ns=(src_st.st_atime_ns, src_st.st_mtime_ns))
                os.fsync(dst)
            except OSError as exc:
                raise Failed(f"writing the temp file failed: {exc.strerror or exc}; "
                             "nothing was replaced") from exc  # fmt: skip
        finally:
            os.close(dst)
    finally:
        os.close(src)
    if folder.hash(tmp, algo, "re-reading the temp file") != expect:
        raise Failed(_why_copy_differs(source, src_st))


def _why_copy_differs(source: str, before: os.stat_result) -> str:
    try:
        now = os.stat(source)
    except OSError:
        return "the source vanished while it was copied; nothing was replaced"
    if (now.st_size, now.st_mtime_ns, now.st_ino) != (
        before.st_size, before.st_mtime_ns, before.st_ino,
    ):  # fmt: skip
        return "the source changed while it was copied; nothing was replaced"
    return "the written file failed its re-hash; nothing was replaced"


def quarantine(folder: Folder, name: str, dest: str, expect: str, algo: str, qdir: str) -> str:
    """Copy the bytes about to be replaced into the quarantine tree, under their absolute
    path: to a temp name at the top of ``qdir`` first, fsync, the copy must hash to
    ``expect`` (what was just read at the destination), then renamed into place. A failure
    or a kill never leaves a partial file under a real name."""
    rel = os.path.splitdrive(os.path.abspath(dest))[1].lstrip(os.sep)
    tmp = os.path.join(qdir, new_temp_name(QTEMP_PREFIX))
    try:
        os.makedirs(qdir, exist_ok=True)
        src = open_regular(name, dir_fd=folder.fd)
        try:
            dst = os.open(tmp, _NEW_FLAGS, 0o666)
            try:
                _copy(src, dst, "the file to be replaced", "the quarantine copy")
                os.fsync(dst)
            finally:
                os.close(dst)
        finally:
            os.close(src)
        if hash_file(tmp, algorithm=algo).file_hash != expect:
            raise Failed("the file to be replaced changed while it was copied into "
                         "quarantine; nothing was replaced")  # fmt: skip
        where, n = os.path.join(qdir, rel), 1
        while os.path.lexists(where):
            where, n = os.path.join(qdir, f"{rel}.{n}"), n + 1
        os.makedirs(os.path.dirname(where), exist_ok=True)
        os.rename(tmp, where)
        fsync_dir(os.path.dirname(where))
        fsync_dir(qdir)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise Failed(f"the replaced bytes could not be kept in quarantine ({qdir}): "
                         f"{describe_oserror(exc)}; nothing was replaced") from exc  # fmt: skip
        raise
    return where


def _read_chunk(fd: int, size: int) -> bytes:
    """One read of a copy. A seam: the tests make it fail (EIO) to stand in for a dying disk."""
    return os.read(fd, size)


def _write_chunk(fd: int, data: bytes) -> None:
    """Write all of ``data``. A seam: the tests make it fail (ENOSPC), or change the source
    between two chunks, to stand in for a full disk or a file changing under the copy."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _copy(src: int, dst: int, src_label: str, dst_label: str) -> None:
    while True:
        try:
            chunk = _read_chunk(src, CHUNK)
        except OSError as exc:
            raise Failed(f"reading {src_label} failed: {describe_oserror(exc)}; "
                         "nothing was replaced") from exc  # fmt: skip
        if not chunk:
            return
        try:
            _write_chunk(dst, chunk)
        except OSError as exc:
            raise Failed(f"writing {dst_label} failed: {exc.strerror or exc}; "
                         "nothing was replaced") from exc  # fmt: skip


def full_key(st: os.stat_result | None) -> tuple[int, ...] | None:
    """What must not change between the last look and the rename (ctime catches an edit
    that put the size and mtime back)."""
    return None if st is None else (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def leftover(name: str) -> int | None:
    """For a temp file of ours: the pid of the process that wrote it (0 when it is from a
    version that did not record it); None for anything else."""
    m = _LEFTOVER.match(name)
    return None if m is None else int(m.group("pid") or 0)
