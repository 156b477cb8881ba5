"""Where the structures a decoder needs sit in a file, parsed from each format's spec.

:func:`critical_structures` names one byte inside each decode-critical structure of a file
(the set DESIGN.md, "Hashes", lists for the audio identity), chosen so that flipping it changes
what a decoder does: a sample rate, a channel count, a sample-table entry, a frame header, a
Vorbis codebook. The parsing here is written from the specs on purpose and shares nothing with
:mod:`phonovault.core.identity.payload`, so a test that flips these bytes checks the identity
against an
independent reading of the format, not against itself.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["critical_structures", "ogg_crc", "ogg_packets", "ogg_recrc", "strip_trailing_tags"]


def critical_structures(path: Path) -> dict[str, int]:
    """Structure name ("flac:STREAMINFO sample rate", "mp4:stsz", ...) -> absolute offset of
    one decode-relevant byte inside it. Raises ``ValueError`` for a format it does not know."""
    data = Path(path).read_bytes()
    start = _after_id3v2(data)
    magic = data[start : start + 4]
    for test, parse in _PARSERS:
        if test(data, start, magic):
            return parse(data, start)
    raise ValueError(f"{path}: no structure locator for this format")


def _after_id3v2(data: bytes) -> int:
    """Offset of the first byte after a leading ID3v2 tag (0 without one)."""
    if data[:3] != b"ID3" or len(data) < 10:
        return 0
    size = 0
    for b in data[6:10]:
        size = (size << 7) | (b & 0x7F)
    return 10 + size + (10 if data[5] & 0x10 else 0)


def strip_trailing_tags(data: bytes, end: int | None = None) -> int:
    """The end of a stream once trailing ID3v1, APEv2 and Lyrics3v2 tags are taken off."""
    end = len(data) if end is None else end
    while True:
        if end >= 128 and data[end - 128 : end - 125] == b"TAG":
            end -= 128
        elif end >= 32 and data[end - 32 : end - 24] == b"APETAGEX":
            size, flags = struct.unpack_from("<II", data, end - 32 + 12)
            end -= size + (32 if flags & 0x80000000 else 0)
        elif end >= 15 and data[end - 9 : end] == b"LYRICS200":
            end -= int(data[end - 15 : end - 9]) + 15
        else:
            return end


# -- FLAC -----------------------------------------------------------------------------------


def _flac_blocks(data: bytes, start: int) -> tuple[int, int]:
    """(STREAMINFO body offset, first frame offset)."""
    pos, streaminfo = start + 4, -1
    while True:
        header, length = data[pos], int.from_bytes(data[pos + 1 : pos + 4], "big")
        if header & 0x7F == 0:
            streaminfo = pos + 4
        pos += 4 + length
        if header & 0x80:
            return streaminfo, pos


def _flac(data: bytes, start: int) -> dict[str, int]:
    info, frames = _flac_blocks(data, start)
    end = strip_trailing_tags(data)
    return {
        "flac:STREAMINFO block size": info + 1,  # low byte of the minimum block size
        "flac:STREAMINFO sample rate": info + 11,  # bits 4..11 of the 20-bit rate
        "flac:STREAMINFO channels/bits": info + 12,  # rate's low nibble, channels, bps MSB
        "flac:STREAMINFO total samples": info + 17,  # low byte of the 36-bit count
        "flac:STREAMINFO md5": info + 18 + 7,
        "flac:frame header": frames + 2,  # block-size and sample-rate codes
        "flac:frame": (frames + end) // 2,
    }


# -- RIFF / AIFF / DSF ----------------------------------------------------------------------


def _iff_chunks(data: bytes, pos: int, end: int, fmt: str) -> dict[bytes, tuple[int, int]]:
    """Chunk id -> (body offset, body length) of the first chunk of each id."""
    found: dict[bytes, tuple[int, int]] = {}
    while pos + 8 <= end:
        cid, size = data[pos : pos + 4], struct.unpack_from(fmt, data, pos + 4)[0]
        found.setdefault(cid, (pos + 8, size))
        pos += 8 + size + (size & 1)
    return found


def _wav(data: bytes, start: int) -> dict[str, int]:
    chunks = _iff_chunks(data, start + 12, len(data), "<I")
    fmt, (body, size) = chunks[b"fmt "][0], chunks[b"data"]
    out = {
        "wav:fmt ": fmt + 2,  # channel count, low byte
        "wav:fmt  sample rate": fmt + 5,
        "wav:data": body + size // 2,
    }
    if b"fact" in chunks:
        out["wav:fact"] = chunks[b"fact"][0]
    return out


def _aiff(data: bytes, start: int) -> dict[str, int]:
    chunks = _iff_chunks(data, start + 12, len(data), ">I")
    comm, (body, size) = chunks[b"COMM"][0], chunks[b"SSND"]
    return {
        "aiff:COMM": comm + 1,  # channel count, low byte (big-endian)
        "aiff:COMM sample size": comm + 7,
        "aiff:SSND": body + 8 + (size - 8) // 2,
    }


def _dsf(data: bytes, start: int) -> dict[str, int]:
    pos = start + struct.unpack_from("<Q", data, start + 4)[0]  # after the "DSD " chunk
    chunks: dict[bytes, tuple[int, int]] = {}
    while pos + 12 <= len(data) and data[pos : pos + 4] in (b"fmt ", b"data"):
        size = struct.unpack_from("<Q", data, pos + 4)[0]
        chunks[data[pos : pos + 4]] = (pos, size)
        pos += size
    fmt, (body, size) = chunks[b"fmt "][0], chunks[b"data"]
    return {
        "dsf:fmt ": fmt + 24,  # channel number, low byte
        "dsf:fmt  sampling frequency": fmt + 29,
        "dsf:data": body + 12 + (size - 12) // 2,
    }


# -- MP4 ------------------------------------------------------------------------------------

_MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"udta"}


def _mp4_atoms(data: bytes, pos: int, end: int, trail: tuple[bytes, ...] = ()) -> Iterator:
    """(path, header offset, body offset, end) of every atom, depth first."""
    while pos + 8 <= end:
        size, name = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        here = (*trail, name)
        yield here, pos, pos + header, pos + size
        if name in _MP4_CONTAINERS:
            yield from _mp4_atoms(data, pos + header, pos + size, here)
        pos += size


def _stsd_codec_byte(data: bytes, body: int, end: int) -> int:
    """A byte of the first sample entry's decoder configuration: the AAC AudioSpecificConfig
    (sample-rate index and channel configuration), the ALAC cookie's bit depth, or else the
    sample entry's channel count."""
    entry = body + 8
    config = entry + 8 + 28  # after SampleEntry + AudioSampleEntry (version 0)
    for _path, _pos, inner, stop in _mp4_atoms(data, config, min(end, config + 4096)):
        if _path[-1] == b"esds":
            return _esds_asc(data, inner + 4) + 1
        if _path[-1] == b"alac" and stop - inner >= 28:
            return inner + 4 + 5
    return entry + 8 + 16 + 1


