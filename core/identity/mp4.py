"""The codec set-up of an MP4/M4A file's audio tracks (DESIGN.md, "Hashes").

A decoder finds each sample through the track's sample tables: ``stsd`` (the codec and its
configuration: AAC's AudioSpecificConfig, ALAC's magic cookie), ``stts``/``ctts`` (timing),
``stsc`` (samples per chunk), ``stsz``/``stz2`` (sample sizes), ``stco``/``co64`` (where each
chunk starts), ``stss``, the ``mdhd`` timescale and duration and the edit list. One flipped
byte in any of them and PyAV decodes garbage or nothing, while the ``mdat`` bytes are intact,
so they are part of the identity. Taggers (AtomicParsley, TagLib, mutagen) rewrite ``udta``/
``meta``/``ilst`` and may move ``mdat`` (``ffmpeg -movflags +faststart`` puts ``moov`` first),
which shifts every chunk offset by the same amount: offsets are therefore recorded relative to
the start of the ``mdat`` they point into. The bitrate statistics a muxer writes into the
sample description (the ``esds`` decoder config's buffer size, maximum and average bitrate,
and a ``btrt`` box) are bookkeeping no decoder uses, recomputed by every remux
(``ffmpeg -c copy``): they are left out.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from phonovault.core.identity.parts import Malformed, Source, read_exact, setup_record

# moov holds the sample tables of every track; an hour of AAC needs about 700 KB.
MAX_MOOV = 256 << 20
_CONTAINERS = {b"trak", b"mdia", b"minf", b"stbl", b"edts"}
_TABLES = (b"stsd", b"stts", b"stsc", b"stsz", b"stz2", b"ctts", b"stss", b"elst")
_OUTSIDE = 0xFFFFFFFF  # a chunk offset that points into no mdat: damage, kept as such


def _boxes(data: bytes, pos: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(kind, body start, body end) of the boxes in ``data[pos:end]``."""
    while end - pos >= 8:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if end - pos < 16:
                raise Malformed("truncated MP4 box")
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            printable = all(32 <= b < 127 for b in kind)
            name = kind.decode("ascii") if printable else f"0x{kind.hex()}"
            raise Malformed(f"MP4 box {name} does not fit its parent (damaged)")
        yield kind, pos + header, pos + size
        pos += size


def mp4_setup(f: Source, moov: tuple[int, int], mdats: tuple[tuple[int, int], ...]) -> bytes:
    """The set-up records of every audio track in the ``moov`` at ``moov`` (body range)."""
    start, end = moov
    if end - start > MAX_MOOV:
        raise Malformed("MP4 moov atom too large")
    data = read_exact(f, start, end - start, "MP4 moov atom")
    out = bytearray()
    for kind, lo, hi in _boxes(data, 0, len(data)):
        if kind == b"trak":
            out += _track(data, lo, hi, mdats)
    if not out:
        raise Malformed("MP4 with no audio track")
    return bytes(out)


def _track(data: bytes, lo: int, hi: int, mdats: tuple[tuple[int, int], ...]) -> bytes:
    """One track's records, or nothing when it is not sound (a chapter or cover track)."""
    found: dict[bytes, bytes] = {}
    _gather(data, lo, hi, found)
    if found.get(b"hdlr", b"")[8:12] != b"soun":
        return b""
    out = bytearray(_mdhd(found.get(b"mdhd", b"")))
    if b"stsd" in found:
        found[b"stsd"] = _without_bitrates(found[b"stsd"])
    for name in _TABLES:
        if name in found:
            out += setup_record(name, found[name])
    for name, width in ((b"stco", 4), (b"co64", 8)):
        if name in found:
            out += setup_record(name, _offsets(found[name], width, mdats))
    return bytes(out)


def _gather(data: bytes, lo: int, hi: int, found: dict[bytes, bytes]) -> None:
    for kind, body, end in _boxes(data, lo, hi):
        if kind in _CONTAINERS:
            _gather(data, body, end, found)
        elif kind not in found:
            found[kind] = data[body:end]


