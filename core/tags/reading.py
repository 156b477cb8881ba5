"""Read one audio file with mutagen into one normalized, format-independent record.

Every tag family names the same facts differently, and the catalog and the rules want one
vocabulary, so reading a file is a short pipeline: open it safely (:mod:`.files`), let mutagen
parse it and name its format and codec (:mod:`.formats`), flatten each tag block into raw text
and a case-folded lookup (:mod:`.families`), and pick the normalized fields from that lookup
(:mod:`.normalize`).

Reading must never crash a scan: whatever mutagen (or the OS) throws for one file becomes a
:class:`TagReadError` with a short reason (:mod:`.failures` words it), and hostile bytes get
the same treatment as a plainly unknown format.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, cast

import mutagen

from phonovault.core.errors import TagReadError
from phonovault.core.tags.art import ArtInfo, EmbeddedPicture
from phonovault.core.tags.art import summarize as summarize_art
from phonovault.core.tags.failures import PARSER_LEAKS, describe_failure
from phonovault.core.tags.families import main_block, raw_fields, tag_formats, trailer
from phonovault.core.tags.files import (
    IS_DIR,
    NOT_REGULAR,
    WatchedReader,
    describe_oserror,
    open_capped,
)
from phonovault.core.tags.formats import AUDIO_EXTENSIONS, kind, stream_fields
from phonovault.core.tags.normalize import normalize

__all__ = ["AUDIO_EXTENSIONS", "ArtInfo", "TrackInfo", "read_cover", "read_tags"]


@dataclass(frozen=True, slots=True)
class TrackInfo:
    """Everything the catalog stores about one file's stream and tags."""

    format: str  # container/format for people: "FLAC", "MP3", "Ogg Vorbis", "MP4", ...
    codec: str  # "flac", "mp3", "vorbis", "opus", "aac", "alac", "pcm", "drm", ...
    duration: float | None
    sample_rate: int | None
    bit_depth: int | None  # None for lossy codecs, where it means nothing
    channels: int | None
    bitrate: int | None  # bits per second
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    albumartist: str | None = None
    track: int | None = None
    tracktotal: int | None = None
    disc: int | None = None
    disctotal: int | None = None
    date: str | None = None
    genre: str | None = None
    mb_trackid: str | None = None
    mb_albumid: str | None = None
    mb_artistid: str | None = None
    mb_albumartistid: str | None = None
    mb_releasegroupid: str | None = None
    rg_track_gain: float | None = None  # dB
    rg_track_peak: float | None = None
    rg_album_gain: float | None = None
    rg_album_peak: float | None = None
    tag_formats: tuple[str, ...] = ()  # every tag block present, in file order
    # Every key of the main block -> its values as text; other blocks' keys are prefixed
    # ("APEv2:Title", "ID3v1:TIT2") so the conflicting-blocks rule can compare them.
    raw: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    art: ArtInfo = ArtInfo()  # noqa: RUF009 (frozen, so one shared default is safe)


def read_tags(
    path: str | bytes | os.PathLike[str] | os.PathLike[bytes],
    *,
    opener: Callable[..., IO[bytes]] | None = None,
) -> TrackInfo:
    """Read ``path``'s stream info, tags and art; raise :class:`TagReadError` on expected trouble
    (unknown format, corrupt header, unreadable file) so one bad file never stops a scan.

    ``opener(path, "rb")`` opens the file (tests pass one that fails); the default never blocks
    on a FIFO and never lets a header's declared size become an allocation."""
    name = os.fsdecode(path)
    try:
        with (opener or open_capped)(path, "rb") as raw:
            mode = os.fstat(raw.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise TagReadError(name, NOT_REGULAR if not stat.S_ISDIR(mode) else IS_DIR)
            fh = WatchedReader(raw)
            try:
                info = _read(cast(IO[bytes], fh), name)
            except TagReadError:
                if fh.error is None:
                    raise
            if fh.error is not None:  # whatever mutagen made of it, the disk failed
                raise TagReadError(name, describe_oserror(fh.error)) from fh.error
            return info
    except OSError as exc:
        raise TagReadError(name, describe_oserror(exc)) from exc


# What reading a cover may raise on a hostile file, besides OSError.
_COVER_ERRORS: tuple[type[BaseException], ...] = (mutagen.MutagenError, MemoryError, *PARSER_LEAKS)


def read_cover(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> EmbeddedPicture | None:
    """The front cover (picture type 3, else the first picture) with its bytes, for display.

    The catalog keeps only a summary of the art, so the GUI reads the bytes on demand, off the
    UI thread. Raises :class:`TagReadError` like :func:`read_tags`.
    """
    name = os.fsdecode(path)
    try:
        with open_capped(path) as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise TagReadError(name, NOT_REGULAR)
            head = fh.read(16)
            fh.seek(0)
            try:
                f = mutagen.File(fh)
                if f is None:
                    return None
                _, has_ape, _ = trailer(fh)
                main = main_block(f, fh, head, has_ape)
            except _COVER_ERRORS as exc:
                raise TagReadError(name, describe_failure(fh, name, head, exc)) from exc
    except OSError as exc:
        raise TagReadError(name, describe_oserror(exc)) from exc
    pictures = main.pictures if main else []
    return next((p for p in pictures if p.type == 3), pictures[0] if pictures else None)


def _read(fh: IO[bytes], name: str) -> TrackInfo:
    head = fh.read(16)
    fh.seek(0)
    f = _parse(fh, name, head)
    has_v1, has_ape, tail = trailer(fh)
    fmt, codec = kind(f)
    main = main_block(f, fh, head, has_ape)
    values = normalize(main) if main else {}
    return TrackInfo(
        format=fmt,
        codec=codec,
        **stream_fields(f.info, codec),
        tag_formats=tag_formats(main, head, has_v1, has_ape),
        raw=raw_fields(main, fh, tail, has_v1, has_ape),
        art=summarize_art(main.pictures if main else []),
        **values,
    )


def _parse(fh: IO[bytes], name: str, head: bytes) -> mutagen.FileType:
    """mutagen's reading of the file, or a :class:`TagReadError` that says why there is none."""
    try:
        f = mutagen.File(fh)
    except MemoryError as exc:
        raise TagReadError(name, "corrupt file: a header claims an impossible size") from exc
    except (mutagen.MutagenError, OSError) as exc:
        # mutagen wraps real I/O failures (EIO, ...) in its own errors; keep errno reachable.
        # A bare IOError without errno is mutagen's way of saying "the data ran out", and
        # EINVAL is a seek before the start of the file that a corrupt size asked for.
        cause = exc.args[0] if isinstance(exc, mutagen.MutagenError) and exc.args else exc
        if isinstance(cause, OSError) and cause.errno not in (None, errno.EINVAL):
            raise TagReadError(name, describe_oserror(cause)) from cause
        raise TagReadError(name, describe_failure(fh, name, head, exc)) from exc
    except PARSER_LEAKS as exc:
        raise TagReadError(name, describe_failure(fh, name, head, exc)) from exc
    if f is None or type(f).__name__ in ("ID3FileType", "APEv2File"):
        raise TagReadError(name, describe_failure(fh, name, head, None))
    return f
