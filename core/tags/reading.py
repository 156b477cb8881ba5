"""Read one audio file with mutagen into one normalized, format-independent record.

Every tag family names the same facts differently (Vorbis ``TRACKNUMBER=3/12``, ID3 ``TRCK``,
MP4 ``trkn`` tuples, APEv2 ``Track``, ASF ``WM/TrackNumber``). The catalog and the rules want one
vocabulary, so each family is first flattened into ``raw`` (every key, every value, as text) and
a case-folded lookup, and the normalized fields are then picked from that lookup with a
per-family key table (names follow beets' MediaFile and Picard, so files tagged by either read
back the way their users expect).

Reading must never crash a scan: whatever mutagen (or the OS) throws for one file becomes a
:class:`TagReadError` with a short reason, and hostile bytes get the same treatment as a
plainly unknown format.
"""

from __future__ import annotations

import base64
import errno
import io
import math
import os
import re
import stat
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar, cast

import mutagen
from mutagen._vorbis import VComment
from mutagen.apev2 import APEv2
from mutagen.asf import ASFTags
from mutagen.flac import FLAC, Picture
from mutagen.id3 import APIC, ID3, RVA2, TCON, UFID, ParseID3v1, TextFrame, UrlFrame
from mutagen.mp4 import MP4Cover, MP4Tags

from phonovault.core.errors import TagReadError
from phonovault.core.tags.art import ArtInfo, EmbeddedPicture, parse_wm_picture, split_ape_cover
from phonovault.core.tags.art import summarize as summarize_art

__all__ = ["AUDIO_EXTENSIONS", "ArtInfo", "TrackInfo", "read_tags"]


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


# suffix -> format name, for every format mutagen reads and we catalog. .m4p (FairPlay DRM),
# video (.m4v, .ogv, .wmv) and MIDI (nothing to decode-check) are deliberately absent.
_SUFFIX_FORMATS: dict[str, str] = {
    ".flac": "FLAC", ".mp3": "MP3", ".mp2": "MP2", ".mp1": "MP1", ".ogg": "Ogg Vorbis",
    ".oga": "Ogg Vorbis", ".opus": "Opus", ".spx": "Speex", ".m4a": "MP4", ".m4b": "MP4",
    ".mp4": "MP4", ".m4r": "MP4", ".3gp": "MP4", ".aac": "AAC (ADTS)", ".adts": "AAC (ADTS)",
    ".wav": "WAV", ".aif": "AIFF", ".aiff": "AIFF", ".aifc": "AIFF", ".wv": "WavPack",
    ".ape": "APE", ".mpc": "Musepack", ".mp+": "Musepack", ".mpp": "Musepack", ".dsf": "DSF",
    ".dff": "DFF", ".wma": "WMA", ".asf": "WMA", ".tta": "TrueAudio", ".ofr": "OptimFROG",
    ".ofs": "OptimFROG", ".tak": "TAK", ".ac3": "AC-3", ".eac3": "E-AC-3",
}  # fmt: skip
AUDIO_EXTENSIONS: frozenset[str] = frozenset(_SUFFIX_FORMATS)

# mutagen class name -> (format, codec); MP4, ASF, MP3, WAVE, AC3 and DSDIFF refine the codec.
_KINDS: dict[str, tuple[str, str]] = {
    "FLAC": ("FLAC", "flac"), "MP3": ("MP3", "mp3"), "OggVorbis": ("Ogg Vorbis", "vorbis"),
    "OggOpus": ("Opus", "opus"), "OggFLAC": ("Ogg FLAC", "flac"), "OggSpeex": ("Speex", "speex"),
    "OggTheora": ("Ogg Theora", "theora"), "MP4": ("MP4", "aac"), "WAVE": ("WAV", "pcm"),
    "AIFF": ("AIFF", "pcm"), "WavPack": ("WavPack", "wavpack"), "MonkeysAudio": ("APE", "ape"),
    "Musepack": ("Musepack", "musepack"), "DSF": ("DSF", "dsd"), "DSDIFF": ("DFF", "dsd"),
    "ASF": ("WMA", "wma"), "TrueAudio": ("TrueAudio", "tta"), "TAK": ("TAK", "tak"),
    "OptimFROG": ("OptimFROG", "optimfrog"), "AAC": ("AAC (ADTS)", "aac"),
    "AC3": ("AC-3", "ac3"), "SMF": ("MIDI", "midi"),
}  # fmt: skip
_LOSSY = frozenset({"mp1", "mp2", "mp3", "aac", "vorbis", "opus", "speex", "wma", "wmapro",
                    "wmavoice", "musepack", "ac3", "eac3", "drm"})  # fmt: skip
