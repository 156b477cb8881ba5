"""Each tag family flattened into one shape: every key and value as text, plus the pictures.

Vorbis comments, ID3 frames, MP4 atoms, APEv2 items and ASF attributes each hold values their
own way (lists, frames, number pairs, binary items). A :class:`Block` keeps them as ``raw``
(original keys, for people and the conflicting-blocks rule) and ``lookup`` (case-folded keys,
for :mod:`~phonovault.core.tags.normalize`). Binary values become a size placeholder, never
bytes in the catalog; a part that fails to parse loses only that part.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

import mutagen
from mutagen._vorbis import VComment
from mutagen.apev2 import APEv2
from mutagen.asf import ASFTags
from mutagen.flac import FLAC, Picture
from mutagen.id3 import APIC, ID3, RVA2, TCON, UFID, ParseID3v1, TextFrame, UrlFrame
from mutagen.mp4 import MP4Cover, MP4Tags

from phonovault.core.tags.art import EmbeddedPicture, parse_wm_picture, split_ape_cover
from phonovault.core.tags.failures import ANY_PARSE_FAILURE

__all__ = ["Block", "main_block", "raw_fields", "tag_formats", "trailer"]

_T = TypeVar("_T")
_PICTURE_KEYS = ("metadata_block_picture", "coverart")


@dataclass(slots=True)
class Block:
    """One tag block flattened: raw (original keys), lookup (folded keys) and its pictures."""

    family: str
    label: str = ""  # its name in tag_formats ("vorbis", "id3v2.3", ...); "" if absent
    raw: dict[str, list[str]] = field(default_factory=dict)
    lookup: dict[str, list[str]] = field(default_factory=dict)
    pictures: list[EmbeddedPicture] = field(default_factory=list)

    def add(self, key: str, values: Iterable[str], lookup: Iterable[str] | None = None) -> None:
        key, values = _clean(key), [_clean(v) for v in values]
        if values:
            self.raw.setdefault(self._raw_key(key), []).extend(values)
        folded = [_clean(v) for v in lookup] if lookup is not None else values
        self.lookup.setdefault(key.lower(), []).extend(folded)

    def _raw_key(self, key: str) -> str:
        if self.family in ("vorbis", "apev2"):  # case-insensitive: merge "Title" and "TITLE"
            return next((k for k in self.raw if k.lower() == key.lower()), key)
        return key


def trailer(fh: IO[bytes]) -> tuple[bool, bool, bytes]:
    """(ID3v1 present, APEv2 present, last 160 bytes): both blocks sit at the file's end, so
    one small read answers what a second parse of the whole file would."""
    size = fh.seek(0, os.SEEK_END)
    fh.seek(max(0, size - 160))
    tail = fh.read(160)
    has_v1 = len(tail) >= 128 and tail[-128:-125] == b"TAG"
    footer = tail[-160:-152] if has_v1 else tail[-32:-24]
    return has_v1, footer == b"APETAGEX", tail


def main_block(f: mutagen.FileType, fh: IO[bytes], head: bytes, has_ape: bool) -> Block | None:
    """The file's native tag block; a foreign one (leading ID3, trailing APEv2) only when the
    format has no native block of its own, as players do for ADTS AAC, TTA or MP3+APE."""
    tags: Any = f.tags
    if tags is None and head.startswith(b"ID3"):
        tags = _try(ID3, fh)
    if tags is None and has_ape:
        tags = _try(APEv2, fh)
    block: Block | None = None
    if isinstance(tags, VComment):
        block = _vorbis(tags)
    elif isinstance(tags, ID3):
        block = _id3(tags)
    elif isinstance(tags, MP4Tags):
        block = _mp4(tags)
    elif isinstance(tags, APEv2):
        block = _apev2(tags)
    elif isinstance(tags, ASFTags):
        block = _asf(tags)
    if isinstance(f, FLAC):
        block = block or Block("vorbis")
        block.pictures[:0] = [_flac_picture(p) for p in f.pictures]
    return block


def raw_fields(
    main: Block | None, fh: IO[bytes], tail: bytes, has_v1: bool, has_ape: bool
) -> dict[str, tuple[str, ...]]:
    """TrackInfo.raw: the main block's keys, then a trailing APEv2's and ID3v1's, prefixed."""
    out = {k: tuple(v) for k, v in main.raw.items()} if main else {}
    if has_ape and (main is None or main.family != "apev2"):
        ape = _try(APEv2, fh)
        if ape is not None:
            out.update((f"APEv2:{k}", tuple(v)) for k, v in _apev2(ape).raw.items())
    v1_is_main = main is not None and main.label == "id3v1"
    if has_v1 and not v1_is_main:
        frames = _try(ParseID3v1, tail[-128:])
        for key, frame in (frames or {}).items():
            out[f"ID3v1:{key}"] = tuple(_clean(str(t)) for t in frame.text)
    return out


def tag_formats(main: Block | None, head: bytes, has_v1: bool, has_ape: bool) -> tuple[str, ...]:
    """TrackInfo.tag_formats: the labels of every tag block the file holds."""
    found: list[str] = []
    if head.startswith(b"ID3") and head[3] in (2, 3, 4):  # leading ID3v2, whoever reads it
        found.append(f"id3v2.{head[3]}")
    if main is not None and main.label:
        found.append(main.label)
    if has_ape:
        found.append("apev2")
    if has_v1:
        found.append("id3v1")
    return tuple(dict.fromkeys(found))  # in file order, each once


