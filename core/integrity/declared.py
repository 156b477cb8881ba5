"""What an audio file declares about itself: its duration, its FLAC MD5, whether it ends.

A decode check (:mod:`phonovault.core.integrity.checks`) holds the decoder's output to these
promises,
so they are read without FFmpeg: mutagen for the headers, and a few small parsers for what
mutagen does not say (an MP3's Xing/Info/VBRI frame count as opposed to an estimate from the
file size; an Ogg file's end-of-stream page; an MP4 atom running past the end of the file).
Durations come only from headers that count samples or frames; where a format's length is an
estimate (a CBR MP3 without a Xing header, APE, Musepack, ...) nothing is declared.
"""

from __future__ import annotations

import errno
import struct
from dataclasses import dataclass
from typing import IO, Any

import mutagen
from mutagen.aiff import AIFF
from mutagen.flac import FLAC
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.ogg import OggFileType
from mutagen.wave import WAVE
from mutagen.wavpack import WavPack

__all__ = ["Declared", "read_declared"]

_MAX_WAV_DATA = 0xFFFF0000  # a WAV data size near 2**32 is a "still recording" placeholder
_MAX_OGG_PAGE = 27 + 255 + 255 * 255
_MAX_ATOMS = 10_000
# A seek a hostile header computes (before the start, past 2**63) fails with these: garbage,
# not an unreadable file.
_NOT_IO_ERRORS = (errno.EINVAL, errno.EOVERFLOW)


@dataclass(frozen=True, slots=True)
class Declared:
    """What the file's own structure promises, read without FFmpeg."""

    seconds: float | None = None  # declared duration
    exact: bool = False  # declared in samples by a lossless format: no codec delay to forgive
    md5: bytes | None = None  # FLAC STREAMINFO MD5 (None: not FLAC)
    bits: int = 0  # FLAC bits per sample
    cut_short: str | None = None  # the structure itself shows the end is missing


def read_declared(fh: IO[bytes], size: int) -> Declared:
    """mutagen's reading of the header, plus Ogg's end-of-stream flag and MP4's atom sizes.
    A header that does not parse just means less to compare with; only OSError escapes."""
    head = fh.read(8)
    cut_short = None
    if head[:4] == b"OggS":
        cut_short = _ogg_cut_short(fh, size)
    elif head[4:8] == b"ftyp":
        cut_short = _mp4_cut_short(fh, size)
    fh.seek(0)
    try:
        f = mutagen.File(fh)
    except Exception as exc:  # mutagen lets assorted parser errors escape on hostile input
        cause = exc.args[0] if isinstance(exc, mutagen.MutagenError) and exc.args else exc
        if isinstance(cause, OSError) and cause.errno not in (None, *_NOT_IO_ERRORS):
            # The disk failed us (EIO, EACCES): the caller decides what that means.
            raise cause from (None if cause is exc else exc)
        f = None
    return _declared(fh, f, cut_short)


def _declared(fh: IO[bytes], f: Any, cut_short: str | None) -> Declared:
    if f is None:
        return Declared(cut_short=cut_short)
    info: Any = f.info
    if isinstance(f, FLAC):
        rate, total = info.sample_rate, info.total_samples
        return Declared(
            seconds=total / rate if rate and total else None,
            exact=True,
            md5=int(info.md5_signature).to_bytes(16, "big"),
            bits=int(info.bits_per_sample),
        )
    seconds: float | None = None
    exact = isinstance(f, WAVE | AIFF | WavPack)
    if isinstance(f, MP3):
        seconds = _mpeg_declared_seconds(fh, info)
    elif isinstance(f, WAVE):
        declared = info.length * info.bitrate / 8 if info.bitrate else 0.0
        seconds = info.length if declared < _MAX_WAV_DATA else None
    elif isinstance(f, MP4 | OggFileType | AIFF | WavPack):
        seconds = info.length
    # Other formats' lengths are often estimates from the file size: nothing to hold them to.
    if not seconds or seconds < 0:  # 0 is "unknown"; negative is a hostile pre-skip
        seconds = None
    return Declared(seconds=seconds, exact=exact, cut_short=cut_short)


def _mpeg_declared_seconds(fh: IO[bytes], info: Any) -> float | None:
    """Frames declared by a Xing/Info or VBRI header times samples per frame; None when there
    is no such header (a CBR file's length is only an estimate from its size)."""
    if info.layer != 3 or not info.sample_rate:
        return None
    per_frame = 1152 if info.version == 1 else 576
    side = (32 if info.mode != 3 else 17) if info.version == 1 else (17 if info.mode != 3 else 9)
    start = int(info.frame_offset)
    for offset, parse in ((4 + side, _xing_frames), (36, _vbri_frames)):
        fh.seek(start + offset)
        frames = parse(fh.read(18))
        if frames:
            return float(frames * per_frame / info.sample_rate)
    return None


def _xing_frames(data: bytes) -> int | None:
    if data[:4] not in (b"Xing", b"Info") or len(data) < 12:
        return None
    (flags, frames) = struct.unpack(">II", data[4:12])
    return frames if flags & 1 else None


def _vbri_frames(data: bytes) -> int | None:
    if data[:4] != b"VBRI" or len(data) < 18:
        return None
    (frames,) = struct.unpack(">I", data[14:18])
    return int(frames)


def _ogg_cut_short(fh: IO[bytes], size: int) -> str | None:
    """An Ogg file ends with a complete page carrying the end-of-stream flag; a cut one does
    not (its granule positions then agree with the shortened audio, so only this tells)."""
    fh.seek(max(0, size - _MAX_OGG_PAGE - 64))
    tail = fh.read()
    last = tail.rfind(b"OggS")
    while last >= 0 and (len(tail) - last < 27 or tail[last + 4] != 0):
        last = tail.rfind(b"OggS", 0, last)  # a cut page header, or "OggS" inside audio
    if last < 0:
        return "The file has no Ogg page at its end: it was probably cut short."
    lacing = tail[last + 27 : last + 27 + tail[last + 26]]
    if len(lacing) < tail[last + 26] or last + 27 + len(lacing) + sum(lacing) > len(tail):
        return "The last Ogg page is incomplete: the file was probably cut short."
    if not tail[last + 5] & 0x04:
        return "The Ogg stream has no end-of-stream page: the file was probably cut short."
    return None  # trailing bytes after the last page (a stray ID3v1 tag) do not matter


def _mp4_cut_short(fh: IO[bytes], size: int) -> str | None:
    """``mdat`` or ``moov`` running past the end of the file (a cut file whose ``moov`` came
    last does not open at all, so the decoded duration cannot tell). Anything else that
    overruns after a complete ``moov`` is a tag a tagger appended (ID3v1, APEv2)."""
    pos, seen_moov = 0, False
    for _ in range(_MAX_ATOMS):
        fh.seek(pos)
        head = fh.read(16)
        if len(head) < 8:
            return None
        atom, name = int.from_bytes(head[:4], "big"), head[4:8]
        if atom == 1 and len(head) == 16:
            atom = int.from_bytes(head[8:16], "big")
        if atom == 0:
            return None  # "to the end of the file"
        if atom < 8 or (pos + atom > size and seen_moov and name not in (b"mdat", b"moov")):
            return None  # not an atom: trailing bytes, or garbage the decoder will report
        if pos + atom > size:
            kind = name.decode("latin-1")
            return f"The MP4 atom '{kind}' runs past the end of the file: it was cut short."
        seen_moov = seen_moov or name == b"moov"
        pos += atom
    return None
