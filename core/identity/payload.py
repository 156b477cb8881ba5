"""Where a file's audio identity lives, by format (DESIGN.md, "Hashes", version 2).

The audio identity must survive every tag edit a tagger can make and change with every byte a
decoder reads, so it is defined by each container's own structure (the spec), never by a
decoder: stored identities then outlive FFmpeg and mutagen upgrades. Formats are recognised by
magic bytes only; extensions lie.

Two halves, so that :mod:`phonovault.core.identity.digests` can hash everything in one sequential
read:

* :func:`locate` looks at the structure with a few small seek-and-reads (leading ID3v2 tags,
  FLAC metadata blocks, MP4 atoms, IFF chunks, trailing ID3v1/APEv2/Lyrics3v2) and returns a
  :class:`Payload`: the codec set-up it read on the way (STREAMINFO, ``fmt ``, ``COMM``, the
  MP4 sample tables) and the byte ranges of the samples, or for Ogg where the pages start.
* :func:`payload_filter` turns that into a :class:`PayloadFilter` which the main pass feeds
  with ``(offset, chunk)`` in file order and which ends in :class:`IdentityParts`.

Anything that does not parse raises :class:`Malformed`, which the caller turns into the
"file" fallback; only ``OSError`` from the file object escapes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from phonovault.core.identity.mp4 import mp4_setup
from phonovault.core.identity.mpeg import xing_split
from phonovault.core.identity.ogg import OggPacketFilter
from phonovault.core.identity.parts import (
    Hasher,
    IdentityParts,
    Malformed,
    Source,
    read_exact,
    read_upto,
    setup_record,
)

__all__ = ["Malformed", "Payload", "PayloadFilter", "Source", "locate", "payload_filter"]

# A structure walk that takes more steps than this is garbage (or hostile), not music.
MAX_STEPS = 100_000
# The raw frame streams we know by their first bytes (after any leading ID3v2 tags).
_STREAM_MAGIC = (b"wvpk", b"MAC ", b"MPCK", b"MP+", b"TTA1", b"tBaK", b"OFR ")
_APE_HAS_HEADER = 1 << 31
# Set-up chunks are a few dozen bytes; one this large is damage (or hostile), not a header.
_MAX_SETUP_CHUNK = 1 << 20


class PayloadFilter(Protocol):
    """Picks the identity's bytes out of the file as they stream past, in file order."""

    method: str

    def feed(self, offset: int, chunk: memoryview) -> None:
        """Hash the identity's part of ``chunk``, which starts at ``offset``. ``chunk`` is
        only valid during the call (the reader reuses its buffer)."""
        ...

    def finish(self) -> str | None:
        """None when the payload was complete, else why we must fall back to the file hash."""
        ...

    def parts(self) -> IdentityParts:
        """The identity's halves, once :meth:`finish` returned None."""
        ...


@dataclass(frozen=True, slots=True)
class Payload:
    """The identity of one file before the main read: the codec ``setup`` records read while
    locating, the sample ``ranges`` (sorted, disjoint, half-open) or, for Ogg, the offset of
    the first page (``ranges`` and ``setup`` are then empty: the pages carry both)."""

    method: str
    ranges: tuple[tuple[int, int], ...] = ()
    ogg_start: int | None = None
    setup: bytes = b""


def locate(f: Source, size: int) -> Payload:
    """Find the identity's bytes in a ``size``-byte file. Raises :class:`Malformed`."""
    if size == 0:
        raise Malformed("empty file")
    start, had_id3 = _skip_leading_tags(f, size)
    magic = read_upto(f, start, 12)
    if magic[:4] == b"fLaC":
        return _flac(f, start, size)
    if magic[:4] == b"OggS":
        return Payload(OggPacketFilter.method, ogg_start=start)
    if magic[4:8] == b"ftyp":
        return _mp4(f, start, size)
    if magic[:4] in (b"RIFF", b"RF64", b"BW64") and magic[8:12] == b"WAVE":
        return _riff(f, start, size, magic[:4])
    if magic[:4] == b"FORM" and magic[8:12] in (b"AIFF", b"AIFC"):
        return _aiff(f, start, size)
    if magic[:4] == b"DSD ":
        return _dsf(f, start, size)
    if magic[:4] == b"FRM8":
        return _dff(f, start, size)
    # An ID3v2 tag is a strong sign of an MP3 even when junk precedes the first frame sync.
    # Frame headers, Xing/LAME info and APE descriptors are inside the stream itself.
    if had_id3 or magic.startswith(_STREAM_MAGIC) or _frame_sync(magic):
        end = _strip_trailing_tags(f, start, size)
        split = xing_split(f, start, end)
        if split is not None:  # the Xing frame's decoder fields, then the audio frames
            return Payload("stream", ((split[1], end),), setup=split[0])
        return Payload("stream", ((start, end),))
    raise Malformed("unrecognised format")


