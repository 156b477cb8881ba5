"""Damage generated audio files the way storage damages real ones, for the decode-check tests.

Every helper rewrites the file in place and puts its mtime back, as bit rot does (nothing
"wrote" the file). Damage lands inside the audio payload as each format's spec defines it
(:func:`phonovault.core.identity.payload.locate`; for Ogg, the bodies of the audio pages), never in
a
tag, so what a test measures is how the decoder takes a hit to the audio itself.
"""

from __future__ import annotations

import os
import random
import struct
from collections.abc import Iterator
from pathlib import Path

import av

from phonovault.core.identity.payload import locate


def audio_ranges(path: Path) -> list[tuple[int, int]]:
    """Byte ranges (half-open) that hold audio: the payload ranges, or for Ogg the bodies of
    the pages after the header pages (granule position set)."""
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        payload = locate(f, size)
    if payload.ogg_start is None:
        return list(payload.ranges)
    return [
        (body, body + length)
        for _, body, length, granule in ogg_pages(path)
        if granule not in (0, -1) and length
    ]


def ogg_pages(path: Path) -> Iterator[tuple[int, int, int, int]]:
    """(page offset, body offset, body length, granule position) of every Ogg page."""
    data = path.read_bytes()
    pos = data.find(b"OggS")
    while pos >= 0 and pos + 27 <= len(data):
        granule = struct.unpack_from("<q", data, pos + 6)[0]
        segments = data[pos + 26]
        body = pos + 27 + segments
        length = sum(data[pos + 27 : body])
        yield pos, body, length, granule
        pos = data.find(b"OggS", body + length)


def packet_offsets(path: Path) -> list[int]:
    """File offsets where the audio packets (frames) start, as the demuxer sees them; for Ogg,
    where the audio pages start. Cutting at one of these is a clean structural cut."""
    if path.read_bytes()[:4] == b"OggS":
        return [page for page, _, _, granule in ogg_pages(path) if granule not in (0, -1)]
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return [p.pos for p in container.demux(stream) if p.size and p.pos is not None]


def _rewrite(path: Path, data: bytes) -> None:
    st = path.stat()
    path.write_bytes(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _payload_offset(path: Path, fraction: float) -> int:
    """The byte ``fraction`` of the way through the audio (0 = first audio byte)."""
    ranges = audio_ranges(path)
    total = sum(end - start for start, end in ranges)
    want = int(total * fraction)
    for start, end in ranges:
        if want < end - start:
            return start + want
        want -= end - start
    return ranges[-1][1] - 1


def truncate_at(path: Path, fraction: float) -> int:
    """Cut the file ``fraction`` of the way into its audio payload (anywhere: mid-frame)."""
    cut = _payload_offset(path, fraction)
    _rewrite(path, path.read_bytes()[:cut])
    return cut


def truncate_at_boundary(path: Path, fraction: float) -> int:
    """Cut the file at the packet (frame, Ogg page) boundary nearest ``fraction`` of its
    packets: no partial frame is left for a decoder to stumble on."""
    offsets = packet_offsets(path)
    cut = offsets[min(len(offsets) - 1, max(1, int(len(offsets) * fraction)))]
    _rewrite(path, path.read_bytes()[:cut])
    return cut


def flip_bits(path: Path, fraction: float, count: int = 1, seed: int = 0) -> list[int]:
    """Flip ``count`` single bits at audio offsets starting ``fraction`` of the way in, a few
    hundred bytes apart (randomly placed bits of one byte each). Returns the offsets."""
    rng = random.Random(seed)
    data = bytearray(path.read_bytes())
    ranges = audio_ranges(path)
    pos = _payload_offset(path, fraction)
    hits: list[int] = []
    for _ in range(count):
        if not any(start <= pos < end for start, end in ranges):
            pos = next((s for s, e in ranges if s > pos), ranges[0][0])
        data[pos] ^= 1 << rng.randrange(8)
        hits.append(pos)
        pos += rng.randrange(200, 600)
    _rewrite(path, bytes(data))
    return hits


def zero_block(path: Path, fraction: float, length: int = 4096) -> tuple[int, int]:
    """Overwrite ``length`` audio bytes from ``fraction`` of the way in with zeros (a lost
    disk sector or flash page). Stays inside the audio range it starts in (an MP4 ``mdat``, a
    WAV ``data`` chunk); in Ogg it runs across page boundaries, as a lost sector would."""
    data = bytearray(path.read_bytes())
    ranges = audio_ranges(path)
    start = _payload_offset(path, fraction)
    ogg = data[:4] == b"OggS"
    end = ranges[-1][1] if ogg else next(e for s, e in ranges if s <= start < e)
    stop = min(end, start + length)
    data[start:stop] = bytes(stop - start)
    _rewrite(path, bytes(data))
    return start, stop
