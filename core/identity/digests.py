"""The file hash and the audio hash of one file, from one sequential read (DESIGN.md, "Hashes").

Two hashes let verification tell a tag edit (file hash changed, audio hash kept) from damage to
the music (audio hash changed). Reading a large library is disk-bound, so both hashes (and
SHA-256 when asked for) come from a single pass: a few small seek-and-reads first locate the
audio payload (:mod:`phonovault.core.identity.payload`), then the whole file streams once through a
reused buffer, every chunk going to the file hasher and its payload slices to the audio hasher.

A file whose structure we cannot parse is not an error: its audio hash is its file hash and
``Digests.fallback_reason`` says why. Only ``OSError`` (the caller files EIO/EACCES as
"unreadable") and :class:`HashCancelled` leave :func:`hash_file`.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import blake3

from phonovault.core.identity.parts import IDENTITY_VERSION, Hasher, combine
from phonovault.core.identity.payload import Malformed, PayloadFilter, locate, payload_filter

ALGORITHMS = ("blake3", "sha256")


class HashCancelled(Exception):
    """``should_stop`` asked us to stop; nothing is wrong with the file."""


class BinaryReader(Protocol):
    """What :func:`hash_file` needs from the object its ``opener`` returns (a file opened
    ``"rb"`` qualifies). Tests pass objects that fail on purpose."""

    def read(self, size: int = -1, /) -> bytes: ...

    def readinto(self, buffer: bytearray | memoryview, /) -> int | None: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Digests:
    """What one read of a file tells fixity checking.

    ``audio_method`` names the payload rule that applied ("flac", "stream", "mp4-mdat",
    "riff-data", "aiff-ssnd", "ogg-packets", "dsf-data", "dff-dsd"), or "file" when we fell
    back to hashing every byte, in which case ``fallback_reason`` says why (for the user; a
    fallback is stable, so a later tag edit will simply look like an audio change).

    ``audio_hash`` is the audio identity of version ``audio_version``, made of two halves
    kept for naming where damage is: ``setup_hash`` (the codec set-up) and ``samples_hash``
    (the coded audio; for every format but Ogg this equals the version-1 audio hash, which
    upgrades old baselines). Both are None for a fallback, and when a re-read of unchanged
    bytes took the baseline's identity without computing it (``samples_hash``). ``damage``
    names structural damage the read saw (an Ogg page failing its CRC), else None.
    """

    size: int
    file_hash: str
    audio_hash: str
    algorithm: str
    audio_method: str
    fallback_reason: str | None
    sha256: str | None
    audio_version: int = IDENTITY_VERSION
    setup_hash: str | None = None
    samples_hash: str | None = None
    damage: str | None = None


NOT_REGULAR = "not a regular file (a folder, pipe, socket or device)"


def _open_nonblocking(path: str | bytes, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def open_regular(
    path: str | bytes | os.PathLike[str] | os.PathLike[bytes], mode: str = "rb"
) -> io.BufferedReader:
    """``open(path, "rb")`` that refuses (``OSError``) what is not a regular file instead of
    blocking on it: a FIFO put where a music file was would wait forever for a writer, and
    a link to /dev/zero would be hashed forever. Non-blocking has no effect on regular files.
    """
    fh = open(path, "rb", opener=_open_nonblocking)  # noqa: SIM115 - returned to the caller
    if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
        fh.close()
        raise OSError(errno.EINVAL, NOT_REGULAR)
    return fh


def new_hasher(algorithm: str) -> Hasher:
    """A hasher of ``algorithm`` (one of :data:`ALGORITHMS`)."""
    if algorithm == "blake3":
        # One thread: the scanner already hashes several files at once, and blake3 releases
        # the GIL on large buffers, so extra threads would only contend.
        return blake3.blake3(max_threads=1)
    if algorithm == "sha256":
        return hashlib.sha256()
    raise ValueError(f"unknown hash algorithm {algorithm!r}; expected one of {ALGORITHMS}")


@dataclass(frozen=True, slots=True)
class Expected:
    """The baseline a re-read is compared with: when the file hash comes out the same, the
    audio identity is the baseline's too (every byte is the same), so it need not be
    computed; unless the baseline's identity is of an older version, which this read
    replaces (an upgraded catalog)."""

    file_hash: str
    audio_hash: str
    audio_method: str
    audio_version: int = IDENTITY_VERSION
    setup_hash: str | None = None


def hash_file(
    path: str | bytes | os.PathLike[str] | os.PathLike[bytes],
    *,
    algorithm: str = "blake3",
    with_sha256: bool = False,
    chunk_size: int = 1 << 20,
    opener: Callable[..., BinaryReader] = open_regular,
    on_bytes: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    expect: Expected | None = None,
) -> Digests:
    """Hash ``path`` once for its file hash, audio hash and (``with_sha256``) SHA-256.

    ``on_bytes(n)`` follows each chunk (progress); ``should_stop()`` is asked before each
    chunk and raises :class:`HashCancelled` when it says yes. ``opener(path, "rb")`` opens
    the file. ``OSError`` propagates unchanged; malformed content never raises.

    ``expect`` (a verify's baseline) lets an unchanged file cost one hash instead of two:
    when the file hash comes out as expected, every byte is the baseline's, so the audio
    hash is too. A file that changed is then read a second time (from the page cache, as a
    rule) for both hashes. The result is the same either way; ``on_bytes`` counts one read.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    file_hasher = new_hasher(algorithm)
    sha = _sha256_hasher(algorithm, with_sha256)
    f = opener(path, "rb")
    try:
        size = f.seek(0, os.SEEK_END)
        if expect is not None and _one_hash_will_do(expect):
            f.seek(0)
            read = _stream(f, size, chunk_size, file_hasher, sha, None, on_bytes, should_stop)
            file_hash = file_hasher.hexdigest()
            if file_hash == expect.file_hash:
                sha256 = _sha256_of(sha, file_hash, with_sha256)
                return Digests(read, file_hash, expect.audio_hash, algorithm,
                               expect.audio_method, None, sha256,
                               setup_hash=expect.setup_hash)  # fmt: skip
            file_hasher = new_hasher(algorithm)  # changed: both hashes, from the start
            sha = _sha256_hasher(algorithm, with_sha256)
            on_bytes = None
        filt, reason = _payload(f, size, algorithm)
        f.seek(0)
        read = _stream(f, size, chunk_size, file_hasher, sha, filt, on_bytes, should_stop)
    finally:
        f.close()
    return _digests(read, file_hasher, sha, with_sha256, algorithm, filt, reason)


def _one_hash_will_do(expect: Expected) -> bool:
    """Whether an unchanged file can take the baseline's audio identity: not when the
    baseline fell back to the file hash or is of an older identity version."""
    return expect.audio_method != "file" and expect.audio_version == IDENTITY_VERSION


def _sha256_hasher(algorithm: str, with_sha256: bool) -> Hasher | None:
    """A SHA-256 hasher of its own, when SHA-256 is asked for and the file hash is not one."""
    return hashlib.sha256() if with_sha256 and algorithm != "sha256" else None


def _sha256_of(sha: Hasher | None, file_hash: str, with_sha256: bool) -> str | None:
    if not with_sha256:
        return None
    return sha.hexdigest() if sha is not None else file_hash


def _payload(f: BinaryReader, size: int, algorithm: str) -> tuple[PayloadFilter | None, str | None]:
    """The filter that hands the payload's slices to the audio hashers, from a few small
    seek-and-reads; or None and why, when the structure does not parse."""
    try:
        return payload_filter(locate(f, size), partial(new_hasher, algorithm)), None
    except Malformed as exc:
        return None, exc.reason


def _digests(
    read: int, file_hasher: Hasher, sha: Hasher | None, with_sha256: bool, algorithm: str,
    filt: PayloadFilter | None, reason: str | None,
) -> Digests:  # fmt: skip
    """The digests of a full pass: the audio identity from the payload's parts, or the file
    hash when the structure did not parse or the payload ended wrong (``reason`` says why)."""
    if filt is not None:
        reason = filt.finish()
    file_hash = file_hasher.hexdigest()
    sha256 = _sha256_of(sha, file_hash, with_sha256)
    if filt is None or reason is not None:
        return Digests(read, file_hash, file_hash, algorithm, "file", reason, sha256)
    parts = filt.parts()
    return Digests(
        size=read,
        file_hash=file_hash,
        audio_hash=combine(parts, partial(new_hasher, algorithm)),
        algorithm=algorithm,
        audio_method=filt.method,
        fallback_reason=None,
        sha256=sha256,
        setup_hash=parts.setup,
        samples_hash=parts.samples,
        damage=parts.damage,
    )


def _stream(
    f: BinaryReader,
    size: int,
    chunk_size: int,
    file_hasher: Hasher,
    sha: Hasher | None,
    filt: PayloadFilter | None,
    on_bytes: Callable[[int], None] | None,
    should_stop: Callable[[], bool] | None,
) -> int:
    """The one sequential pass: ``readinto`` a reused buffer and hand out memoryview slices,
    so no byte is copied on its way to the hashers. Returns the number of bytes read.

    It stops at ``size``, the length the file had when it was opened: a file written faster
    than it is read (a recording in progress) would otherwise never reach its end. The
    caller compares the count with the file's size afterwards and sees the change."""
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    offset = 0
    while offset < size:
        if should_stop is not None and should_stop():
            raise HashCancelled(f"stopped after {offset} bytes")
        n = f.readinto(view[: min(chunk_size, size - offset)])
        if not n:
            return offset
        chunk = view[:n]
        file_hasher.update(chunk)
        if sha is not None:
            sha.update(chunk)
        if filt is not None:
            filt.feed(offset, chunk)
        offset += n
        if on_bytes is not None:
            on_bytes(n)
    return offset
