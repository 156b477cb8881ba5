"""Where a file's audio payload lives, by format (DESIGN.md, "Hashes").

The audio hash must survive every tag edit a tagger can make, so the payload is defined by each
container's own structure (the spec), never by a decoder: stored hashes then outlive FFmpeg and
mutagen upgrades. Formats are recognised by magic bytes only; extensions lie.

Two halves, so that :mod:`phonovault.core.fixity` can hash everything in one sequential read:

* :func:`locate` looks at the structure with a few small seek-and-reads (leading ID3v2 tags,
  FLAC metadata blocks, MP4 atoms, IFF chunks, trailing ID3v1/APEv2/Lyrics3v2) and returns a
  :class:`Payload`: a list of byte ranges, or for Ogg just where the pages start.
* :func:`payload_filter` turns that into a :class:`PayloadFilter` which the main pass feeds
  with ``(offset, chunk)`` in file order and which passes the payload slices to a hasher.

Anything that does not parse raises :class:`Malformed`, which the caller turns into the
"file" fallback; only ``OSError`` from the file object escapes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

# A structure walk that takes more steps than this is garbage (or hostile), not music.
MAX_STEPS = 100_000
# The raw frame streams we know by their first bytes (after any leading ID3v2 tags).
_STREAM_MAGIC = (b"wvpk", b"MAC ", b"MPCK", b"MP+", b"TTA1", b"tBaK", b"OFR ")
_APE_HAS_HEADER = 1 << 31


class Malformed(Exception):
    """The file's structure does not parse; ``reason`` says how, for the user."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class Sink(Protocol):
    """What a payload filter writes to: a hasher (blake3 or hashlib)."""

    def update(self, data: bytes | memoryview, /) -> object: ...


class Source(Protocol):
    """The little a file object must offer for the structure walk."""

    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...


class PayloadFilter(Protocol):
    """Picks the payload out of the file's bytes as they stream past, in file order."""

    method: str

    def feed(self, offset: int, chunk: memoryview) -> None:
        """Hash the payload part of ``chunk``, which starts at ``offset``. ``chunk`` is only
        valid during the call (the reader reuses its buffer)."""
        ...

    def finish(self) -> str | None:
        """None when the payload was complete, else why we must fall back to the file hash."""
        ...


@dataclass(frozen=True, slots=True)
class Payload:
    """The payload of one file: ``ranges`` (sorted, disjoint, half-open) or, for Ogg, the
    offset of the first page (``ranges`` is then empty)."""

    method: str
    ranges: tuple[tuple[int, int], ...] = ()
    ogg_start: int | None = None


def locate(f: Source, size: int) -> Payload:
    """Find the payload of a ``size``-byte file. Raises :class:`Malformed`."""
    if size == 0:
        raise Malformed("empty file")
    start, had_id3 = _skip_leading_tags(f, size)
    magic = _read_upto(f, start, 12)
    if magic[:4] == b"fLaC":
        return _flac(f, start, size)
    if magic[:4] == b"OggS":
        return Payload("ogg-pages", ogg_start=start)
    if magic[4:8] == b"ftyp":
        return Payload("mp4-mdat", _mp4_ranges(f, start, size))
    if magic[:4] in (b"RIFF", b"RF64", b"BW64") and magic[8:12] == b"WAVE":
        return Payload("riff-data", _riff_ranges(f, start, size, magic[:4]))
    if magic[:4] == b"FORM" and magic[8:12] in (b"AIFF", b"AIFC"):
        return Payload("aiff-ssnd", _aiff_ranges(f, start, size))
    if magic[:4] == b"DSD ":
        return Payload("dsf-data", _dsf_ranges(f, start, size))
    if magic[:4] == b"FRM8":
        return Payload("dff-dsd", _dff_ranges(f, start, size))
    # An ID3v2 tag is a strong sign of an MP3 even when junk precedes the first frame sync.
    if had_id3 or magic.startswith(_STREAM_MAGIC) or _frame_sync(magic):
        end = _strip_trailing_tags(f, start, size)
        return Payload("stream", ((start, end),))
    raise Malformed("unrecognised format")


def payload_filter(payload: Payload, sink: Sink) -> PayloadFilter:
    """The streaming half of :func:`locate`'s answer."""
    if payload.ogg_start is not None:
        return OggPageFilter(payload.method, payload.ogg_start, sink)
    return RangeFilter(payload.method, payload.ranges, sink)


