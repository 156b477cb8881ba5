"""Embedded cover art: what pictures a file carries, and how big the front cover is.

Taggers often store 0x0 (FLAC) or nothing at all (ID3, MP4, APEv2) for a picture's dimensions,
so we read them from the image's own header. The parsers here look at a few hundred bytes at
most and never raise: cover art is routinely broken, and a broken cover is a finding for the
rules, not a reason to lose the file's tags.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import blake3

#: Picture type "front cover" (ID3 APIC, FLAC PICTURE and WM/Picture share the numbering).
FRONT_COVER = 3

_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # DHT, JPG and DAC are not SOF
_JPEG_MAX_SEGMENTS = 512  # a real JPEG reaches its SOF within a few dozen segments


@dataclass(frozen=True, slots=True)
class ArtInfo:
    """Summary of a file's embedded pictures (the catalog keeps this, not the bytes)."""

    count: int = 0
    total_bytes: int = 0
    width: int | None = None  # of the front cover (or the first picture)
    height: int | None = None
    mime: str | None = None
    hash: str | None = None  # blake3 hex of that picture's bytes


@dataclass(frozen=True, slots=True)
class EmbeddedPicture:
    """One picture as a tag block stores it; width/height are what the tag claims (0 = unset)."""

    data: bytes
    type: int | None = None
    mime: str | None = None
    width: int = 0
    height: int = 0


def summarize(pictures: Sequence[EmbeddedPicture]) -> ArtInfo:
    """Count every picture and describe the front cover (type 3, else the first one)."""
    if not pictures:
        return ArtInfo()
    front = next((p for p in pictures if p.type == FRONT_COVER), pictures[0])
    mime, width, height = probe_image(front.data)
    if front.width > 0 and front.height > 0:
        width, height = front.width, front.height
    return ArtInfo(
        count=len(pictures),
        total_bytes=sum(len(p.data) for p in pictures),
        width=width,
        height=height,
        # What the bytes are beats what the tag says they are; the claim is the fallback.
        mime=mime or (front.mime or None),
        hash=blake3.blake3(front.data).hexdigest(),
    )


def probe_image(data: bytes) -> tuple[str | None, int | None, int | None]:
    """(mime, width, height) from an image header; Nones for what cannot be told."""
    mime = _sniff_mime(data)
    if mime is None:
        return None, None, None
    try:
        return (mime, *_DIMS[mime](data))
    except struct.error:  # header cut short
        return mime, None, None


def _sniff_mime(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/bmp" if data[:2] == b"BM" else None


def _png_dims(data: bytes) -> tuple[int | None, int | None]:
    return _dims(*struct.unpack_from(">II", data, 16)) if data[12:16] == b"IHDR" else (None, None)


def _gif_dims(data: bytes) -> tuple[int | None, int | None]:
    return _dims(*struct.unpack_from("<HH", data, 6))


def _dims(width: int, height: int) -> tuple[int | None, int | None]:
    if width <= 0 or height <= 0:
        return None, None
    return width, height


def _jpeg_dims(data: bytes) -> tuple[int | None, int | None]:
    """Walk the marker segments up to the first start-of-frame (baseline, progressive, ...)."""
    i = 2
    for _ in range(_JPEG_MAX_SEGMENTS):
        while i < len(data) and data[i] == 0xFF:  # fill bytes before a marker
            i += 1
        if i >= len(data) or data[i - 1] != 0xFF:
            break
        marker = data[i]
        i += 1
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan: no frame header before it
            break
        (length,) = struct.unpack_from(">H", data, i)
        if marker in _JPEG_SOF:
            height, width = struct.unpack_from(">HH", data, i + 3)
            return _dims(width, height)
        if length < 2:
            break
        i += length
    return None, None


def _webp_dims(data: bytes) -> tuple[int | None, int | None]:
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack_from("<HH", data, 26)
        return _dims(width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and data[20:21] == b"\x2f":
        (bits,) = struct.unpack_from("<I", data, 21)
        return _dims((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return _dims(w, h) if len(data) >= 30 else (None, None)
    return None, None


def _bmp_dims(data: bytes) -> tuple[int | None, int | None]:
    (header_size,) = struct.unpack_from("<I", data, 14)
    if header_size == 12:  # OS/2 BITMAPCOREHEADER
        return _dims(*struct.unpack_from("<HH", data, 18))
    width, height = struct.unpack_from("<ii", data, 18)
    return _dims(width, abs(height))  # negative height means top-down rows


_DIMS: dict[str, Callable[[bytes], tuple[int | None, int | None]]] = {
    "image/png": _png_dims, "image/jpeg": _jpeg_dims, "image/gif": _gif_dims,
    "image/webp": _webp_dims, "image/bmp": _bmp_dims,
}  # fmt: skip


def parse_wm_picture(data: bytes) -> EmbeddedPicture | None:
    """Decode an ASF ``WM/Picture`` value: type byte, LE32 size, UTF-16 mime and description
    (each NUL-terminated), then the image. None when the structure does not hold together."""
    if len(data) < 9:
        return None
    pic_type = data[0]
    (size,) = struct.unpack_from("<I", data, 1)
    pos = 5
    strings: list[str] = []
    for _ in range(2):
        end = pos
        while end + 1 < len(data) and data[end : end + 2] != b"\0\0":
            end += 2
        if end + 1 >= len(data):
            return None
        strings.append(data[pos:end].decode("utf-16-le", "replace"))
        pos = end + 2
    image = data[pos : pos + size]
    if len(image) != size or size == 0:
        return None
    return EmbeddedPicture(image, pic_type, strings[0] or None)


def split_ape_cover(data: bytes) -> bytes:
    """APEv2 cover items are ``file name, NUL, image bytes``; some writers omit the name."""
    name, sep, image = data.partition(b"\0")
    return image if sep and len(name) < 1024 else data