def v1_stream_range(f: Source, size: int) -> tuple[int, int] | None:
    """The bytes identity version 1 hashed for a tag-framed stream (MP3, WavPack, APE...):
    all of it, a Xing frame included; None when the file is not such a stream."""
    payload = locate(f, size)
    if payload.method != "stream" or not payload.ranges:
        return None
    if not payload.setup:
        return payload.ranges[0]
    start, _had_id3 = _skip_leading_tags(f, size)
    return start, payload.ranges[-1][1]


def payload_filter(payload: Payload, new_hasher: Callable[[], Hasher]) -> PayloadFilter:
    """The streaming half of :func:`locate`'s answer; ``new_hasher()`` makes each hasher."""
    if payload.ogg_start is not None:
        return OggPacketFilter(payload.ogg_start, new_hasher)
    return RangeFilter(payload, new_hasher)


class RangeFilter:
    """Hashes fixed byte ranges, whatever the chunking; shared by every non-Ogg format. The
    samples half is the version-1 audio hash of the same file (see :mod:`.legacy`)."""

    def __init__(self, payload: Payload, new_hasher: Callable[[], Hasher]) -> None:
        self.method = payload.method
        self._ranges = payload.ranges
        self._setup = payload.setup
        self._new = new_hasher
        self._sink = new_hasher()
        self._next = 0
        self._want = sum(end - start for start, end in payload.ranges)
        self._got = 0

    def feed(self, offset: int, chunk: memoryview) -> None:
        stop = offset + len(chunk)
        while self._next < len(self._ranges):
            start, end = self._ranges[self._next]
            if start >= stop:
                return
            lo, hi = max(start, offset), min(end, stop)
            if lo < hi:
                self._sink.update(chunk[lo - offset : hi - offset])
                self._got += hi - lo
            if end > stop:
                return
            self._next += 1

    def finish(self) -> str | None:
        if self._got != self._want:
            return "the file ended before its audio payload did"
        return None

    def parts(self) -> IdentityParts:
        setup = self._new()
        setup.update(self._setup)
        return IdentityParts(setup.hexdigest(), self._sink.hexdigest())


def _name(four_cc: bytes) -> str:
    """A chunk or atom id for a message, printable whatever its bytes: 'fmt ' when it is
    text, else its hex (a Python escape such as '\\x19' means nothing to a user)."""
    text = four_cc.decode("latin-1")
    return f"'{text}'" if text.isascii() and text.isprintable() else f"0x{four_cc.hex()}"


def _frame_sync(magic: bytes) -> bool:
    """MPEG audio (and ADTS AAC) frames start with 11 set bits."""
    return len(magic) >= 2 and magic[0] == 0xFF and magic[1] & 0xE0 == 0xE0


def _skip_leading_tags(f: Source, size: int) -> tuple[int, bool]:
    """Skip consecutive ID3v2 tags (taggers stack them; v2.4 may add a 10-byte footer) and an
    APEv2 tag at the start. Returns (offset after them, whether an ID3v2 tag was seen)."""
    pos, had_id3 = 0, False
    for _ in range(MAX_STEPS):
        head = read_upto(f, pos, 10)
        if head[:3] == b"ID3" and len(head) == 10:
            major, revision, flags = head[3], head[4], head[5]
            if major not in (2, 3, 4) or revision == 0xFF or any(b & 0x80 for b in head[6:]):
                raise Malformed("invalid ID3v2 header")
            body = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
            footer = 10 if major == 4 and flags & 0x10 else 0
            if pos + 10 + body + footer > size:
                raise Malformed("ID3v2 tag larger than the file")
            pos, had_id3 = pos + 10 + body + footer, True
        elif head[:8] == b"APETAGEX" and pos == 0:
            tag_size, flags = struct.unpack("<I4xI", read_exact(f, 12, 12, "APEv2 header"))
            if tag_size < 32 or not flags & _APE_HAS_HEADER or 32 + tag_size > size:
                raise Malformed("invalid APEv2 tag at the start")
            pos = 32 + tag_size
        else:
            return pos, had_id3
    raise Malformed("too many leading tags")