class RangeFilter:
    """Hashes fixed byte ranges, whatever the chunking; shared by every non-Ogg format."""

    def __init__(self, method: str, ranges: tuple[tuple[int, int], ...], sink: Sink) -> None:
        self.method = method
        self._ranges = ranges
        self._sink = sink
        self._next = 0
        self._want = sum(end - start for start, end in ranges)
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


def _read_upto(f: Source, offset: int, n: int) -> bytes:
    f.seek(offset)
    return f.read(n)


def _read_exact(f: Source, offset: int, n: int, what: str) -> bytes:
    data = _read_upto(f, offset, n)
    if len(data) != n:
        raise Malformed(f"truncated {what}")
    return data


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
        head = _read_upto(f, pos, 10)
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
            tag_size, flags = struct.unpack("<I4xI", _read_exact(f, 12, 12, "APEv2 header"))
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
        if room >= 128 and _read_upto(f, end - 128, 3) == b"TAG":
            end -= 128
        elif room >= 15 + 11 and _read_upto(f, end - 9, 9) == b"LYRICS200":
            digits = _read_upto(f, end - 15, 6)
            if not digits.isdigit() or 15 + int(digits) > room:
                raise Malformed("invalid Lyrics3v2 tag")
            begin = end - 15 - int(digits)
            if _read_upto(f, begin, 11) != b"LYRICSBEGIN":
                raise Malformed("invalid Lyrics3v2 tag")
            end = begin
        elif room >= 32 and _read_upto(f, end - 32, 8) == b"APETAGEX":
            tag_size, flags = struct.unpack("<I4xI", _read_exact(f, end - 20, 12, "APEv2"))
            total = tag_size + (32 if flags & _APE_HAS_HEADER else 0)
            if tag_size < 32 or total > room:
                raise Malformed("APEv2 tag larger than the file")
            end -= total
        else:
            return end
    raise Malformed("too many trailing tags")


def _flac(f: Source, start: int, size: int) -> Payload:
    """FLAC: after the last metadata block (the one with the is-last flag) to the end."""
    pos = start + 4
    for _ in range(MAX_STEPS):
        head = _read_exact(f, pos, 4, "FLAC metadata block")
        pos += 4 + int.from_bytes(head[1:4], "big")
        if pos > size:
            raise Malformed("truncated FLAC metadata block")
        if head[0] & 0x80:
            return Payload("flac", ((pos, _strip_trailing_tags(f, pos, size)),))
    raise Malformed("too many FLAC metadata blocks")


def _mp4_ranges(f: Source, start: int, size: int) -> tuple[tuple[int, int], ...]:
    """MP4: the payload of every top-level ``mdat`` atom (moov may sit before or after it)."""
    ranges: list[tuple[int, int]] = []
    pos = start
    for _ in range(MAX_STEPS):
        if size - pos < 8:  # a few stray bytes after the last atom carry no audio
            break
        atom_size, kind = struct.unpack(">I4s", _read_exact(f, pos, 8, "MP4 atom"))
        header = 8
        if atom_size == 1:
            (atom_size,) = struct.unpack(">Q", _read_exact(f, pos + 8, 8, "MP4 atom"))
            header = 16
        elif atom_size == 0:
            atom_size = size - pos
        if atom_size < header:
            raise Malformed("MP4 atom smaller than its header")
        if pos + atom_size > size:
            raise Malformed(f"MP4 atom {_name(kind)} runs past the end of the file")
        if kind == b"mdat":
            ranges.append((pos + header, pos + atom_size))
        pos += atom_size
    else:
        raise Malformed("too many MP4 atoms")
    if not ranges:
        raise Malformed("MP4 with no mdat atom")
    return tuple(ranges)


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
        cid, length = struct.unpack(fmt, _read_exact(f, pos, header, "chunk header"))
        if overrides and length == 0xFFFFFFFF and cid in overrides:
            length = overrides[cid]
        if pos + header + length > end:
            raise Malformed(f"chunk {_name(cid)} runs past the end of the file")
        yield cid, pos + header, length
        pos += header + length + (length & 1)
    raise Malformed("too many chunks")


def _audio_chunks(
    chunks: Iterator[tuple[bytes, int, int]], wanted: tuple[bytes, ...], what: str
) -> tuple[tuple[int, int], ...]:
    ranges = tuple((body, body + n) for cid, body, n in chunks if cid in wanted)
    if not ranges:
        raise Malformed(f"{what} with no audio chunk")
    return ranges


def _container_end(declared: int, floor: int, size: int) -> int:
    """Where a container's chunks end: its declared size when plausible, else the file's end
    (streamed WAVs often carry 0 or 0xFFFFFFFF; trailing junk after a valid RIFF is ignored)."""
    return declared if floor <= declared <= size else size