_MP4_CODECS = {"alac": "alac", "ac-3": "ac3", "ec-3": "eac3", "flac": "flac", "opus": "opus",
               "mp4a.69": "mp3", "mp4a.6b": "mp3",
               "drms": "drm", "drmi": "drm", "enca": "drm"}  # fmt: skip
_WAV_CODECS = {1: "pcm", 3: "pcm", 0xFFFE: "pcm", 2: "adpcm", 0x11: "adpcm", 6: "alaw",
               7: "mulaw", 0x55: "mp3", 0x50: "mp2"}  # fmt: skip

# What mutagen's parsers are known to let escape on hostile input besides MutagenError.
_PARSER_LEAKS: tuple[type[Exception], ...] = (
    struct.error, ValueError, IndexError, KeyError, EOFError, OverflowError, TypeError,
    ZeroDivisionError, AssertionError, AttributeError, RecursionError,
)  # fmt: skip

_ANY_PARSE_FAILURE: tuple[type[BaseException], ...] = (mutagen.MutagenError, MemoryError,
                                                     *_PARSER_LEAKS)  # fmt: skip
_T = TypeVar("_T")

_MB = "musicbrainz_"
_ITUNES = "----:com.apple.itunes:"
# Per tag family: normalized field -> lookup keys (case-folded), best first. Vorbis comments and
# APEv2 share one table: their names overlap and both are case-insensitive.
_TEXTLIKE: dict[str, tuple[str, ...]] = {
    "title": ("title",), "artist": ("artist",), "album": ("album",),
    "albumartist": ("albumartist", "album artist", "album_artist"),
    "track": ("tracknumber", "track"), "tracktotal": ("tracktotal", "totaltracks", "trackc"),
    "disc": ("discnumber", "disc"), "disctotal": ("disctotal", "totaldiscs", "discc"),
    "date": ("date", "year"), "genre": ("genre",),
    "mb_trackid": (_MB + "trackid",), "mb_albumid": (_MB + "albumid",),
    "mb_artistid": (_MB + "artistid",), "mb_albumartistid": (_MB + "albumartistid",),
    "mb_releasegroupid": (_MB + "releasegroupid",),
}  # fmt: skip
_ID3: dict[str, tuple[str, ...]] = {
    "title": ("tit2",), "artist": ("tpe1",), "album": ("talb",),
    "albumartist": ("tpe2", "txxx:albumartist", "txxx:album artist"),
    "track": ("trck",), "tracktotal": ("txxx:tracktotal", "txxx:totaltracks"),
    "disc": ("tpos",), "disctotal": ("txxx:disctotal", "txxx:totaldiscs"),
    "date": ("tdrc", "tyer", "tdrl"), "genre": ("tcon",),
    "mb_trackid": ("ufid:http://musicbrainz.org", "txxx:musicbrainz track id"),
    "mb_albumid": ("txxx:musicbrainz album id",), "mb_artistid": ("txxx:musicbrainz artist id",),
    "mb_albumartistid": ("txxx:musicbrainz album artist id",),
    "mb_releasegroupid": ("txxx:musicbrainz release group id",),
}  # fmt: skip
_MP4: dict[str, tuple[str, ...]] = {
    "title": ("\xa9nam",), "artist": ("\xa9art",), "album": ("\xa9alb",),
    "albumartist": ("aart",), "track": ("trkn",), "disc": ("disk",), "date": ("\xa9day",),
    "genre": ("\xa9gen",),
    "mb_trackid": (_ITUNES + "musicbrainz track id",),
    "mb_albumid": (_ITUNES + "musicbrainz album id",),
    "mb_artistid": (_ITUNES + "musicbrainz artist id",),
    "mb_albumartistid": (_ITUNES + "musicbrainz album artist id",),
    "mb_releasegroupid": (_ITUNES + "musicbrainz release group id",),
}  # fmt: skip
_ASF: dict[str, tuple[str, ...]] = {
    "title": ("title",), "artist": ("author",), "album": ("wm/albumtitle",),
    "albumartist": ("wm/albumartist",), "track": ("wm/tracknumber", "wm/track+1"),
    "tracktotal": ("totaltracks", "wm/totaltracks"), "disc": ("wm/partofset",),
    "disctotal": ("totaldiscs", "wm/totaldiscs"), "date": ("wm/year",), "genre": ("wm/genre",),
    "mb_trackid": ("musicbrainz/track id",), "mb_albumid": ("musicbrainz/album id",),
    "mb_artistid": ("musicbrainz/artist id",),
    "mb_albumartistid": ("musicbrainz/album artist id",),
    "mb_releasegroupid": ("musicbrainz/release group id",),
}  # fmt: skip
# ReplayGain keys are the same words everywhere, behind a family-specific prefix.
_RG_FIELDS = ("rg_track_gain", "rg_track_peak", "rg_album_gain", "rg_album_peak")
_RG_PREFIX = {"vorbis": "", "apev2": "", "id3": "txxx:", "mp4": _ITUNES, "asf": ""}
_TABLES = {"vorbis": _TEXTLIKE, "apev2": _TEXTLIKE, "id3": _ID3, "mp4": _MP4, "asf": _ASF}
_TEXT_FIELDS = ("title", "artist", "album", "albumartist", "date", "genre", "mb_trackid",
                "mb_albumid", "mb_artistid", "mb_albumartistid", "mb_releasegroupid")  # fmt: skip

