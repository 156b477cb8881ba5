"""The Xing/Info (and LAME) header of an MPEG audio stream, as the audio identity sees it.

Most MP3s open with one frame that carries no audio but a Xing or Info header: the number of
frames (a decoder's duration), a seek table, a byte count, and, written by LAME and FFmpeg, the
encoder delay and padding that gapless players trim. A decoder's output depends on the frame
count and on the delay and padding; the seek table, the byte count, the quality, the encoder
string, the ReplayGain and the CRCs of that frame, and the frame's own bitrate, only on how it
seeks or what it displays. A lossless remux (``ffmpeg -c copy``) rewrites the whole frame,
often at another bitrate, while every audio frame stays as it was.

So the identity takes the Xing frame apart (DESIGN.md, "Hashes": every byte a decoder reads
for the samples, nothing that is bookkeeping): its set-up record holds the stream's fixed
header fields, the frame count and the delay and padding; the samples half starts after the
frame. Rot in the other bytes is still seen: the file hash changes with no write, which is
``corrupt``. Version 1 hashed the stream from its first byte, Xing frame included
(:func:`phonovault.core.identity.legacy.legacy_stream_hash`).
"""

from __future__ import annotations

import struct

from phonovault.core.identity.parts import Source, read_upto, setup_record

_KBPS = {  # MPEG-1 or not -> Layer III bitrates by index
    True: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    False: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_FRAMES, _BYTES, _TOC, _QUALITY = 1, 2, 4, 8
# A Xing frame is one frame: at most 1,441 bytes (MPEG-1 Layer III, 320 kbit/s, 32 kHz).
_MAX_FRAME = 2048


def xing_split(f: Source, start: int, end: int) -> tuple[bytes, int] | None:
    """(set-up record, first byte after the Xing frame) when the stream at ``start`` opens
    with a Layer III frame holding a Xing/Info header; None otherwise (the stream is then
    hashed from ``start``, as every other stream is)."""
    head = read_upto(f, start, min(_MAX_FRAME, end - start))
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE6 != 0xE2:  # sync, Layer III
        return None
    version, index = (head[1] >> 3) & 3, head[2] >> 4
    rate_index, padding = (head[2] >> 2) & 3, (head[2] >> 1) & 1
    if version == 1 or index in (0, 15) or rate_index == 3:
        return None
    mpeg1, mono = version == 3, head[3] >> 6 == 3
    length = (144 if mpeg1 else 72) * _KBPS[mpeg1][index] * 1000 // _RATES[version][rate_index]
    length += padding
    crc = 0 if head[1] & 1 else 2
    at = 4 + crc + ((17 if mono else 32) if mpeg1 else (9 if mono else 17))
    if head[at : at + 4] not in (b"Xing", b"Info") or start + length > end:
        return None
    if len(head) < at + 8 or length > len(head):
        return None
    (flags,) = struct.unpack_from(">I", head, at + 4)
    pos = at + 8
    frames = b""
    if flags & _FRAMES:
        frames = head[pos : pos + 4]
        pos += 4
    pos += (4 if flags & _BYTES else 0) + (100 if flags & _TOC else 0)
    pos += 4 if flags & _QUALITY else 0
    gapless = b""
    if pos + 24 <= length and head[pos : pos + 4] in (b"LAME", b"Lavf", b"Lavc", b"GOGO"):
        gapless = head[pos + 21 : pos + 24]  # 12-bit encoder delay, 12-bit padding
    # What stays fixed for the stream: version, layer, sample rate, channel mode; and what
    # the decoder takes from the header.
    fixed = bytes([head[1] & 0xFE, head[2] & 0x0C, head[3] & 0xC0])
    record = setup_record(b"XING", fixed + bytes([len(frames)]) + frames + gapless)
    return record, start + length