def _strip_trailing_tags(f: Source, lo: int, end: int) -> int:
    """Where the audio ends once trailing ID3v1, Lyrics3v2 and APEv2 tags are cut off, in any
    order (mutagen appends APEv2 after an existing ID3v1; other taggers put ID3v1 last)."""
    for _ in range(16):
        room = end - lo
        if room >= 128 and read_upto(f, end - 128, 3) == b"TAG":
            end -= 128
        elif room >= 15 + 11 and read_upto(f, end - 9, 9) == b"LYRICS200":
            digits = read_upto(f, end - 15, 6)
            if not digits.isdigit() or 15 + int(digits) > room:
                raise Malformed("invalid Lyrics3v2 tag")
            begin = end - 15 - int(digits)
            if read_upto(f, begin, 11) != b"LYRICSBEGIN":
                raise Malformed("invalid Lyrics3v2 tag")
            end = begin
        elif room >= 32 and read_upto(f, end - 32, 8) == b"APETAGEX":
            tag_size, flags = struct.unpack("<I4xI", read_exact(f, end - 20, 12, "APEv2"))
            total = tag_size + (32 if flags & _APE_HAS_HEADER else 0)
            if tag_size < 32 or total > room:
                raise Malformed("APEv2 tag larger than the file")
            end -= total
        else:
            return end
    raise Malformed("too many trailing tags")


def _flac(f: Source, start: int, size: int) -> Payload:
    """FLAC: STREAMINFO (sample rate, channels, bit depth, total samples, the audio's MD5)
    and the frames after the last metadata block (the one with the is-last flag). A tagger
    adds, removes and reorders the other blocks; none of them changes a decoded sample."""
    head = read_exact(f, start + 4, 4, "FLAC metadata block")
    if head[0] & 0x7F != 0 or int.from_bytes(head[1:4], "big") < 34:
        raise Malformed("FLAC whose first metadata block is not STREAMINFO")
    setup = setup_record(b"SINF", read_exact(f, start + 8, 34, "FLAC STREAMINFO"))
    pos = start + 4
    for _ in range(MAX_STEPS):
        head = read_exact(f, pos, 4, "FLAC metadata block")
        pos += 4 + int.from_bytes(head[1:4], "big")
        if pos > size:
            raise Malformed("truncated FLAC metadata block")
        if head[0] & 0x80:
            return Payload("flac", ((pos, _strip_trailing_tags(f, pos, size)),), setup=setup)
    raise Malformed("too many FLAC metadata blocks")


def _mp4(f: Source, start: int, size: int) -> Payload:
    """MP4: every top-level ``mdat`` atom's bytes, and the audio tracks' sample tables in
    ``moov`` (which may sit before or after the mdat; see :mod:`.mp4`)."""
    ranges: list[tuple[int, int]] = []
    moov: tuple[int, int] | None = None
    pos = start
    for _ in range(MAX_STEPS):
        if size - pos < 8:  # a few stray bytes after the last atom carry no audio
            break
        atom_size, kind = struct.unpack(">I4s", read_exact(f, pos, 8, "MP4 atom"))
        header = 8
        if atom_size == 1:
            (atom_size,) = struct.unpack(">Q", read_exact(f, pos + 8, 8, "MP4 atom"))
            header = 16
        elif atom_size == 0:
            atom_size = size - pos
        if atom_size < header:
            raise Malformed("MP4 atom smaller than its header")
        if pos + atom_size > size:
            raise Malformed(f"MP4 atom {_name(kind)} runs past the end of the file")
        if kind == b"mdat":
            ranges.append((pos + header, pos + atom_size))
        elif kind == b"moov" and moov is None:
            moov = (pos + header, pos + atom_size)
        pos += atom_size
    else:
        raise Malformed("too many MP4 atoms")
    if not ranges:
        raise Malformed("MP4 with no mdat atom")
    if moov is None:
        raise Malformed("MP4 with no moov atom")
    return Payload("mp4-mdat", tuple(ranges), setup=mp4_setup(f, moov, tuple(ranges)))


def _chunks(
    f: Source, pos: int, end: int, fmt: str, overrides: Mapping[bytes, int] | None = None
) -> Iterator[tuple[bytes, int, int]]:
    """Walk IFF-style chunks (id, size, body, pad to even) from ``pos`` to ``end``, yielding
    (id, body offset, body length). ``fmt`` is the struct format of id + size. ``overrides``
    replaces an all-ones 32-bit size (RF64 keeps the real size in its ds64 chunk)."""
    header = struct.calcsize(fmt)
    for _ in range(MAX_STEPS):
        if end - pos < header:
            return
        cid, length = struct.unpack(fmt, read_exact(f, pos, header, "chunk header"))
        if overrides and length == 0xFFFFFFFF and cid in overrides:
            length = overrides[cid]
        if pos + header + length > end:
            raise Malformed(f"chunk {_name(cid)} runs past the end of the file")
        yield cid, pos + header, length
        pos += header + length + (length & 1)
    raise Malformed("too many chunks")


