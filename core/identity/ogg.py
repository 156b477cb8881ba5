"""The audio identity of an Ogg file, independent of its pagination (DESIGN.md, "Hashes").

Taggers (vorbiscomment, TagLib) re-paginate a whole file when a comment grows, and remuxers
(``ffmpeg -c copy``) pick new serial numbers, yet neither changes a single packet a decoder
reads. So the identity is defined over packets, not pages: per logical stream (numbered in the
order the streams begin), the codec's identification and set-up header packets (never its
comment packet), every audio packet's bytes and length in stream order, and the final granule
position (it says where the last packet ends: end trimming).

What a decoder drops is damage: every page's CRC is checked on the way, and a page whose CRC
fails, a gap in a stream's page sequence, or a packet cut short by the next page is folded into
the identity (so it differs from the undamaged baseline) and named in :attr:`damage`.

Parsing is streaming: the caller feeds ``(offset, chunk)`` in file order and every byte is
looked at once. A stream we cannot classify (an unknown codec) ends the filter with a reason,
which the caller turns into the file-hash fallback.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from phonovault.core.identity.parts import Hasher, IdentityParts, Staging

# Reversing the bits of every byte lets zlib's reflected CRC-32 compute Ogg's unreflected one
# (polynomial 0x04C11DB7, initial value 0, no final xor) at C speed.
_BITSWAP = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))
_NO_GRANULE = 0xFFFFFFFFFFFFFFFF
_LENGTHS_FLUSH = 1 << 16
_AUDIO, _KEEP, _SKIP = 0, 1, 2


def ogg_crc_update(running: int, data: bytes | memoryview) -> int:
    """Fold ``data`` into a running CRC (start with :data:`CRC_START`)."""
    return zlib.crc32(bytes(data).translate(_BITSWAP), running)


CRC_START = 0xFFFFFFFF


def ogg_crc_value(running: int) -> int:
    """The Ogg CRC a running value stands for, as a page header stores it."""
    reflected = (running ^ 0xFFFFFFFF).to_bytes(4, "little").translate(_BITSWAP)
    return int.from_bytes(reflected, "big")


@dataclass(frozen=True, slots=True)
class _Codec:
    """What a codec's header packets are: how many, and which ones a decoder needs."""

    name: str
    headers: int | None  # None: told apart by their content (FLAC-in-Ogg)
    hashed: frozenset[int]  # header packet indexes that belong to the identity
    ignore: bool = False  # a stream that carries no sound (Ogg Skeleton)


def _codec(first: bytes) -> _Codec | None:
    """Name a logical stream's codec from its identification packet."""
    if first.startswith(b"\x01vorbis"):
        return _Codec("vorbis", 3, frozenset({0, 2}))
    if first.startswith(b"OpusHead"):
        return _Codec("opus", 2, frozenset({0}))
    if first.startswith(b"\x7fFLAC"):
        return _Codec("flac", None, frozenset({0}))
    if first.startswith(b"Speex   ") and len(first) >= 72:
        return _Codec("speex", 2 + int.from_bytes(first[68:72], "little"), frozenset({0}))
    if first.startswith(b"\x80theora"):
        return _Codec("theora", 3, frozenset({0, 2}))
    if first.startswith(b"fishead\0"):
        return _Codec("skeleton", None, frozenset(), ignore=True)
    return None


def _decoder_bytes(codec: _Codec, index: int, packet: bytes) -> bytes:
    """The part of a hashed header packet a decoder reads. FLAC-in-Ogg's first packet also
    counts the header packets that follow, which a tagger changes when it adds a picture:
    only its STREAMINFO (after the 13-byte mapping header and the 4-byte block header)."""
    if codec.name == "flac" and index == 0:
        return packet[17:51]
    return packet


@dataclass(slots=True)
class _Stream:
    """One logical stream's state while its pages stream past."""

    index: int
    samples: Staging
    lengths: Hasher
    codec: _Codec | None = None
    packets: int = 0  # packets completed so far
    mode: int = 0  # of the packet under way: _AUDIO, _KEEP (a header we need) or _SKIP
    packet: bytearray = field(default_factory=bytearray)  # a _KEEP header's bytes
    packet_len: int = 0
    started: bool = False  # a packet is under way (it may have no bytes yet)
    open_packet: bool = False  # the last page ended inside a packet
    seq: int | None = None
    granule: int = _NO_GRANULE
    pending_lengths: bytearray = field(default_factory=bytearray)
    marks: list[bytes] = field(default_factory=list)

    def begin_packet(self, first_byte: int | None) -> None:
        """Decide what the packet that starts now is, from where it stands (and, for
        FLAC-in-Ogg, whose header count a tagger may change, from its first byte)."""
        codec, index = self.codec, self.packets
        if index == 0 or codec is None:
            header = True
        elif codec.headers is None:  # FLAC-in-Ogg: audio frames start with a frame sync
            header = first_byte != 0xFF
        else:
            header = index < codec.headers
        if not header:
            self.mode = _AUDIO
        elif index == 0 or (codec is not None and index in codec.hashed and not codec.ignore):
            self.mode = _KEEP
        else:
            self.mode = _SKIP  # a comment packet: a tagger's, however large
        self.started = True