def _riff_ranges(f: Source, start: int, size: int, kind: bytes) -> tuple[tuple[int, int], ...]:
    """WAV (RIFF, RF64, BW64): the ``data`` chunk. mutagen keeps ID3 in an ``id3 `` chunk."""
    (riff_size,) = struct.unpack("<I", _read_exact(f, start + 4, 4, "RIFF header"))
    overrides: dict[bytes, int] = {}
    if kind != b"RIFF":
        head = _read_exact(f, start + 12, 24, "ds64 chunk")
        cid, _, riff64, data64 = struct.unpack("<4sIQQ", head)
        if cid != b"ds64":
            raise Malformed("RF64 without a ds64 chunk")
        overrides[b"data"] = data64
        riff_size = riff64
    end = _container_end(start + 8 + riff_size, start + 12, size)
    return _audio_chunks(_chunks(f, start + 12, end, "<4sI", overrides), (b"data",), "WAV")


def _aiff_ranges(f: Source, start: int, size: int) -> tuple[tuple[int, int], ...]:
    """AIFF/AIFC: the ``SSND`` chunk (its offset/block-size words included)."""
    (form_size,) = struct.unpack(">I", _read_exact(f, start + 4, 4, "FORM header"))
    end = _container_end(start + 8 + form_size, start + 12, size)
    return _audio_chunks(_chunks(f, start + 12, end, ">4sI"), (b"SSND",), "AIFF")


def _dff_ranges(f: Source, start: int, size: int) -> tuple[tuple[int, int], ...]:
    """DSDIFF: the ``DSD `` (or DST-compressed ``DST ``) chunk; its ID3 chunk is excluded."""
    head = _read_exact(f, start + 4, 12, "FRM8 header")
    form_size, form_type = struct.unpack(">Q4s", head)
    if form_type != b"DSD ":
        raise Malformed("FRM8 file that is not DSDIFF")
    end = _container_end(start + 12 + form_size, start + 16, size)
    return _audio_chunks(_chunks(f, start + 16, end, ">4sQ"), (b"DSD ", b"DST "), "DSDIFF")


def _dsf_ranges(f: Source, start: int, size: int) -> tuple[tuple[int, int], ...]:
    """DSF: the ``data`` chunk, whose 64-bit size counts its own 12-byte header; the ID3v2
    tag the metadata pointer names sits after it."""
    pos = start
    for _ in range(MAX_STEPS):
        cid, length = struct.unpack("<4sQ", _read_exact(f, pos, 12, "DSF chunk"))
        if length < 12 or pos + length > size:
            raise Malformed(f"invalid DSF chunk {_name(cid)}")
        if cid == b"data":
            return ((pos + 12, pos + length),)
        pos += length
    raise Malformed("too many DSF chunks")


def _count_packets(lacing: bytes, left: int) -> tuple[int, int]:
    """Count packets ending on a page (a lacing value under 255 ends one) until ``left`` header
    packets are done. Returns (segments used, header packets still to come)."""
    for index, value in enumerate(lacing):
        if value < 255:
            left -= 1
            if left == 0:
                return index + 1, 0
    return len(lacing), left


def _header_packets(packet: bytes) -> int | None:
    """How many header packets a logical stream has, from its identification packet."""
    if packet.startswith((b"\x01vorbis", b"\x80theora")):
        return 3
    if packet.startswith(b"OpusHead"):
        return 2
    if packet.startswith(b"\x7fFLAC") and len(packet) >= 9:
        extra = int.from_bytes(packet[7:9], "big")  # 0 means "unknown": we cannot tell
        return 1 + extra if extra else None
    if packet.startswith(b"Speex   ") and len(packet) >= 72:
        return 2 + int.from_bytes(packet[68:72], "little")
    return None


class _Staging:
    """Gathers an Ogg file's small slices (a few KB per page) into big updates: blake3 hashes a
    4 KB buffer at about 1.5 GB/s and a large one at about 4.5 GB/s here, far more than the
    copy costs."""

    def __init__(self, sink: Sink, size: int = 1 << 18) -> None:
        self._sink = sink
        self._view = memoryview(bytearray(size))
        self._used = 0

    def update(self, data: bytes | memoryview, /) -> None:
        n = len(data)
        if self._used + n > len(self._view):
            self.flush()
            if 2 * n > len(self._view):
                self._sink.update(data)
                return
        self._view[self._used : self._used + n] = data
        self._used += n

    def flush(self) -> None:
        if self._used:
            self._sink.update(self._view[: self._used])
            self._used = 0