def _try(parse: Callable[..., _T], *args: Any) -> _T | None:
    """A secondary parse (a picture, a foreign tag block) whose failure only loses that part."""
    try:
        return parse(*args)
    except ANY_PARSE_FAILURE:
        return None


def _vorbis(tags: VComment) -> Block:
    block = Block("vorbis", "vorbis")
    for key, value in tags:
        if key.lower() not in _PICTURE_KEYS:
            block.add(key, [value])
            continue
        picture = _try(_vorbis_picture, key, value)
        size = len(picture.data) if picture else len(value) * 3 // 4
        block.add(key, [_binary(size)])
        if picture is not None:
            block.pictures.append(picture)
    return block


def _vorbis_picture(key: str, value: str) -> EmbeddedPicture:
    data = base64.b64decode(value.encode("ascii"))
    if key.lower() == "coverart":  # legacy: base64 of the bare image
        return EmbeddedPicture(data)
    return _flac_picture(Picture(data))


def _flac_picture(p: Picture) -> EmbeddedPicture:
    return EmbeddedPicture(p.data, int(p.type), p.mime or None, p.width, p.height)


def _id3(tags: ID3) -> Block:
    v2 = tags.version >= (2, 0, 0)
    block = Block("id3", f"id3v2.{tags.version[1]}" if v2 else "id3v1")
    for frame in tags.values():
        _id3_frame(block, frame)
    return block


def _id3_frame(block: Block, frame: Any) -> None:
    # ``frame`` is Any on purpose: mutagen declares frame attributes through specs mypy cannot
    # see, and isinstance() would narrow to classes that seem to lack them.
    key: str = frame.HashKey
    kind = next((c for c in (APIC, TCON, TextFrame, UrlFrame, UFID, RVA2) if isinstance(frame, c)),
                None)  # fmt: skip
    if kind is APIC:
        block.pictures.append(EmbeddedPicture(frame.data, int(frame.type), frame.mime))
        block.add(key, [_binary(len(frame.data))])
    elif kind is TCON:  # the lookup gets mutagen's reading of ID3v1 numbers: "(17)" -> "Rock"
        block.add(key, [str(t) for t in frame.text], lookup=frame.genres)
    elif kind is TextFrame:
        block.add(key, [str(t) for t in frame.text])
    elif kind is UrlFrame:
        block.add(key, [frame.url])
    elif kind is UFID:
        block.add(key, [_bytes_text(frame.data)])
    elif kind is RVA2 and frame.channel == 1:  # master volume: ReplayGain before TXXX
        block.add(key, [str(frame)])
        block.add(f"rva2:{frame.desc.lower()}_gain", [], [str(frame.gain)])
        block.add(f"rva2:{frame.desc.lower()}_peak", [], [str(frame.peak)])
    elif isinstance(getattr(frame, "data", None), bytes):
        block.add(key, [_binary(len(frame.data))])
    else:  # COMM, USLT, TIPL, POPM, ...: mutagen's own one-line rendering
        block.add(key, [frame.pprint().partition("=")[2]])


def _mp4(tags: MP4Tags) -> Block:
    block = Block("mp4", "mp4")
    for key, values in tags.items():
        values = values if isinstance(values, list) else [values]
        if key in ("trkn", "disk"):
            pairs = [(n, t) for n, t in values]
            block.add(
                key,
                [f"{n}/{t}" for n, t in pairs],
                lookup=[f"{n or ''}/{t or ''}" for n, t in pairs],
            )  # 0 means unset here
            continue
        texts = []
        for value in values:
            if isinstance(value, MP4Cover):
                block.pictures.append(EmbeddedPicture(bytes(value)))
                texts.append(_binary(len(value)))
            elif isinstance(value, bytes):  # freeform "----" atoms: usually UTF-8 text
                texts.append(_bytes_text(value))
            elif isinstance(value, bool):
                texts.append(str(int(value)))
            else:
                texts.append(str(value))
        block.add(key, texts)
    return block


def _apev2(tags: APEv2) -> Block:
    block = Block("apev2", "apev2")
    for key, value in tags.items():
        if isinstance(value.value, bytes):  # binary item
            if key.lower().startswith("cover art"):
                picture = split_ape_cover(value.value)
                front = 3 if key.lower() == "cover art (front)" else None
                block.pictures.append(EmbeddedPicture(picture, front))
            block.add(key, [_binary(len(value.value))])
        else:
            block.add(key, str(value.value).split("\0"))
    return block


def _asf(tags: ASFTags) -> Block:
    block = Block("asf", "asf")
    for key, attr in tags:
        value = attr.value
        if key == "WM/Picture" and isinstance(value, bytes):
            picture = _try(parse_wm_picture, value)
            if picture is not None:
                block.pictures.append(picture)
        if isinstance(value, bytes):
            block.add(key, [_binary(len(value))])
        elif key == "WM/Track" and isinstance(value, int):  # legacy and zero-based
            block.add(key, [str(value)], lookup=[])
            block.lookup.setdefault("wm/track+1", []).append(str(value + 1))
        else:
            block.add(key, [str(int(value) if isinstance(value, bool) else value)])
    return block


def _clean(text: str) -> str:
    """Text that survives UTF-8 (JSON, SQLite): lone surrogates from broken UTF-16 become U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _binary(size: int) -> str:
    # normalize's _first() skips values with this prefix: a size is not a tag value.
    return f"<binary {size} bytes>"


def _bytes_text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _binary(len(data))
