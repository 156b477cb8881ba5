"""Audio identity version 1, kept only to compare with baselines recorded before version 2.

Version 1 left codec set-up out: for every format but Ogg and MPEG streams that open with a
Xing frame, its audio hash is exactly version 2's samples half
(:attr:`phonovault.core.identity.digests.Digests.samples_hash`). Such a stream was hashed from its
first
byte, the Xing frame included, where version 2 keeps only that frame's decoder fields
(:mod:`.mpeg`): :func:`legacy_stream_hash` hashes it as version 1 did.
Ogg was hashed page by page (flags, granule, serial, segment table and body of every page after
the header packets), which a re-pagination or a new serial number changes: a catalog upgraded
from version 1 needs that hash once per Ogg file whose bytes changed, to tell a tag edit made
since the last verify from an audio change. :func:`legacy_ogg_hash` computes it with one more
read of the file (a rare event: each such file gets its version-2 baseline at that read).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from phonovault.core.identity.parts import Hasher, Malformed, Staging
from phonovault.core.identity.payload import v1_stream_range

LEGACY_OGG_METHOD = "ogg-pages"


def legacy_ogg_hash(path: str, new_hasher: Callable[[], Hasher], opener: Callable[..., Any],
                    start: int = 0, chunk_size: int = 1 << 20) -> str | None:  # fmt: skip
    """The version-1 audio hash of an Ogg file at ``path``, or None when it does not parse
    as version 1 did (the caller then treats the audio as changed). ``OSError`` escapes."""
    hasher = new_hasher()
    filt = OggPageFilter(LEGACY_OGG_METHOD, start, hasher)
    with opener(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(0)
        offset = 0
        while offset < size:
            chunk = f.read(min(chunk_size, size - offset))
            if not chunk:
                break
            filt.feed(offset, memoryview(chunk))
            offset += len(chunk)
    return None if filt.finish() is not None else hasher.hexdigest()


def legacy_stream_hash(path: str, new_hasher: Callable[[], Hasher], opener: Callable[..., Any],
                       chunk_size: int = 1 << 20) -> str | None:  # fmt: skip
    """The version-1 audio hash of a tag-framed stream (MP3...) at ``path``; None when it is
    not one or does not parse. ``OSError`` escapes."""
    hasher = new_hasher()
    with opener(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        try:
            span = v1_stream_range(f, size)
        except Malformed:
            return None
        if span is None:
            return None
        pos, end = span
        f.seek(pos)
        while pos < end:
            chunk = f.read(min(chunk_size, end - pos))
            if not chunk:
                return None
            hasher.update(chunk)
            pos += len(chunk)
    return hasher.hexdigest()


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


class OggPageFilter:
    """Hashes every Ogg page after each logical stream's header packets: header-type flags,
    granule position, serial number, segment table and body, but not the page sequence number
    or the CRC, which mutagen rewrites on every page after a comment that changed size.

    Pages are parsed as the bytes stream past (a page may straddle chunks). Only page headers
    and beginning-of-stream pages (to identify the codec) are kept; audio bodies are staged
    into large hasher updates (see :class:`Staging`). Chained and multiplexed files work:
    each serial is tracked on its own.
    """

    def __init__(self, method: str, start: int, sink: Hasher) -> None:
        self.method = method
        self._start = start
        self._sink = Staging(sink)
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