class OggPageFilter:
    """Hashes every Ogg page after each logical stream's header packets: header-type flags,
    granule position, serial number, segment table and body, but not the page sequence number
    or the CRC, which mutagen rewrites on every page after a comment that changed size.

    Pages are parsed as the bytes stream past (a page may straddle chunks). Only page headers
    and beginning-of-stream pages (to identify the codec) are kept; audio bodies are staged
    into large hasher updates (see :class:`_Staging`). Chained and multiplexed files work:
    each serial is tracked on its own.
    """

    def __init__(self, method: str, start: int, sink: Sink) -> None:
        self.method = method
        self._start = start
        self._sink = _Staging(sink)
        self._head = bytearray()  # the current page's header while it is incomplete
        self._page = b""  # the current page's complete header
        self._body_left = 0
        self._skip = 0  # leading body bytes of the current page that are header packets
        self._hash_body = False
        self._bos_body: bytearray | None = None
        self._left: dict[int, int] = {}  # serial -> header packets still to come (0: audio)
        self._failed: str | None = None

    def feed(self, offset: int, chunk: memoryview) -> None:
        i, n = max(0, self._start - offset), len(chunk)
        while i < n and self._failed is None:
            if self._body_left:
                take = min(self._body_left, n - i)
                self._body(chunk[i : i + take])
                i += take
                self._body_left -= take
                if not self._body_left:
                    self._end_page()
            elif not self._head and i + 27 <= n and i + 27 + chunk[i + 26] <= n:
                # Fast path: the whole page header is in this chunk (nearly always).
                end = i + 27 + chunk[i + 26]
                self._start_page(bytes(chunk[i:end]))
                i = end
            else:  # the header straddles chunks: gather it
                head = self._head
                take = min((27 if len(head) < 27 else 27 + head[26]) - len(head), n - i)
                head += chunk[i : i + take]
                i += take
                if len(head) >= 27 and len(head) == 27 + head[26]:
                    self._start_page(bytes(head))
                    head.clear()

    def finish(self) -> str | None:
        self._sink.flush()
        if self._failed is not None:
            return self._failed
        if self._head or self._body_left:
            return "truncated Ogg page"
        if any(self._left.values()):
            return "Ogg stream ends inside its header packets"
        return None

    def _start_page(self, page: bytes) -> None:
        if page[:5] != b"OggS\0":
            self._failed = "data between Ogg pages that is not a page"
            return
        self._page = page
        flags, serial, lacing = page[5], int.from_bytes(page[14:18], "little"), page[27:]
        self._body_left, self._skip, self._hash_body = sum(lacing), 0, False
        left = self._left.get(serial)
        if flags & 0x02:  # beginning of a logical stream: its first packet names the codec
            if left is not None:
                self._failed = "two Ogg streams with the same serial number"
            self._bos_body = bytearray()
        elif left is None:
            self._failed = "Ogg page of a stream that never began"
        elif left == 0:
            self._sink.update(page[5:18] + page[26:])
            self._hash_body = True
        else:
            used, left = _count_packets(lacing, left)
            self._left[serial] = left
            if left == 0 and used < len(lacing):  # audio begins on the last header page
                self._sink.update(page[5:18] + bytes([len(lacing) - used]) + lacing[used:])
                self._skip, self._hash_body = sum(lacing[:used]), True
        if not self._body_left:
            self._end_page()

    def _body(self, piece: memoryview) -> None:
        if self._hash_body and not self._skip:
            self._sink.update(piece)
            return
        if self._bos_body is not None:
            self._bos_body += piece
        if self._hash_body:
            skip = min(self._skip, len(piece))
            self._skip -= skip
            if skip < len(piece):
                self._sink.update(piece[skip:])

    def _end_page(self) -> None:
        page = self._page
        if self._bos_body is None and not page[5] & 0x04:
            return  # the common case: an audio page in mid-stream
        serial, lacing = int.from_bytes(page[14:18], "little"), page[27:]
        if self._bos_body is not None:
            first = next((i for i, v in enumerate(lacing) if v < 255), len(lacing) - 1)
            total = _header_packets(bytes(self._bos_body[: sum(lacing[: first + 1])]))
            self._bos_body = None
            if total is None:
                self._failed = "unsupported Ogg codec"
                return
            used, left = _count_packets(lacing, total)
            if left == 0 and used < len(lacing):
                self._failed = "audio on an Ogg beginning-of-stream page"
            self._left[serial] = left
        # End of stream: forget the serial, which a chained stream may reuse.
        if page[5] & 0x04 and self._left.pop(serial, 0):
            self._failed = "Ogg stream ends inside its header packets"