# Bytes of an audio sample entry before its child boxes, by sound description version
# (ISO/IEC 14496-12; QuickTime's versions 1 and 2 add fields).
_SOUND_ENTRY = {0: 28, 1: 44, 2: 64}


def _without_bitrates(stsd: bytes) -> bytes:
    """``stsd`` with the bitrate statistics zeroed and ``btrt`` dropped; unchanged when it
    does not parse as expected (then every byte counts, as for any other table)."""
    if len(stsd) < 8:
        return stsd
    out = bytearray(stsd[:8])
    try:
        for kind, body, end in _boxes(stsd, 8, len(stsd)):
            head = body + _SOUND_ENTRY.get(struct.unpack_from(">H", stsd, body + 8)[0], -1)
            if head < body or head > end:
                return stsd
            entry = bytearray(stsd[body:head])
            for child, lo, hi in _boxes(stsd, head, end):
                if child == b"btrt":
                    continue
                data = bytearray(stsd[lo:hi])
                if child == b"esds":
                    _zero_esds_bitrates(data)
                entry += struct.pack(">I4s", 8 + len(data), child) + data
            out += struct.pack(">I4s", 8 + len(entry), kind) + entry
    except (Malformed, struct.error, IndexError):
        return stsd
    return bytes(out)


def _descriptor(data: bytearray, pos: int) -> tuple[int, int, int]:
    """(tag, body start, body end) of the MPEG-4 descriptor at ``pos``."""
    tag, pos, size = data[pos], pos + 1, 0
    for _ in range(4):
        byte = data[pos]
        pos += 1
        size = (size << 7) | (byte & 0x7F)
        if not byte & 0x80:
            break
    if pos + size > len(data):
        raise IndexError("descriptor runs past its box")
    return tag, pos, pos + size


def _zero_esds_bitrates(esds: bytearray) -> None:
    """Zero bufferSizeDB, maxBitrate and avgBitrate of the DecoderConfigDescriptor."""
    tag, pos, _end = _descriptor(esds, 4)  # after version and flags
    if tag != 0x03:  # ES_Descriptor
        return
    flags = esds[pos + 2]
    pos += 3 + (2 if flags & 0x80 else 0) + (2 if flags & 0x20 else 0)
    if flags & 0x40:  # a URL
        pos += 1 + esds[pos]
    tag, body, end = _descriptor(esds, pos)
    if tag == 0x04 and end - body >= 13:  # DecoderConfigDescriptor
        esds[body + 2 : body + 13] = bytes(11)


def _mdhd(body: bytes) -> bytes:
    """Timescale and duration only: the creation and modification times are not audio."""
    if len(body) >= 32 and body[0] == 1:
        timescale, duration = struct.unpack_from(">IQ", body, 20)
    elif len(body) >= 20:
        timescale, duration = struct.unpack_from(">II", body, 12)
    else:
        raise Malformed("MP4 audio track without a valid mdhd")
    return setup_record(b"mdhd", struct.pack(">IQ", timescale, duration))


def _offsets(body: bytes, width: int, mdats: tuple[tuple[int, int], ...]) -> bytes:
    """A chunk-offset table rewritten as (mdat number, offset inside that mdat)."""
    if len(body) < 8:
        raise Malformed("truncated MP4 chunk offset table")
    (count,) = struct.unpack_from(">I", body, 4)
    if 8 + count * width > len(body):
        raise Malformed("truncated MP4 chunk offset table")
    offsets = struct.unpack_from(f">{count}{'I' if width == 4 else 'Q'}", body, 8)
    out = bytearray(body[:8])
    index = 0
    for offset in offsets:
        if not mdats[index][0] <= offset < mdats[index][1]:  # tables are nearly always sorted
            index = next((i for i, (a, b) in enumerate(mdats) if a <= offset < b), -1)
        if index < 0:
            out += struct.pack(">IQ", _OUTSIDE, offset)
            index = 0
        else:
            out += struct.pack(">IQ", index, offset - mdats[index][0])
    return bytes(out)