def _split(
    f: Source,
    method: str,
    chunks: Iterator[tuple[bytes, int, int]],
    audio: tuple[bytes, ...],
    setup: Mapping[bytes, tuple[int, int | None]],
) -> Payload:
    """An IFF-style file's identity: the ``audio`` chunks' bytes as ranges, the ``setup``
    chunks' bytes (each a slice ``(from, to)`` of its body) read now as set-up records."""
    ranges: list[tuple[int, int]] = []
    records = bytearray()
    for cid, body, n in chunks:
        if cid in audio:
            ranges.append((body, body + n))
        elif cid in setup:
            lo, hi = setup[cid]
            hi = n if hi is None else min(hi, n)
            if hi - lo > _MAX_SETUP_CHUNK:
                raise Malformed(f"chunk {_name(cid)} is too large for a set-up chunk")
            records += setup_record(cid, read_exact(f, body + lo, max(0, hi - lo), _name(cid)))
    if not ranges:
        raise Malformed(f"{method} file with no audio chunk")
    if not records:
        raise Malformed(f"{method} file with no format chunk")
    return Payload(method, tuple(ranges), setup=bytes(records))


def _container_end(declared: int, floor: int, size: int) -> int:
    """Where a container's chunks end: its declared size when plausible, else the file's end
    (streamed WAVs often carry 0 or 0xFFFFFFFF; trailing junk after a valid RIFF is ignored)."""
    return declared if floor <= declared <= size else size


# The set-up chunks, and which bytes of each a decoder reads (None: to the chunk's end).
_WAV_SETUP = {b"fmt ": (0, None), b"fact": (0, None), b"ds64": (8, 24)}  # ds64: data, samples
_AIFF_SETUP = {b"COMM": (0, None)}
_DFF_SETUP = {b"PROP": (0, None)}


def _riff(f: Source, start: int, size: int, kind: bytes) -> Payload:
    """WAV (RIFF, RF64, BW64): ``fmt ``, ``fact`` and the sizes of ``ds64``, and the ``data``
    chunk. mutagen keeps ID3 in an ``id3 `` chunk; other taggers add ``LIST`` chunks."""
    (riff_size,) = struct.unpack("<I", read_exact(f, start + 4, 4, "RIFF header"))
    overrides: dict[bytes, int] = {}
    if kind != b"RIFF":
        head = read_exact(f, start + 12, 24, "ds64 chunk")
        cid, _, riff64, data64 = struct.unpack("<4sIQQ", head)
        if cid != b"ds64":
            raise Malformed("RF64 without a ds64 chunk")
        overrides[b"data"] = data64
        riff_size = riff64
    end = _container_end(start + 8 + riff_size, start + 12, size)
    chunks = _chunks(f, start + 12, end, "<4sI", overrides)
    return _split(f, "riff-data", chunks, (b"data",), _WAV_SETUP)


def _aiff(f: Source, start: int, size: int) -> Payload:
    """AIFF/AIFC: ``COMM`` and the ``SSND`` chunk (its offset/block-size words included)."""
    (form_size,) = struct.unpack(">I", read_exact(f, start + 4, 4, "FORM header"))
    end = _container_end(start + 8 + form_size, start + 12, size)
    return _split(f, "aiff-ssnd", _chunks(f, start + 12, end, ">4sI"), (b"SSND",), _AIFF_SETUP)


def _dff(f: Source, start: int, size: int) -> Payload:
    """DSDIFF: ``PROP`` (rate, channels, compression) and the ``DSD `` (or DST-compressed
    ``DST ``) chunk; its ID3 and comment chunks stay out."""
    head = read_exact(f, start + 4, 12, "FRM8 header")
    form_size, form_type = struct.unpack(">Q4s", head)
    if form_type != b"DSD ":
        raise Malformed("FRM8 file that is not DSDIFF")
    end = _container_end(start + 12 + form_size, start + 16, size)
    chunks = _chunks(f, start + 16, end, ">4sQ")
    return _split(f, "dff-dsd", chunks, (b"DSD ", b"DST "), _DFF_SETUP)


def _dsf(f: Source, start: int, size: int) -> Payload:
    """DSF: the ``fmt `` chunk and the ``data`` chunk, whose 64-bit sizes count their own
    12-byte headers; the ID3v2 tag the metadata pointer names sits after it (and the file
    size in the ``DSD `` chunk changes with it, so that chunk stays out)."""
    pos, setup = start, b""
    for _ in range(MAX_STEPS):
        cid, length = struct.unpack("<4sQ", read_exact(f, pos, 12, "DSF chunk"))
        if length < 12 or pos + length > size:
            raise Malformed(f"invalid DSF chunk {_name(cid)}")
        if cid == b"fmt ":
            if length > _MAX_SETUP_CHUNK:
                raise Malformed("DSF fmt chunk too large")
            setup = setup_record(cid, read_exact(f, pos + 12, length - 12, "DSF fmt chunk"))
        if cid == b"data":
            if not setup:
                raise Malformed("DSF data before its fmt chunk")
            return Payload("dsf-data", ((pos + 12, pos + length),), setup=setup)
        pos += length
    raise Malformed("too many DSF chunks")