class OggPacketFilter:
    """Streams an Ogg file into :class:`IdentityParts` (see the module's docstring)."""

    method = "ogg-packets"

    def __init__(self, start: int, new_hasher: Callable[[], Hasher]) -> None:
        self._start = start
        self._new = new_hasher
        self._setup = new_hasher()
        self._streams: list[_Stream] = []
        self._live: dict[int, _Stream] = {}  # serial -> stream still running
        self._head = bytearray()  # a page header that straddles chunks
        self._page = b""
        self._page_at = 0
        self._stream: _Stream | None = None
        self._spans: list[list[int]] = []  # [bytes left, ends a packet] per packet piece
        self._body_left = 0
        self._ends_open = False
        self._crc = CRC_START
        self._damage: list[str] = []
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
                continue
            head = self._head
            if not head and i + 27 <= n and i + 27 + chunk[i + 26] <= n:
                end = i + 27 + chunk[i + 26]  # the whole header is here (nearly always)
                self._start_page(bytes(chunk[i:end]), offset + i)
                i = end
                continue
            if not head:
                self._page_at = offset + i
            take = min((27 if len(head) < 27 else 27 + head[26]) - len(head), n - i)
            head += chunk[i : i + take]
            i += take
            if len(head) >= 27 and len(head) == 27 + head[26]:
                self._start_page(bytes(head), self._page_at)
                head.clear()

    def finish(self) -> str | None:
        if self._failed is not None:
            return self._failed
        if self._head or self._body_left:
            return "truncated Ogg page"
        if not self._streams:
            return "no Ogg stream"
        for stream in self._streams:
            if stream.codec is None or (stream.codec.headers or 0) > stream.packets:
                return "Ogg stream ends inside its header packets"
        if all(stream.codec is not None and stream.codec.ignore for stream in self._streams):
            return "Ogg with no audio stream (only an index such as a skeleton)"
        return None

    def parts(self) -> IdentityParts:
        """The identity's two halves; call after :meth:`finish` returned None."""
        samples = self._new()
        for stream in self._streams:
            if stream.codec is not None and stream.codec.ignore:
                continue
            stream.samples.flush()
            stream.lengths.update(stream.pending_lengths)
            tail = struct.pack("<IQ", stream.index, stream.granule) + b"".join(stream.marks)
            samples.update(bytes.fromhex(stream.samples.hexdigest()))
            samples.update(bytes.fromhex(stream.lengths.hexdigest()) + tail)
        damage = "; ".join(self._damage[:3]) if self._damage else None
        if len(self._damage) > 3:
            damage = f"{damage} (and {len(self._damage) - 3} more)"
        return IdentityParts(self._setup.hexdigest(), samples.hexdigest(), damage)

    # -- pages ------------------------------------------------------------------------------

    def _start_page(self, page: bytes, at: int) -> None:
        if page[:5] != b"OggS\0":
            self._failed = "data between Ogg pages that is not a page"
            return
        flags, granule, serial, seq = struct.unpack_from("<BQII", page, 5)
        self._page, self._page_at = page, at
        self._crc = ogg_crc_update(CRC_START, page[:22] + b"\0\0\0\0" + page[26:])
        stream = self._stream_of(flags, serial)
        if stream is None:
            return
        if stream.seq is not None and seq != (stream.seq + 1) & 0xFFFFFFFF:
            self._mark(stream, b"gap", f"Ogg pages missing before byte {at}")
        stream.seq = seq
        if granule != _NO_GRANULE:
            stream.granule = granule
        if stream.open_packet and not flags & 0x01:
            self._end_packet(stream, cut=True)
        elif flags & 0x01 and not stream.open_packet:
            self._mark(stream, b"orphan", f"Ogg page at byte {at} continues a lost packet")
        lacing = page[27:]
        self._spans = _spans(lacing)
        # A page that ends on a 255 leaves its last packet open for the next page.
        self._ends_open = lacing[-1] == 255 if lacing else stream.open_packet
        self._body_left = sum(lacing)
        self._stream = stream
        self._empty_spans()
        if not self._body_left:
            self._end_page()

    def _stream_of(self, flags: int, serial: int) -> _Stream | None:
        if flags & 0x02:
            if serial in self._live:
                self._failed = "two Ogg streams with the same serial number"
                return None
            stream = _Stream(len(self._streams), Staging(self._new()), self._new())
            self._streams.append(stream)
            self._live[serial] = stream
            return stream
        live = self._live.get(serial)
        if live is None:
            self._failed = "Ogg page of a stream that never began"
        return live

    def _end_page(self) -> None:
        page, stream = self._page, self._stream
        assert stream is not None
        stream.open_packet = self._ends_open
        stored = int.from_bytes(page[22:26], "little")
        if ogg_crc_value(self._crc) != stored:
            self._mark(stream, b"crc" + page[18:26], f"Ogg page at byte {self._page_at} "
                       "fails its CRC check (decoders drop it)")  # fmt: skip
        if page[5] & 0x04:  # end of stream: a chained stream may reuse the serial
            self._live.pop(int.from_bytes(page[14:18], "little"), None)
            if stream.open_packet:
                self._end_packet(stream, cut=True)
                stream.open_packet = False

    def _mark(self, stream: _Stream, what: bytes, why: str) -> None:
        stream.marks.append(struct.pack("<QB", stream.packets, len(what)) + what)
        self._damage.append(why)

    # -- packets ----------------------------------------------------------------------------

    def _body(self, piece: memoryview) -> None:
        self._crc = ogg_crc_update(self._crc, piece)
        stream = self._stream
        assert stream is not None
        spans, at = self._spans, 0
        while at < len(piece) and spans:
            span = spans[0]
            take = min(span[0], len(piece) - at)
            self._packet_bytes(stream, piece[at : at + take])
            at += take
            span[0] -= take
            if span[0] == 0:
                spans.pop(0)
                if span[1]:
                    self._end_packet(stream)
                self._empty_spans()

    def _empty_spans(self) -> None:
        """Packets of no bytes (a lacing value of 0 after a packet boundary) end at once."""
        stream, spans = self._stream, self._spans
        assert stream is not None
        while spans and spans[0][0] == 0:
            if spans.pop(0)[1]:
                self._end_packet(stream)

    def _packet_bytes(self, stream: _Stream, data: memoryview) -> None:
        if not stream.started:
            stream.begin_packet(data[0] if data else None)
        if stream.mode == _AUDIO:
            stream.samples.update(data)
        elif stream.mode == _KEEP:
            stream.packet += data
        stream.packet_len += len(data)

    def _end_packet(self, stream: _Stream, *, cut: bool = False) -> None:
        if cut:
            self._mark(stream, b"cut", "an Ogg packet is cut short (a page is missing)")
        if not stream.started:
            stream.begin_packet(None)
        if stream.mode == _AUDIO:
            stream.pending_lengths += stream.packet_len.to_bytes(4, "little")
            if len(stream.pending_lengths) >= _LENGTHS_FLUSH:
                stream.lengths.update(stream.pending_lengths)
                stream.pending_lengths = bytearray()
        elif stream.mode == _KEEP:
            self._header_packet(stream, bytes(stream.packet))
            stream.packet = bytearray()
        stream.packet_len, stream.started = 0, False
        stream.packets += 1

    def _header_packet(self, stream: _Stream, packet: bytes) -> None:
        index = stream.packets
        if index == 0:
            stream.codec = _codec(packet)
            if stream.codec is None:
                self._failed = "unsupported Ogg codec"
                return
        codec = stream.codec
        assert codec is not None
        if index in codec.hashed and not codec.ignore:
            body = _decoder_bytes(codec, index, packet)
            self._setup.update(struct.pack("<IIQ", stream.index, index, len(body)) + body)


def _spans(lacing: bytes) -> list[list[int]]:
    """A page's packet pieces from its segment table: [length, ends a packet]. A run of 255s
    and the value after it are one piece; a final 255 leaves the packet open."""
    spans: list[list[int]] = []
    run = 0
    for value in lacing:
        run += value
        if value < 255:
            spans.append([run, 1])
            run = 0
    if lacing and lacing[-1] == 255:
        spans.append([run, 0])
    return spans