_NUMBER_PAIR = re.compile(r"\s*([0-9]+)?\s*(?:/\s*([0-9]+)?\s*)?", re.ASCII)
_DECIBELS = re.compile(r"\s*([+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+))\s*(?:db)?\s*", re.I)
_MAX_DIGITS = 5  # longer track/disc numbers are junk (and could overflow SQLite)
_MAX_INT = 2**62  # stream values beyond this come from hostile headers
_PICTURE_KEYS = ("metadata_block_picture", "coverart")
_IS_DIR = "is a directory, not a file"
_NOT_REGULAR = "not a regular file (a pipe, socket or device)"


@dataclass(slots=True)
class _Block:
    """One tag block flattened: raw (original keys), lookup (folded keys) and its pictures."""

    family: str
    label: str = ""  # its name in tag_formats ("vorbis", "id3v2.3", ...); "" if absent
    raw: dict[str, list[str]] = field(default_factory=dict)
    lookup: dict[str, list[str]] = field(default_factory=dict)
    pictures: list[EmbeddedPicture] = field(default_factory=list)

    def add(self, key: str, values: Iterable[str], lookup: Iterable[str] | None = None) -> None:
        key, values = _clean(key), [_clean(v) for v in values]
        if values:
            self.raw.setdefault(self._raw_key(key), []).extend(values)
        folded = [_clean(v) for v in lookup] if lookup is not None else values
        self.lookup.setdefault(key.lower(), []).extend(folded)

    def _raw_key(self, key: str) -> str:
        if self.family in ("vorbis", "apev2"):  # case-insensitive: merge "Title" and "TITLE"
            return next((k for k in self.raw if k.lower() == key.lower()), key)
        return key


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
        with (opener or _open)(path, "rb") as raw:
            mode = os.fstat(raw.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise TagReadError(name, _NOT_REGULAR if not stat.S_ISDIR(mode) else _IS_DIR)
            fh = _Watched(raw)
            try:
                info = _read(cast(IO[bytes], fh), name)
            except TagReadError:
                if fh.error is None:
                    raise
            if fh.error is not None:  # whatever mutagen made of it, the disk failed
                raise TagReadError(name, _describe_oserror(fh.error)) from fh.error
            return info
    except OSError as exc:
        raise TagReadError(name, _describe_oserror(exc)) from exc


# What reading a cover may raise on a hostile file, besides OSError.
_COVER_ERRORS: tuple[type[BaseException], ...] = (mutagen.MutagenError, MemoryError, *_PARSER_LEAKS)


def read_cover(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> EmbeddedPicture | None:
    """The front cover (picture type 3, else the first picture) with its bytes, for display.

    The catalog keeps only a summary of the art, so the GUI reads the bytes on demand, off the
    UI thread. Raises :class:`TagReadError` like :func:`read_tags`.
    """
    name = os.fsdecode(path)
    try:
        with _open(path) as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise TagReadError(name, _NOT_REGULAR)
            head = fh.read(16)
            fh.seek(0)
            try:
                f = mutagen.File(fh)
                if f is None:
                    return None
                _, has_ape, _ = _trailer(fh)
                main = _main_block(f, fh, head, has_ape)
            except _COVER_ERRORS as exc:
                raise TagReadError(name, _describe_failure(fh, name, head, exc)) from exc
    except OSError as exc:
        raise TagReadError(name, _describe_oserror(exc)) from exc
    pictures = main.pictures if main else []
    return next((p for p in pictures if p.type == 3), pictures[0] if pictures else None)


def _open_nonblocking(path: str | bytes, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


class _Watched:
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


# Reads up to this size are passed through untouched (the common case: headers, frames).
_SMALL_READ = 1 << 16


class _CappedReader(io.BufferedReader):
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


def _open(
    path: str | bytes | os.PathLike[str] | os.PathLike[bytes], mode: str = "rb"
) -> _CappedReader:
    # Non-blocking open: a FIFO named "x.flac" must not hang the scan (it has no effect on
    # regular files); callers refuse anything but a regular file before mutagen sees it.
    raw = open(os.fspath(path), "rb", buffering=0, opener=_open_nonblocking)  # noqa: SIM115
    try:
        return _CappedReader(raw)
    except BaseException:
        raw.close()
        raise


def _describe_oserror(exc: OSError) -> str:
    """A short reason for an OS failure; ``errno`` stays on the exception for the caller."""
    reasons = {
        errno.ENOENT: "file not found (deleted or moved?)",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EIO: "input/output error while reading (a warning sign of a failing disk)",
        errno.EISDIR: _IS_DIR,
    }
    return reasons.get(exc.errno or 0) or f"cannot read the file: {exc.strerror or exc}"


def _read(fh: IO[bytes], name: str) -> TrackInfo:
    head = fh.read(16)
    fh.seek(0)
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
            raise TagReadError(name, _describe_oserror(cause)) from cause
        raise TagReadError(name, _describe_failure(fh, name, head, exc)) from exc
    except _PARSER_LEAKS as exc:
        raise TagReadError(name, _describe_failure(fh, name, head, exc)) from exc
    if f is None or type(f).__name__ in ("ID3FileType", "APEv2File"):
        raise TagReadError(name, _describe_failure(fh, name, head, None))
    has_v1, has_ape, tail = _trailer(fh)
    fmt, codec = _kind(f)
    info = f.info
    main = _main_block(f, fh, head, has_ape)
    values = _normalize(main) if main else {}
    rate = 48000 if codec == "opus" else _int(getattr(info, "sample_rate", None))
    return TrackInfo(
        format=fmt,
        codec=codec,
        duration=_duration(getattr(info, "length", None)),
        sample_rate=rate,
        bit_depth=None if codec in _LOSSY else _int(getattr(info, "bits_per_sample", None)),
        channels=_int(getattr(info, "channels", None)),
        bitrate=_int(getattr(info, "bitrate", None)),
        tag_formats=_tag_formats(main, head, has_v1, has_ape),
        raw=_raw(main, fh, tail, has_v1, has_ape),
        art=summarize_art(main.pictures if main else []),
        **values,
    )


def _kind(f: mutagen.FileType) -> tuple[str, str]:
    cls = type(f).__name__
    fmt, codec = _KINDS.get(cls, (cls, cls.lower()))
    info: Any = f.info
    if cls == "MP4":
        raw = str(getattr(info, "codec", "") or "").lower()
        codec = "aac" if raw.startswith("mp4a.40") else _MP4_CODECS.get(raw, raw or "unknown")
    elif cls == "MP3" and getattr(info, "layer", 3) in (1, 2):
        fmt, codec = f"MP{info.layer}", f"mp{info.layer}"
    elif cls == "WAVE":
        tag = getattr(info, "audio_format", 1)
        codec = _WAV_CODECS.get(tag, f"wav-0x{tag:04x}")
    elif cls == "AC3" and getattr(info, "codec", "") == "ec-3":
        fmt, codec = "E-AC-3", "eac3"
    elif cls == "DSDIFF" and getattr(info, "compression", "DSD") == "DST":
        codec = "dst"
    elif cls == "ASF":
        words = str(getattr(info, "codec_name", "")).lower()
        codec = next((c for w, c in (("lossless", "wmalossless"), ("pro", "wmapro"),
                                     ("voice", "wmavoice")) if w in words), "wma")  # fmt: skip
    return fmt, codec


def _trailer(fh: IO[bytes]) -> tuple[bool, bool, bytes]:
    """(ID3v1 present, APEv2 present, last 160 bytes): both blocks sit at the file's end, so
    one small read answers what a second parse of the whole file would."""
    size = fh.seek(0, os.SEEK_END)
    fh.seek(max(0, size - 160))
    tail = fh.read(160)
    has_v1 = len(tail) >= 128 and tail[-128:-125] == b"TAG"
    footer = tail[-160:-152] if has_v1 else tail[-32:-24]
    return has_v1, footer == b"APETAGEX", tail


def _main_block(f: mutagen.FileType, fh: IO[bytes], head: bytes, has_ape: bool) -> _Block | None:
    """The file's native tag block; a foreign one (leading ID3, trailing APEv2) only when the
    format has no native block of its own, as players do for ADTS AAC, TTA or MP3+APE."""
    tags: Any = f.tags
    if tags is None and head.startswith(b"ID3"):
        tags = _try(ID3, fh)
    if tags is None and has_ape:
        tags = _try(APEv2, fh)
    block: _Block | None = None
    if isinstance(tags, VComment):
        block = _vorbis(tags)
    elif isinstance(tags, ID3):
        block = _id3(tags)
    elif isinstance(tags, MP4Tags):
        block = _mp4(tags)
    elif isinstance(tags, APEv2):
        block = _apev2(tags)
    elif isinstance(tags, ASFTags):
        block = _asf(tags)
    if isinstance(f, FLAC):
        block = block or _Block("vorbis")
        block.pictures[:0] = [_flac_picture(p) for p in f.pictures]
    return block


def _try(parse: Callable[..., _T], *args: Any) -> _T | None:
    """A secondary parse (a picture, a foreign tag block) whose failure only loses that part."""
    try:
        return parse(*args)
    except _ANY_PARSE_FAILURE:
        return None


def _vorbis(tags: VComment) -> _Block:
    block = _Block("vorbis", "vorbis")
    for key, value in tags:
        if key.lower() not in _PICTURE_KEYS:
            block.add(key, [value])
            continue
        picture = _try(_vorbis_picture, key, value)
        size = len(picture.data) if picture else len(value) * 3 // 4
        block.add(key, [_binary(size)])
        if picture is not None:
            block.pictures.append(picture)
    return block


def _vorbis_picture(key: str, value: str) -> EmbeddedPicture:
    data = base64.b64decode(value.encode("ascii"))
    if key.lower() == "coverart":  # legacy: base64 of the bare image
        return EmbeddedPicture(data)
    return _flac_picture(Picture(data))


def _flac_picture(p: Picture) -> EmbeddedPicture:
    return EmbeddedPicture(p.data, int(p.type), p.mime or None, p.width, p.height)


def _id3(tags: ID3) -> _Block:
    v2 = tags.version >= (2, 0, 0)
    block = _Block("id3", f"id3v2.{tags.version[1]}" if v2 else "id3v1")
    for frame in tags.values():
        _id3_frame(block, frame)
    return block


def _id3_frame(block: _Block, frame: Any) -> None:
    # ``frame`` is Any on purpose: mutagen declares frame attributes through specs mypy cannot
    # see, and isinstance() would narrow to classes that seem to lack them.
    key: str = frame.HashKey
    kind = next((c for c in (APIC, TCON, TextFrame, UrlFrame, UFID, RVA2) if isinstance(frame, c)),
                None)  # fmt: skip
    if kind is APIC:
        block.pictures.append(EmbeddedPicture(frame.data, int(frame.type), frame.mime))
        block.add(key, [_binary(len(frame.data))])
    elif kind is TCON:  # the lookup gets mutagen's reading of ID3v1 numbers: "(17)" -> "Rock"
        block.add(key, [str(t) for t in frame.text], lookup=frame.genres)
    elif kind is TextFrame:
        block.add(key, [str(t) for t in frame.text])
    elif kind is UrlFrame:
        block.add(key, [frame.url])
    elif kind is UFID:
        block.add(key, [_bytes_text(frame.data)])
    elif kind is RVA2 and frame.channel == 1:  # master volume: ReplayGain before TXXX
        block.add(key, [str(frame)])
        block.add(f"rva2:{frame.desc.lower()}_gain", [], [str(frame.gain)])
        block.add(f"rva2:{frame.desc.lower()}_peak", [], [str(frame.peak)])
    elif isinstance(getattr(frame, "data", None), bytes):
        block.add(key, [_binary(len(frame.data))])
    else:  # COMM, USLT, TIPL, POPM, ...: mutagen's own one-line rendering
        block.add(key, [frame.pprint().partition("=")[2]])


def _mp4(tags: MP4Tags) -> _Block:
    block = _Block("mp4", "mp4")
    for key, values in tags.items():
        values = values if isinstance(values, list) else [values]
        if key in ("trkn", "disk"):
            pairs = [(n, t) for n, t in values]
            block.add(
                key,
                [f"{n}/{t}" for n, t in pairs],
                lookup=[f"{n or ''}/{t or ''}" for n, t in pairs],
            )  # 0 means unset here
            continue
        texts = []
        for value in values:
            if isinstance(value, MP4Cover):
                block.pictures.append(EmbeddedPicture(bytes(value)))
                texts.append(_binary(len(value)))
            elif isinstance(value, bytes):  # freeform "----" atoms: usually UTF-8 text
                texts.append(_bytes_text(value))
            elif isinstance(value, bool):
                texts.append(str(int(value)))
            else:
                texts.append(str(value))
        block.add(key, texts)
    return block


def _apev2(tags: APEv2) -> _Block:
    block = _Block("apev2", "apev2")
    for key, value in tags.items():
        if isinstance(value.value, bytes):  # binary item
            if key.lower().startswith("cover art"):
                picture = split_ape_cover(value.value)
                front = 3 if key.lower() == "cover art (front)" else None
                block.pictures.append(EmbeddedPicture(picture, front))
            block.add(key, [_binary(len(value.value))])
        else:
            block.add(key, str(value.value).split("\0"))
    return block


def _asf(tags: ASFTags) -> _Block:
    block = _Block("asf", "asf")
    for key, attr in tags:
        value = attr.value
        if key == "WM/Picture" and isinstance(value, bytes):
            picture = _try(parse_wm_picture, value)
            if picture is not None:
                block.pictures.append(picture)
        if isinstance(value, bytes):
            block.add(key, [_binary(len(value))])
        elif key == "WM/Track" and isinstance(value, int):  # legacy and zero-based
            block.add(key, [str(value)], lookup=[])
            block.lookup.setdefault("wm/track+1", []).append(str(value + 1))
        else:
            block.add(key, [str(int(value) if isinstance(value, bool) else value)])
    return block


def _normalize(block: _Block) -> dict[str, Any]:
    """The normalized fields from a block's lookup, per the family's key table."""
    table = _TABLES[block.family]
    get = block.lookup.get
    out: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        out[name] = _first(v for key in table[name] for v in get(key, ()))
    for number, total in (("track", "tracktotal"), ("disc", "disctotal")):
        n, slash_total = _number_pair(_first(v for k in table[number] for v in get(k, ())))
        explicit = _first(v for k in table.get(total, ()) for v in get(k, ()))
        out[number] = n
        out[total] = _number_pair(explicit)[0] if explicit else slash_total
    prefix = _RG_PREFIX[block.family]
    for name in _RG_FIELDS:  # ID3's RVA2 frames are the pre-TXXX way to store the same
        text = _first([*get(prefix + "replaygain" + name[2:], ()), *get("rva2:" + name[3:], ())])
        out[name] = _decibels(text)
    return out


def _raw(
    main: _Block | None, fh: IO[bytes], tail: bytes, has_v1: bool, has_ape: bool
) -> dict[str, tuple[str, ...]]:
    out = {k: tuple(v) for k, v in main.raw.items()} if main else {}
    if has_ape and (main is None or main.family != "apev2"):
        ape = _try(APEv2, fh)
        if ape is not None:
            out.update((f"APEv2:{k}", tuple(v)) for k, v in _apev2(ape).raw.items())
    v1_is_main = main is not None and main.label == "id3v1"
    if has_v1 and not v1_is_main:
        frames = _try(ParseID3v1, tail[-128:])
        for key, frame in (frames or {}).items():
            out[f"ID3v1:{key}"] = tuple(_clean(str(t)) for t in frame.text)
    return out


def _tag_formats(main: _Block | None, head: bytes, has_v1: bool, has_ape: bool) -> tuple[str, ...]:
    found: list[str] = []
    if head.startswith(b"ID3") and head[3] in (2, 3, 4):  # leading ID3v2, whoever reads it
        found.append(f"id3v2.{head[3]}")
    if main is not None and main.label:
        found.append(main.label)
    if has_ape:
        found.append("apev2")
    if has_v1:
        found.append("id3v1")
    return tuple(dict.fromkeys(found))  # in file order, each once


def _describe_failure(fh: IO[bytes], name: str, head: bytes, exc: BaseException | None) -> str:
    """Plain words for why mutagen gave up, with a hint when the suffix lies about the content."""
    try:
        empty = os.fstat(fh.fileno()).st_size == 0
    except OSError:
        empty = False
    if empty:
        return "file is empty"
    expected = _SUFFIX_FORMATS.get(os.path.splitext(name)[1].lower())
    actual = _sniff(head)
    if actual and expected and actual != _CONTAINERS.get(expected, expected):
        return f"not a valid {expected} file: the content looks like {actual} (wrong extension?)"
    if exc is None:
        return "not a recognised audio file"
    return f"truncated or corrupt {expected or 'audio'} file ({_failure_detail(exc, name)})"


# What Python's own errors mean when a parser meets hostile bytes, in words for people;
# the first matching class wins (UnicodeDecodeError is a ValueError, RecursionError a
# RuntimeError).
_LEAK_WORDS: tuple[tuple[type[BaseException], str], ...] = (
    (RecursionError, "its structure is nested too deeply"),
    (MemoryError, "a header claims an impossible size"),
    (OverflowError, "a size or position field is impossibly large"),
    (ZeroDivisionError, "a header field that must not be zero is zero"),
    (UnicodeError, "a field that should be text holds binary data"),
    (struct.error, "the data ends too early"),
    (EOFError, "the data ends too early"),
)
# A parser message that is not plain words: a bytes repr, an escape, a control character.
_NOT_WORDS = re.compile(r"""b'|b"|\\|[^\x20-\x7e]""")
_CLASS_NAME = re.compile(r"\b[A-Za-z]*(Error|Exception|Chunk)\b|^error$")


def _failure_detail(exc: BaseException, name: str) -> str:
    """A short phrase for why a parser gave up: mutagen's message when it is plain words,
    else what the Python error means; never a repr, a class name or a traceback."""
    cause = exc.args[0] if isinstance(exc, mutagen.MutagenError) and exc.args else exc
    if isinstance(cause, OSError):
        if cause.errno == errno.EINVAL:
            return "a header points outside the file"
        if cause.errno is None:  # mutagen's bare IOError: the data ran out
            return "the data ends too early"
    if isinstance(cause, BaseException) and not isinstance(cause, mutagen.MutagenError):
        for kind, words in _LEAK_WORDS:
            if isinstance(cause, kind):
                return words
    # Only mutagen's own messages are meant to be read; Python's ("list index out of
    # range") describe our parser, not the file. Of those, keep the leading clauses that
    # are plain words: "unable to read full header; got b'OggS..." -> "unable to read
    # full header"; "'Title\\x02T' is not a valid APEv2 key" has none.
    if isinstance(exc, mutagen.MutagenError | OSError):
        text = str(cause).replace(name, "")
        clauses = re.split(r"(?<=[;,]) ", text)
        clean = "".join(c + " " for c in clauses[: _first_unclean(clauses)]).strip(" ;,:")
        if len(clean) >= 4 and " " in clean and not _CLASS_NAME.search(clean):
            return clean[:120]
    return "its structure is inconsistent"


def _first_unclean(clauses: list[str]) -> int:
    return next((i for i, c in enumerate(clauses) if _NOT_WORDS.search(c)), len(clauses))


# What _sniff() calls the formats that share a container or a frame syncword.
_CONTAINERS = {"Ogg Vorbis": "Ogg", "Opus": "Ogg", "Speex": "Ogg", "MP2": "MP3", "MP1": "MP3",
               "E-AC-3": "AC-3"}  # fmt: skip
_MAGIC = ((b"fLaC", "FLAC"), (b"OggS", "Ogg"), (b"ID3", "MP3"), (b"wvpk", "WavPack"),
          (b"\x0b\x77", "AC-3"), (b"MAC ", "APE"), (b"MPCK", "Musepack"), (b"MP+", "Musepack"),
          (b"DSD ", "DSF"), (b"FRM8", "DFF"), (b"TTA1", "TrueAudio"), (b"OFR ", "OptimFROG"),
          (b"tBaK", "TAK"), (b"FORM", "AIFF"),
          (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "WMA"))  # fmt: skip


def _sniff(head: bytes) -> str | None:
    """Name the format the first bytes belong to, for error messages only."""
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    if head[:4] == b"RIFF":
        return "WAV" if head[8:12] == b"WAVE" else None
    if head[4:8] == b"ftyp":
        return "MP4"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "AAC (ADTS)" if head[1] & 0x06 == 0 else "MP3"
    return None


def _clean(text: str) -> str:
    """Text that survives UTF-8 (JSON, SQLite): lone surrogates from broken UTF-16 become U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _binary(size: int) -> str:
    return f"<binary {size} bytes>"


def _bytes_text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _binary(len(data))


def _first(values: Iterable[str]) -> str | None:
    """The first value that is not empty (or a placeholder for binary data)."""
    return next((v for v in values if v.strip() and not v.startswith("<binary ")), None)


def _number_pair(text: str | None) -> tuple[int | None, int | None]:
    """Read "3/12" as (3, 12), "3" as (3, None), and junk such as "A1" or "" as (None, None)."""
    match = _NUMBER_PAIR.fullmatch(text or "")
    if not match:
        return None, None
    # Length first: int() refuses digit strings over 4,300 characters with a ValueError.
    n, total = (int(g) if g and len(g) <= _MAX_DIGITS else None for g in match.groups())
    return n, total or None


def _decibels(text: str | None) -> float | None:
    match = _DECIBELS.fullmatch(text or "")
    value = float(match.group(1).replace(",", ".")) if match else math.nan
    return value if math.isfinite(value) else None  # "1" * 400 parses as inf


def _int(value: object) -> int | None:
    if isinstance(value, int | float) and 0 < value < _MAX_INT and math.isfinite(value):
        return int(value)
    return None


def _duration(value: object) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value) and value >= 0:
        return float(value)
    return None