def _esds_asc(data: bytes, pos: int) -> int:
    """Offset of the AudioSpecificConfig inside an esds descriptor list."""
    while True:
        tag, pos = data[pos], pos + 1
        length = 0
        for _ in range(4):
            b, pos = data[pos], pos + 1
            length = (length << 7) | (b & 0x7F)
            if not b & 0x80:
                break
        if tag == 0x03:  # ES_Descriptor: ES_ID, flags, optional fields, then children
            flags = data[pos + 2]
            pos += 3 + (2 if flags & 0x80 else 0) + (2 if flags & 0x20 else 0)
            if flags & 0x40:
                pos += 1 + data[pos]
        elif tag == 0x04:  # DecoderConfigDescriptor: 13 bytes, then children
            pos += 13
        elif tag == 0x05:
            return pos
        else:
            pos += length


def _mp4_table_bytes(name: bytes, data: bytes, body: int, end: int) -> int | None:
    """A decode-relevant byte of one sample-table (or media) atom; body = after the header."""
    version = data[body]
    entries = body + 8
    if name == b"stsd":
        return _stsd_codec_byte(data, body, end)
    if name in (b"stts", b"ctts"):
        return entries + 7  # low byte of the first entry's delta / offset
    if name == b"stsc":
        return entries + 7  # low byte of the first entry's samples-per-chunk
    if name == b"stsz":
        count = struct.unpack_from(">I", data, body + 8)[0]
        if struct.unpack_from(">I", data, body + 4)[0]:
            return body + 7  # one size for all samples
        return body + 12 + 4 * (count // 2) + 3
    if name == b"stz2":
        count = struct.unpack_from(">I", data, body + 8)[0]
        width = data[body + 7]
        return body + 12 + (count // 2) * width // 8
    if name == b"stco":
        return entries + 3
    if name == b"co64":
        return entries + 7
    if name == b"stss":
        return entries + 3
    if name == b"mdhd":
        return body + (23 if version == 1 else 15)  # low byte of the timescale
    if name == b"elst":
        return entries + (15 if version == 1 else 7)  # low byte of the media time
    return None


def _mp4(data: bytes, start: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for path, _pos, body, end in _mp4_atoms(data, start, len(data)):
        name = path[-1]
        if name == b"mdat" and "mp4:mdat" not in out and end > body:
            out["mp4:mdat"] = (body + end) // 2
        elif path[:2] == (b"moov", b"trak") and f"mp4:{name.decode('latin-1')}" not in out:
            where = _mp4_table_bytes(name, data, body, end)
            if where is not None:
                out[f"mp4:{name.decode('latin-1')}"] = where
    return out


# -- Ogg ------------------------------------------------------------------------------------


def ogg_packets(data: bytes) -> tuple[list[int], list[list[tuple[int, int]]]]:
    """(page offsets, packets); a packet is its list of (file offset, length) spans, in
    order (a packet continued across pages has one span per page)."""
    pages: list[int] = []
    packets: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    pos = data.find(b"OggS")
    while pos >= 0 and pos + 27 <= len(data) and data[pos : pos + 4] == b"OggS":
        pages.append(pos)
        lacing = data[pos + 27 : pos + 27 + data[pos + 26]]
        body = pos + 27 + len(lacing)
        run = 0
        for value in lacing:
            run += value
            if value < 255:
                current.append((body, run))
                packets.append(current)
                current, body, run = [], body + run, 0
        if run:
            current.append((body, run))
            body += run
        pos = body
    return pages, packets


def _packet_offset(packet: list[tuple[int, int]], index: int) -> int:
    for start, length in packet:
        if index < length:
            return start + index
        index -= length
    raise IndexError(index)


def _ogg_headers(first: bytes, packets: list[list[tuple[int, int]]]) -> tuple[int, int, int]:
    """(header packet count, byte of the identification header, byte of the setup header or
    -1) for Vorbis, Opus and FLAC-in-Ogg."""
    if first.startswith(b"\x01vorbis"):
        setup = packets[2]
        middle = sum(length for _, length in setup) // 2
        return 3, _packet_offset(packets[0], 11), _packet_offset(setup, middle)
    if first.startswith(b"OpusHead"):
        return 2, _packet_offset(packets[0], 9), -1  # channel count
    if first.startswith(b"\x7fFLAC"):
        headers = 1 + int.from_bytes(first[7:9], "big")
        return headers, _packet_offset(packets[0], 13 + 4 + 11), -1  # STREAMINFO rate
    raise ValueError("an Ogg stream of a codec the locator does not know")


def _ogg(data: bytes, start: int) -> dict[str, int]:
    pages, packets = ogg_packets(data)
    first_start, first_length = packets[0][0]
    headers, ident, setup = _ogg_headers(data[first_start : first_start + first_length], packets)
    last_header_page = max(p for p in pages if p <= packets[headers - 1][-1][0])
    audio_pages = [p for p in pages if p > last_header_page]
    page = audio_pages[len(audio_pages) // 2]
    audio = packets[headers:]
    packet = audio[len(audio) // 2]
    out = {
        "ogg:identification header": ident,
        "ogg:audio page CRC": page + 22,
        "ogg:audio page sequence": page + 18,
        "ogg:audio packet": _packet_offset(packet, sum(n for _, n in packet) // 2),
        "ogg:final granule": pages[-1] + 6,
    }
    if setup >= 0:
        out["ogg:setup header"] = setup
    return out


def _ogg_crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else r << 1
        table.append(r & 0xFFFFFFFF)
    return table


_OGG_CRC = _ogg_crc_table()


def ogg_crc(page: bytes | bytearray) -> int:
    """The CRC of an Ogg page whose CRC field is zeroed."""
    crc = 0
    for b in page:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _OGG_CRC[(crc >> 24) ^ b]
    return crc


def ogg_recrc(data: bytearray) -> None:
    """Give every page of ``data`` its correct CRC (after an edit a muxer would make)."""
    for page in ogg_packets(bytes(data))[0]:
        lacing = data[page + 27 : page + 27 + data[page + 26]]
        end = page + 27 + len(lacing) + sum(lacing)
        data[page + 22 : page + 26] = bytes(4)
        struct.pack_into("<I", data, page + 22, ogg_crc(data[page:end]))


# -- MPEG audio (Layer III) and WavPack ------------------------------------------------------

_MP3_KBPS = {  # (MPEG-1?, index) -> kbit/s, Layer III
    True: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    False: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_frames(data: bytes, pos: int, end: int) -> list[int]:
    """Offsets of consecutive Layer III frames from the first frame sync at or after pos."""
    while pos + 4 <= end and not (data[pos] == 0xFF and data[pos + 1] & 0xE0 == 0xE0):
        pos += 1
    frames = []
    while pos + 4 <= end and data[pos] == 0xFF and data[pos + 1] & 0xE6 == 0xE2:
        version, index = (data[pos + 1] >> 3) & 3, data[pos + 2] >> 4
        rate_index, padding = (data[pos + 2] >> 2) & 3, (data[pos + 2] >> 1) & 1
        if index in (0, 15) or rate_index == 3 or version == 1:
            break
        mpeg1 = version == 3
        kbps, rate = _MP3_KBPS[mpeg1][index], _MP3_RATES[version][rate_index]
        frames.append(pos)
        pos += (144 if mpeg1 else 72) * kbps * 1000 // rate + padding
    return frames


def _mp3(data: bytes, start: int) -> dict[str, int]:
    frames = _mp3_frames(data, start, strip_trailing_tags(data))
    first = frames[0]
    mpeg1, mono = (data[first + 1] >> 3) & 3 == 3, data[first + 3] >> 6 == 3
    xing = first + 4 + ((17 if mono else 32) if mpeg1 else (9 if mono else 17))
    middle = frames[len(frames) // 2]
    out = {
        "mp3:frame header": middle + 2,  # bitrate, sample-rate and padding bits
        "mp3:frame": (middle + frames[len(frames) // 2 + 1]) // 2,
    }
    if data[xing : xing + 4] in (b"Xing", b"Info") and data[xing + 7] & 1:
        out["mp3:Xing/LAME"] = xing + 11  # low byte of the frame count
        flags = data[xing + 7]
        lame = xing + 8 + sum(n for bit, n in ((1, 4), (2, 4), (4, 100), (8, 4)) if flags & bit)
        if data[lame : lame + 4] in (b"LAME", b"Lavf", b"Lavc"):
            out["mp3:LAME delay/padding"] = lame + 22  # encoder delay (low bits), padding
    return out


def _wavpack(data: bytes, start: int) -> dict[str, int]:
    blocks, pos, end = [], start, strip_trailing_tags(data)
    while pos + 32 <= end and data[pos : pos + 4] == b"wvpk":
        blocks.append(pos)
        pos += 8 + struct.unpack_from("<I", data, pos + 4)[0]
    block = blocks[len(blocks) // 2]
    block_end = block + 8 + struct.unpack_from("<I", data, block + 4)[0]
    return {
        "wavpack:block header": block + 20,  # low byte of the block's sample count
        "wavpack:samples": (block + 32 + block_end) // 2,
    }


_PARSERS: tuple[tuple[Callable[[bytes, int, bytes], bool], Callable], ...] = (
    (lambda d, s, m: m == b"fLaC", _flac),
    (lambda d, s, m: m == b"OggS", _ogg),
    (lambda d, s, m: m in (b"RIFF", b"RF64") and d[s + 8 : s + 12] == b"WAVE", _wav),
    (lambda d, s, m: m == b"FORM" and d[s + 8 : s + 12] in (b"AIFF", b"AIFC"), _aiff),
    (lambda d, s, m: m == b"DSD ", _dsf),
    (lambda d, s, m: d[s + 4 : s + 8] == b"ftyp", _mp4),
    (lambda d, s, m: m == b"wvpk", _wavpack),
    (lambda d, s, m: m[:1] == b"\xff" and m[1:2] >= b"\xe0", _mp3),
)
