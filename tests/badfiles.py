"""Bad audio files for the robustness tests, made from the real ones ``audiogen`` encodes.

Nothing here is shipped and nothing is checked in: every corpus is generated from the session's
templates. The structure of each template is found by small parsers written here, on purpose
independent of ``phonovault.core.identity.payload`` (a test must not share the bug it hunts), so
files
can be cut exactly at a boundary: inside a tag, between the tags and the audio, mid-frame.

Families (``BadFile.family``):

* ``empty``: zero bytes, one per audio extension the scanner picks up.
* ``random``: seeded noise, alone or behind each format's magic bytes, one per extension.
* ``truncated``: every kind cut at each structural boundary (and one byte either side), in the
  middle of each structure, and at evenly spaced points.
* ``absurd``: headers that declare sizes no file has (4 GB ID3 frames, a FLAC block running
  past the end, an MP4 atom of 2^63 bytes, RIFF chunks of 0xFFFFFFFF) or counts no file needs.
* ``cover``: garbage where the cover art should be (APIC, FLAC PICTURE, Vorbis picture, covr,
  APEv2 cover).
* ``extension``: one format under another's extension.
* ``headers-only``: tags and stream headers with no audio at all.
* ``duration``: stream headers that claim absurd (or impossible) lengths and rates.
* ``loop``: structures that step zero bytes or nest without end, the usual shape of a parser
  that never stops.
"""

from __future__ import annotations

import base64
import io
import random
import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import audiogen
import mutagen
from decode_critical import ogg_crc
from mutagen.apev2 import APEValue
from mutagen.flac import Picture
from mutagen.id3 import APIC
from mutagen.mp4 import MP4Cover

from phonovault.core.tags.reading import AUDIO_EXTENSIONS

KINDS = list(audiogen.KINDS)
SUFFIX = {name: kind.suffix for name, kind in audiogen.KINDS.items()}
# The payload rule each kind's audio hash must come from (by content, whatever the name).
METHOD = {"flac16": "flac", "flac24": "flac", "mp3": "stream", "vorbis": "ogg-packets",
          "opus": "ogg-packets", "aac": "mp4-mdat", "alac": "mp4-mdat", "wav": "riff-data",
          "aiff": "aiff-ssnd", "wavpack": "stream"}  # fmt: skip
# A JPEG start, a frame header whose length runs past the data, then noise.
GARBAGE_JPEG = b"\xff\xd8\xff\xc0\xff\xff\x08" + random.Random(11).randbytes(700)
MAGICS = (b"fLaC", b"OggS", b"ID3\x04\x00\x00", b"\0\0\0\x20ftypM4A ", b"RIFF\xff\xff\xff\xffWAVE",
          b"FORM\xff\xff\xff\xffAIFF", b"wvpk", b"MAC ", b"MPCK", b"DSD ", b"FRM8", b"TTA1",
          b"\xff\xfb\x90\x00", b"\xff\xf1\x50\x80", b"\x0b\x77", b"APETAGEX",
          b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c")  # fmt: skip


@dataclass(frozen=True, slots=True)
class BadFile:
    name: str  # unique within a corpus; its suffix is what the scanner sees
    data: bytes
    family: str
    why: str  # what is wrong with it, for failure messages

    def write(self, folder: Path) -> Path:
        path = folder / self.name
        path.write_bytes(self.data)
        return path


# --- structure, parsed independently ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span:
    """One structure in a file: [start, end) with a name ("id3v2 frame TIT2", "ogg page 3")."""

    start: int
    end: int
    what: str


def _syncsafe(b: bytes) -> int:
    return (b[0] << 21) | (b[1] << 14) | (b[2] << 7) | b[3]


def id3v2_spans(data: bytes, pos: int = 0) -> tuple[list[Span], int]:
    """The leading ID3v2 tag's header, frames and whole extent; returns (spans, end)."""
    if data[pos : pos + 3] != b"ID3" or len(data) < pos + 10:
        return [], pos
    major = data[pos + 3]
    end = pos + 10 + _syncsafe(data[pos + 6 : pos + 10])
    spans = [Span(pos, pos + 10, "id3v2 header")]
    at = pos + 10
    while at + 10 <= end and data[at : at + 4].strip(b"\0"):
        raw = data[at + 4 : at + 8]
        size = _syncsafe(raw) if major == 4 else struct.unpack(">I", raw)[0]
        spans.append(Span(at, at + 10 + size, f"id3v2 frame {data[at : at + 4]!r}"))
        at += 10 + size
    spans.append(Span(pos, end, "id3v2 tag"))
    return spans, end


def flac_spans(data: bytes, pos: int = 0) -> list[Span]:
    spans = [Span(pos, pos + 4, "fLaC magic")]
    at = pos + 4
    for index in range(10_000):
        if at + 4 > len(data):
            break
        last, kind, size = data[at] & 0x80, data[at] & 0x7F, int.from_bytes(data[at + 1 : at + 4])
        spans.append(Span(at, at + 4, f"flac block {index} header (type {kind})"))
        spans.append(Span(at + 4, at + 4 + size, f"flac block {index} body (type {kind})"))
        at += 4 + size
        if last:
            break
    spans.append(Span(at, len(data), "flac frames"))
    return spans


MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"ilst", b"edts",
                  b"dinf"}  # fmt: skip


def mp4_spans(data: bytes, pos: int = 0, end: int | None = None, depth: int = 0) -> list[Span]:
    end = len(data) if end is None else end
    spans: list[Span] = []
    while pos + 8 <= end and depth < 12:
        size, name = struct.unpack(">I4s", data[pos : pos + 8])
        if size < 8:
            break
        spans.append(Span(pos, pos + size, f"mp4 atom {name!r} (depth {depth})"))
        if name in MP4_CONTAINERS or data[pos + 4 : pos + 5] == b"\xa9" or name in (b"trkn",):
            spans += mp4_spans(data, pos + 8, pos + size, depth + 1)
        elif name == b"meta":
            spans += mp4_spans(data, pos + 12, pos + size, depth + 1)
        pos += size
    return spans


def iff_spans(data: bytes, little: bool) -> list[Span]:
    """RIFF (little-endian sizes) or AIFF FORM chunks."""
    spans = [Span(0, 12, "form header")]
    pos = 12
    while pos + 8 <= len(data):
        (size,) = struct.unpack("<I" if little else ">I", data[pos + 4 : pos + 8])
        name = data[pos : pos + 4]
        spans.append(Span(pos, pos + 8, f"chunk {name!r} header"))
        spans.append(Span(pos + 8, pos + 8 + size, f"chunk {name!r} body"))
        pos += 8 + size + (size & 1)
    return spans


def ogg_spans(data: bytes) -> list[Span]:
    spans: list[Span] = []
    pos, index = 0, 0
    while pos + 27 <= len(data) and data[pos : pos + 4] == b"OggS":
        nseg = data[pos + 26]
        body = sum(data[pos + 27 : pos + 27 + nseg])
        spans.append(Span(pos, pos + 27 + nseg, f"ogg page {index} header"))
        spans.append(Span(pos + 27 + nseg, pos + 27 + nseg + body, f"ogg page {index} body"))
        pos, index = pos + 27 + nseg + body, index + 1
    return spans


_MP3_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MP3_RATES = (44100, 48000, 32000)


def mp3_spans(data: bytes, pos: int) -> list[Span]:
    """MPEG-1 layer III frames from ``pos`` (what LAME writes) until the sync is lost."""
    spans: list[Span] = []
    index = 0
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] & 0xFE == 0xFA:
        bitrate, rate = data[pos + 2] >> 4, (data[pos + 2] >> 2) & 3
        if not 0 < bitrate < 15 or rate == 3:
            break
        size = 144 * _MP3_KBPS[bitrate] * 1000 // _MP3_RATES[rate] + ((data[pos + 2] >> 1) & 1)
        spans.append(Span(pos, pos + size, f"mp3 frame {index}"))
        pos, index = pos + size, index + 1
    return spans


def wavpack_spans(data: bytes) -> list[Span]:
    spans: list[Span] = []
    pos, index = 0, 0
    while pos + 32 <= len(data) and data[pos : pos + 4] == b"wvpk":
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        spans.append(Span(pos, pos + 32, f"wavpack block {index} header"))
        spans.append(Span(pos + 32, pos + 8 + size, f"wavpack block {index} body"))
        pos, index = pos + 8 + size, index + 1
    return spans


def trailing_spans(data: bytes) -> list[Span]:
    """A trailing APEv2 tag (WavPack carries one) and ID3v1."""
    end, spans = len(data), []
    if data[end - 128 : end - 125] == b"TAG":
        spans.append(Span(end - 128, end, "id3v1"))
        end -= 128
    if data[end - 32 : end - 24] == b"APETAGEX":
        (size,) = struct.unpack("<I", data[end - 20 : end - 16])
        spans.append(Span(end - size, end - 32, "apev2 items"))
        spans.append(Span(end - 32, end, "apev2 footer"))
        has_header = data[end - 9] & 0x80
        if has_header:
            spans.append(Span(end - size - 32, end - size, "apev2 header"))
    return spans


def structure(data: bytes) -> list[Span]:
    """Every structure found in a file, for the format its magic bytes say it is."""
    spans, pos = id3v2_spans(data)
    if data[pos : pos + 4] == b"fLaC":
        spans += flac_spans(data, pos)
    elif data[:4] == b"OggS":
        spans += ogg_spans(data)
    elif data[4:8] == b"ftyp":
        spans += mp4_spans(data)
    elif data[:4] == b"RIFF":
        spans += iff_spans(data, little=True)
    elif data[:4] == b"FORM":
        spans += iff_spans(data, little=False)
    elif data[:4] == b"wvpk":
        spans += wavpack_spans(data)
    else:
        spans += mp3_spans(data, pos)
    return spans + trailing_spans(data)


def cut_points(data: bytes, *, per_repeat: int = 4, sweep: int = 24) -> dict[int, str]:
    """Offsets to truncate at: each boundary and one byte either side, the middle of each
    structure, and ``sweep`` evenly spaced points. Long runs of the same structure (audio
    frames, pages, blocks) contribute their first and last ``per_repeat`` members only."""
    spans = structure(data)
    groups: dict[str, list[Span]] = {}
    for span in spans:
        groups.setdefault(span.what.rstrip("0123456789 ").split(" (")[0], []).append(span)
    picked = [s for g in groups.values() for s in (g[:per_repeat] + g[-per_repeat:])]
    points: dict[int, str] = {}
    for span in picked:
        points.setdefault(span.start, f"at the start of {span.what}")
        points.setdefault(span.end, f"at the end of {span.what}")
        points.setdefault(span.start + 1, f"1 byte into {span.what}")
        points.setdefault(span.end - 1, f"1 byte before the end of {span.what}")
        points.setdefault((span.start + span.end) // 2, f"in the middle of {span.what}")
    for i in range(1, sweep):
        points.setdefault(len(data) * i // sweep, f"at {i}/{sweep} of the file")
    return {p: why for p, why in sorted(points.items()) if 0 < p < len(data)}


# --- helpers ---------------------------------------------------------------------------------


def ogg_page(flags: int, serial: int, seq: int, packets: list[bytes], granule: int = 0,
             lacing: bytes | None = None) -> bytes:  # fmt: skip
    """One Ogg page with a correct CRC (mutagen does not check it, FFmpeg does)."""
    if lacing is None:
        lacing = b"".join(bytes([255] * (len(p) // 255) + [len(p) % 255]) for p in packets)
    head = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, seq, 0, len(lacing))
    page = bytearray(head + lacing + b"".join(packets))
    page[22:26] = struct.pack("<I", ogg_crc(page))
    return bytes(page)


def fix_ogg_crcs(data: bytes) -> bytes:
    """Recompute every page's CRC after an edit (so only the edit is wrong)."""
    out = bytearray(data)
    for span in ogg_spans(data):
        if span.what.endswith("header"):
            body_end = next(s.end for s in ogg_spans(data) if s.start == span.end)
            page = bytearray(out[span.start : body_end])
            page[22:26] = bytes(4)
            out[span.start + 22 : span.start + 26] = struct.pack("<I", ogg_crc(page))
    return bytes(out)


def id3v2(frames: bytes, *, major: int = 3, size: int | None = None) -> bytes:
    n = len(frames) if size is None else size
    return b"ID3" + bytes([major, 0, 0]) + bytes((n >> s) & 0x7F for s in (21, 14, 7, 0)) + frames


def id3_frame(fid: bytes, body: bytes, *, size: int | None = None) -> bytes:
    """An ID3v2.3 frame (plain 32-bit size, so 0xFFFFFFFF is expressible)."""
    return fid + struct.pack(">IH", len(body) if size is None else size, 0) + body


def patch(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new) :]


def retag(data: bytes, edit: Callable[[mutagen.FileType], None]) -> bytes:
    """Apply a mutagen edit to an in-memory copy and return the new bytes."""
    buf = io.BytesIO(data)
    f = mutagen.File(buf)
    assert f is not None
    edit(f)
    buf.seek(0)
    f.save(buf)
    return buf.getvalue()


def _atom(name: bytes, body: bytes, size: int | None = None) -> bytes:
    return struct.pack(">I4s", 8 + len(body) if size is None else size, name) + body


def _find_atom(data: bytes, name: bytes) -> Span:
    return next(s for s in mp4_spans(data) if s.what.startswith(f"mp4 atom {name!r}"))


def _chunk(data: bytes, name: bytes) -> Span:
    """The header span of the first RIFF/AIFF chunk called ``name``."""
    little = data[:4] == b"RIFF"
    return next(s for s in iff_spans(data, little) if s.what == f"chunk {name!r} header")


# --- the families ----------------------------------------------------------------------------


def empties() -> Iterator[BadFile]:
    for suffix in sorted(AUDIO_EXTENSIONS):
        yield BadFile(f"empty{suffix}", b"", "empty", "an empty file")


def noise(seed: int = 1) -> Iterator[BadFile]:
    rng = random.Random(seed)
    for i, suffix in enumerate(sorted(AUDIO_EXTENSIONS)):
        yield BadFile(f"noise-{i:02d}{suffix}", rng.randbytes(rng.choice([3, 700, 9000])),
                      "random", "random bytes")  # fmt: skip
        magic = MAGICS[i % len(MAGICS)]
        yield BadFile(f"magic-noise-{i:02d}{suffix}", magic + rng.randbytes(5000), "random",
                      f"{magic!r} then random bytes")  # fmt: skip


def truncations(templates: Mapping[str, Path], sweep: int = 24) -> Iterator[BadFile]:
    for kind in KINDS:
        data = templates[kind].read_bytes()
        for cut, why in cut_points(data, sweep=sweep).items():
            yield BadFile(f"{kind}-cut-{cut:06d}{SUFFIX[kind]}", data[:cut], "truncated",
                          f"{kind} cut {why} (byte {cut} of {len(data)})")  # fmt: skip


FF = b"\xff" * 4  # the largest 32-bit size or count
Bad = tuple[str, bytes, str]  # name (without "absurd-" and suffix), content, what is wrong


def _flac_insert(flac: bytes, kind: int, body: bytes) -> bytes:
    """Insert a metadata block right after STREAMINFO (never the last one)."""
    return flac[:42] + bytes([kind]) + len(body).to_bytes(3, "big") + body + flac[42:]


def _absurd_flac(flac: bytes) -> list[Bad]:
    heads = [s.start for s in flac_spans(flac) if "header (type" in s.what]
    pic_data = (
        struct.pack(">II", 3, 10) + b"image/jpeg" + struct.pack(">6I", 0, 0, 0, 0, 0, 2**32 - 1)
    )
    cue = bytes(128) + bytes(8) + b"\0" + bytes(258) + b"\xff"  # claims 255 tracks
    return [
        ("flac-block-past-eof", patch(flac, heads[1] + 1, FF[:3]), "a 16 MB metadata block"),
        ("flac-streaminfo-past-eof", patch(flac, 5, FF[:3]), "STREAMINFO claims 16 MB"),
        ("flac-last-block-past-eof", patch(flac, heads[-1] + 1, b"\xff\xff\xfe"),
         "the last metadata block runs 16 MB past the end"),
        ("flac-picture-mime-4gb", _flac_insert(flac, 6, struct.pack(">I", 3) + FF + b"image/"),
         "a PICTURE mime type of 4 GB"),
        ("flac-picture-data-4gb", _flac_insert(flac, 6, pic_data + GARBAGE_JPEG[:50]),
         "a PICTURE of 4 GB"),
        ("flac-vorbis-vendor-4gb", _flac_insert(flac, 4, FF + b"vendor"), "a 4 GB Vorbis vendor"),
        ("flac-vorbis-count-4g", _flac_insert(flac, 4, bytes(4) + FF + b"\5\0\0\0A=b"),
         "4 billion Vorbis comments"),
        ("flac-vorbis-comment-4gb", _flac_insert(flac, 4, b"\0\0\0\0\1\0\0\0" + FF + b"TITLE=x"),
         "a 4 GB Vorbis comment"),
        ("flac-cuesheet-255-tracks", _flac_insert(flac, 5, cue), "a cue sheet of 255 tracks"),
        ("flac-seektable-odd", _flac_insert(flac, 3, bytes(49)), "a seek table of 49 bytes"),
    ]  # fmt: skip


def _absurd_id3(mp3: bytes) -> list[Bad]:
    audio = mp3[id3v2_spans(mp3)[1] :]
    apic = id3_frame(b"APIC", b"\x00image/jpeg\x00\x03\x00\xff\xd8", size=0xFFFFFFF0)
    ext = b"ID3\x03\x00\x40" + bytes((300 >> s) & 0x7F for s in (21, 14, 7, 0)) + FF
    ape_items = struct.pack("<II", 0xFFFFFFF0, 0) + b"Title\0" + b"x" * 20
    ape_item = ape_items + b"APETAGEX" + struct.pack("<IIII", 2000, len(ape_items) + 32, 1, 0)
    ape_tag = b"APETAGEX" + struct.pack("<I", 2000) + FF + FF + bytes(12)
    return [
        ("id3-frame-4gb", id3v2(id3_frame(b"TIT2", b"\x03t", size=2**32 - 1) + bytes(200)) + audio,
         "an ID3v2.3 frame of 4 GB"),
        ("id3-tag-256mb", id3v2(b"", major=4, size=0x0FFFFFFF) + mp3[10:],
         "an ID3v2.4 tag claiming 256 MB, the most its header can say"),
        ("id3-tag-size-not-syncsafe", b"ID3\4\0\0" + FF + mp3[10:], "an ID3 size of 0xFFFFFFFF"),
        ("id3v24-frame-256mb", id3v2(b"TIT2\x7f\x7f\x7f\x7f\0\0\3x" + bytes(100), major=4) + audio,
         "an ID3v2.4 frame claiming 256 MB"),
        ("id3-apic-4gb", id3v2(apic + bytes(64)) + audio, "an APIC frame claiming 4 GB"),
        ("id3-extended-header-4gb", ext + bytes(296) + audio, "an extended header of 4 GB"),
        ("id3-stacked-50k", b"ID3\4\0\0\0\0\0\0" * 50_000 + audio, "50,000 empty ID3v2 tags"),
        ("apev2-trailer-4gb", mp3 + ape_tag, "a trailing APEv2 tag claiming 4 GB"),
        ("apev2-item-4gb", mp3 + ape_item + bytes(8), "an APEv2 item claiming 4 GB"),
        ("lyrics3-999999", mp3 + b"LYRICSBEGINla999999LYRICS200TAG" + bytes(125),
         "a Lyrics3v2 tag claiming 999,999 bytes"),
    ]  # fmt: skip


def _absurd_mp4(m4a: bytes) -> list[Bad]:
    out: list[Bad] = []
    for name in ("moov", "mdat", "ilst", "stsz", "trak"):
        at = _find_atom(m4a, name.encode()).start  # a 64-bit size breaks the atom anyway
        big = struct.pack(">I4sQ", 1, name.encode(), 1 << 63)
        out.append((f"mp4-{name}-2e63", patch(m4a, at, big), f"a {name} atom of 2^63 bytes"))
        out.append((f"mp4-{name}-4gb", patch(m4a, at, FF), f"a {name} atom of 4 GB"))
    at = {name: _find_atom(m4a, name).start for name in (b"stsz", b"mdhd", b"mvhd", b"stsd")}
    item = _find_atom(m4a, b"\xa9nam").start
    return [
        *out,
        ("mp4-stsz-count-4g", patch(m4a, at[b"stsz"] + 16, FF), "4 billion sample sizes"),
        ("mp4-mdhd-timescale-0", patch(m4a, at[b"mdhd"] + 20, bytes(4) + FF), "time scale 0"),
        ("mp4-mvhd-timescale-0", patch(m4a, at[b"mvhd"] + 20, bytes(4) + FF), "movie scale 0"),
        ("mp4-stsd-count-4g", patch(m4a, at[b"stsd"] + 12, FF), "4 billion sample descriptions"),
        ("mp4-data-atom-4gb", patch(m4a, item + 8, FF), "a tag's data atom claims 4 GB"),
        ("mp4-atom-size-0-in-ilst", patch(m4a, item, bytes(4)), "a tag atom of size 0 (to EOF)"),
        ("mp4-atom-size-7", patch(m4a, item, b"\0\0\0\7"), "an atom smaller than its header"),
    ]  # fmt: skip


def _absurd_iff(wav: bytes, aiff: bytes) -> list[Bad]:
    out: list[Bad] = []
    for blob, prefix, names in ((wav, "wav", (b"data", b"fmt ", b"LIST", b"id3 ")),
                                (aiff, "aiff", (b"SSND", b"COMM", b"ID3 "))):  # fmt: skip
        for name in names:
            size_at = _chunk(blob, name).start + 4
            label = name.decode().strip().lower()
            out.append((f"{prefix}-{label}-4gb", patch(blob, size_at, FF), f"a {name!r} of 4 GB"))
    comm = _chunk(aiff, b"COMM").end
    rates = {"inf": b"\x7f\xff\x80" + bytes(7), "nan": b"\x7f\xff\xc0" + bytes(7),
             "zero": bytes(10), "huge": b"\x7f\xfe" + b"\xff" * 8}  # fmt: skip
    for label, rate in rates.items():
        out.append((f"aiff-rate-{label}", patch(aiff, comm + 8, rate), f"a rate of {label}"))
    ds64 = b"ds64" + struct.pack("<IQQQI", 28, 1 << 63, 1 << 63, 0, 0)
    return [
        *out,
        ("wav-riff-4gb", patch(wav, 4, FF), "a RIFF size of 0xFFFFFFFF"),
        ("wav-riff-0", patch(wav, 4, bytes(4)), "a RIFF size of 0"),
        ("wav-fmt-zeros", patch(wav, _chunk(wav, b"fmt ").end, bytes(16)), "0 channels, 0 Hz"),
        ("rf64-ds64-2e63", b"RF64" + FF + b"WAVE" + ds64 + wav[12:], "an RF64 of 2^63 bytes"),
        ("aiff-form-4gb", patch(aiff, 4, FF), "a FORM size of 0xFFFFFFFF"),
        ("aiff-frames-4g", patch(aiff, comm + 2, FF), "an AIFF of 4 billion sample frames"),
    ]  # fmt: skip


def _absurd_ogg(vorbis: bytes, opus: bytes) -> list[Bad]:
    pages = [s for s in ogg_spans(vorbis) if s.what.endswith("header")]
    vendor = pages[1].end + 7  # in the comment header: after 0x03 "vorbis"
    count = vendor + 4 + int.from_bytes(vorbis[vendor : vendor + 4], "little")
    granule = pages[-1].start + 6
    head = next(s for s in ogg_spans(opus) if s.what.endswith("header")).end  # OpusHead
    empty = ogg_page(0, 0x4242, 0, [], lacing=b"")
    return [
        ("vorbis-vendor-4gb", fix_ogg_crcs(patch(vorbis, vendor, FF)), "a 4 GB Vorbis vendor"),
        ("vorbis-comments-4g", fix_ogg_crcs(patch(vorbis, count, FF)), "4 billion comments"),
        ("vorbis-comment-4gb", fix_ogg_crcs(patch(vorbis, count + 4, FF)), "a 4 GB comment"),
        ("ogg-granule-max", fix_ogg_crcs(patch(vorbis, granule, b"\xff" * 7 + b"\x7f")),
         "a last granule of 2^63-1: millions of years"),
        ("ogg-granule-minus-1", fix_ogg_crcs(patch(vorbis, granule, FF * 2)), "granule -1"),
        ("ogg-page-past-eof", vorbis + ogg_page(0, 0x1234, 99, [], lacing=b"\xff" * 255),
         "a last page claiming 65 KB that are not there"),
        ("ogg-100k-empty-pages", vorbis + empty * 100_000, "100,000 empty pages"),
        ("opus-head-channels-0", fix_ogg_crcs(patch(opus, head + 9, b"\0")), "0 channels"),
        ("opus-head-preskip-max", fix_ogg_crcs(patch(opus, head + 10, FF[:2])), "pre-skip 65535"),
        ("opus-head-mapping-255", fix_ogg_crcs(patch(opus, head + 18, b"\xff")),
         "channel mapping family 255 without its table"),
    ]  # fmt: skip


def _absurd_wavpack(wv: bytes) -> list[Bad]:
    tail = len(wv) - 32  # the APEv2 footer
    return [
        ("wavpack-block-4gb", patch(wv, 4, FF), "a WavPack block of 4 GB"),
        ("wavpack-samples-4g", patch(wv, 12, b"\xfe\xff\xff\xff"), "4 billion samples"),
        ("wavpack-rate-bits-15", patch(wv, 24, b"\0\0\x80\7"), "rate index 15, no custom rate"),
        ("wavpack-apev2-4gb", patch(wv, tail + 12, FF), "an APEv2 tag of 4 GB"),
        ("wavpack-apev2-items-4g", patch(wv, tail + 16, FF), "4 billion APEv2 items"),
    ]  # fmt: skip


def absurd(templates: Mapping[str, Path]) -> Iterator[BadFile]:
    t = {k: templates[k].read_bytes() for k in KINDS}
    groups = [_absurd_flac(t["flac16"]), _absurd_id3(t["mp3"]), _absurd_mp4(t["aac"]),
              _absurd_iff(t["wav"], t["aiff"]), _absurd_ogg(t["vorbis"], t["opus"]),
              _absurd_wavpack(t["wavpack"])]  # fmt: skip
    suffix = {"flac": ".flac", "id3": ".mp3", "apev2": ".mp3", "lyrics3": ".mp3", "mp4": ".m4a",
              "wav": ".wav", "rf64": ".wav", "aiff": ".aiff", "vorbis": ".ogg", "ogg": ".ogg",
              "opus": ".opus", "wavpack": ".wv", "id3v24": ".mp3"}  # fmt: skip
    for name, data, why in (bad for group in groups for bad in group):
        yield BadFile(f"absurd-{name}{suffix[name.split('-')[0]]}", data, "absurd", why)


def _garbage_picture() -> Picture:
    pic = Picture()
    pic.type, pic.mime, pic.data = 3, "image/jpeg", GARBAGE_JPEG
    return pic


def _cover_edit(kind: str) -> Callable[[mutagen.FileType], None]:
    def edit(f: mutagen.FileType) -> None:
        if kind.startswith("flac"):
            f.add_picture(_garbage_picture())
            f["metadata_block_picture"] = ["!!not base64!!"]
        elif kind in ("vorbis", "opus"):
            pic = base64.b64encode(_garbage_picture().write()).decode("ascii")
            f["metadata_block_picture"] = [pic, base64.b64encode(b"\0" * 40).decode("ascii")]
            f["coverart"] = ["%%%"]
        elif kind in ("mp3", "wav", "aiff"):
            f.tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="front",
                            data=GARBAGE_JPEG))  # fmt: skip
            f.tags.add(APIC(encoding=0, mime="-->", type=255, desc="x", data=b"http://x/"))
        elif kind in ("aac", "alac"):
            f["covr"] = [
                MP4Cover(GARBAGE_JPEG, imageformat=MP4Cover.FORMAT_JPEG),
                MP4Cover(b"\x89PNG\r\n\x1a\n", imageformat=MP4Cover.FORMAT_PNG),
            ]
        else:
            f.tags["Cover Art (Front)"] = APEValue(b"\xff" * 2000 + b"\0" + GARBAGE_JPEG, 1)

    return edit


def broken_covers(templates: Mapping[str, Path]) -> Iterator[BadFile]:
    for kind in KINDS:
        data = retag(templates[kind].read_bytes(), _cover_edit(kind))
        yield BadFile(
            f"cover-{kind}{SUFFIX[kind]}", data, "cover", f"{kind} with garbage cover art"
        )
    flac = templates["flac16"].read_bytes()
    mime_only = struct.pack(">II", 3, 10) + b"image/jpeg" + bytes(20) + struct.pack(">I", 0)
    yield BadFile("cover-flac-empty-picture.flac", _flac_insert(flac, 6, mime_only), "cover",
                  "a FLAC PICTURE block with no image bytes")  # fmt: skip
    trunc = _flac_insert(flac, 6, struct.pack(">II", 3, 10) + b"image/jp")
    yield BadFile("cover-flac-cut-picture.flac", trunc, "cover",
                  "a FLAC PICTURE block that ends inside its mime type")  # fmt: skip


def wrong_extensions(templates: Mapping[str, Path]) -> Iterator[BadFile]:
    pairs = [("mp3", ".flac"), ("flac16", ".mp3"), ("vorbis", ".m4a"), ("aac", ".ogg"),
             ("wav", ".aiff"), ("aiff", ".wav"), ("wavpack", ".ape"), ("opus", ".mp3"),
             ("flac24", ".wv"), ("alac", ".opus"), ("mp3", ".wma"), ("vorbis", ".dsf")]  # fmt: skip
    for kind, suffix in pairs:
        yield BadFile(f"liar-{kind}{suffix}", templates[kind].read_bytes(), "extension",
                      f"a {kind} file named {suffix}")  # fmt: skip


def headers_only(templates: Mapping[str, Path]) -> Iterator[BadFile]:
    for kind in KINDS:
        data = templates[kind].read_bytes()
        spans = structure(data)
        if kind.startswith("flac"):
            end = next(s.start for s in spans if s.what == "flac frames")
        elif kind in ("vorbis", "opus"):  # header pages carry granule position 0
            pages = ogg_spans(data)
            heads = [(h, b) for h, b in zip(pages[::2], pages[1::2], strict=True)]
            end = max(b.end for h, b in heads if data[h.start + 6 : h.start + 14] == bytes(8))
        elif kind in ("aac", "alac"):
            mdat = _find_atom(data, b"mdat")
            data = data[: mdat.start] + _atom(b"mdat", b"") + data[mdat.end :]
            end = len(data)
        elif kind in ("wav", "aiff"):
            name = b"data" if kind == "wav" else b"SSND"
            head = _chunk(data, name)
            body = next(s for s in iff_spans(data, kind == "wav") if s.start == head.end)
            zero = bytes(4) if kind == "wav" else struct.pack(">I", 8)
            data = (
                data[: head.start + 4] + zero + bytes(0 if kind == "wav" else 8) + data[body.end :]
            )
            end = len(data)
        elif kind == "mp3":
            end = id3v2_spans(data)[1]
        else:  # wavpack: the first block's header and nothing else
            end = 32
        yield BadFile(f"headers-only-{kind}{SUFFIX[kind]}", data[:end], "headers-only",
                      f"{kind} with its headers and no audio")  # fmt: skip


def fake_durations(templates: Mapping[str, Path]) -> Iterator[BadFile]:
    flac, mp3, m4a, wav, wv = (templates[k].read_bytes() for k in ("flac16", "mp3", "aac", "wav",
                                                                  "wavpack"))  # fmt: skip
    word = int.from_bytes(flac[18:26], "big")  # STREAMINFO: rate, channels, bits, samples
    info = mp3.index(b"Info")  # LAME's Xing header in the first frame
    vbri = patch(mp3, info - 4, b"VBRI" + struct.pack(">HHHII", 1, 0, 0, 2**32 - 1, 2**32 - 1))
    mdhd = _find_atom(m4a, b"mdhd")
    mdhd_v1 = struct.pack(">I4sB3xQQIQ", 44, b"mdhd", 1, 0, 0, 1, 2**64 - 1)[
        : mdhd.end - mdhd.start
    ]
    table = [
        ("flac-2e36.flac", patch(flac, 18, (word | (2**36 - 1)).to_bytes(8, "big")),
         "STREAMINFO claims 2^36-1 samples"),
        ("flac-rate-0.flac", patch(flac, 18, (word & ~(0xFFFFF << 44)).to_bytes(8, "big")),
         "STREAMINFO sample rate 0"),
        ("flac-blocksize-0.flac", patch(flac, 8, bytes(4)), "STREAMINFO block sizes 0"),
        ("mp3-xing-frames-4g.mp3", patch(mp3, info, b"Xing\0\0\0\3" + FF + FF),
         "a Xing header: 0xFFFFFFFF frames of 0xFFFFFFFF bytes"),
        ("mp3-xing-frames-0.mp3", patch(mp3, info, b"Xing\0\0\0\3" + bytes(8)), "Xing: 0 frames"),
        ("mp3-xing-bytes-1.mp3", patch(mp3, info, b"Xing\0\0\0\3\0\0\0\1\0\0\0\1"),
         "Xing: 1 frame of 1 byte"),
        ("mp3-vbri-4g.mp3", vbri, "a VBRI header claiming 4 billion frames"),
        ("mp4-mdhd-max.m4a", patch(m4a, mdhd.start + 24, FF), "an mdhd duration of 2^32-1"),
        ("mp4-mdhd-v1-2e64.m4a", patch(m4a, mdhd.start, mdhd_v1),
         "a version-1 mdhd: time scale 1, duration 2^64-1"),
        ("wav-rate-1.wav", patch(wav, _chunk(wav, b"fmt ").end + 4, struct.pack("<II", 1, 1)),
         "a WAV at 1 Hz and 1 byte/s"),
        ("wavpack-rate-custom.wv", patch(wv, 27, b"\x07"), "WavPack flags with junk rate bits"),
    ]  # fmt: skip
    for name, data, why in table:
        yield BadFile(f"duration-{name}", data, "duration", why)


def loops() -> Iterator[BadFile]:
    """Structures that advance by zero or nest deeply: the shapes that hang careless parsers."""
    ftyp, mdat = _atom(b"ftyp", b"M4A \0\0\0\0"), _atom(b"mdat", b"x")
    riff = b"RIFF" + struct.pack("<I", 4 + 8 * 120_000) + b"WAVE" + b"JUNK\0\0\0\0" * 120_000
    form = b"FORM" + struct.pack(">I", 4 + 8 * 60_000) + b"AIFF" + b"ANNO\0\0\0\0" * 60_000
    flac = b"fLaC" + b"\1\0\0\0" * 120_000 + b"\x81\0\0\0\xff\xf8" + bytes(100)
    dff = b"FRM8" + struct.pack(">Q", 4 + 12 * 1000) + b"DSD " + (b"FVER" + bytes(8)) * 1000
    ogg = ogg_page(2, 1, 0, [b"\1vorbis" + bytes(23)]) + ogg_page(0, 1, 1, [], lacing=b"") * 5000
    asf_head = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
    asf = asf_head + struct.pack("<QIBB", 30, 2**32 - 1, 1, 2) + bytes(200)
    table = [
        ("mp4-nested-udta.m4a", ftyp + _nest(b"udta", 3000) + mdat, "3,000 nested udta atoms"),
        ("mp4-moov-size-0.m4a", ftyp + b"\0\0\0\0moov" + bytes(64), "moov of size 0 (to EOF)"),
        ("mp4-zero-atoms.m4a", ftyp + bytes(8) * 20_000, "20,000 atoms of size 0 named NUL"),
        ("mp4-100k-free.m4a", ftyp + _atom(b"free", b"") * 120_000 + mdat, "120,000 free atoms"),
        ("wav-120k-empty-chunks.wav", riff, "120,000 empty chunks"),
        ("aiff-60k-empty-chunks.aiff", form, "60,000 empty chunks"),
        ("flac-120k-empty-blocks.flac", flac, "120,000 empty PADDING blocks"),
        ("dsf-chunk-size-0.dsf", b"DSD " + bytes(24), "a DSF chunk of size 0"),
        ("dff-empty-chunks.dff", dff, "1,000 empty DSDIFF chunks"),
        ("ogg-empty-pages-in-headers.ogg", ogg, "5,000 empty pages where headers should be"),
        ("ape-nested.ape", b"MAC " + struct.pack("<H", 3990) + bytes(50), "a bare APE header"),
        ("asf-4g-objects.wma", asf, "an ASF header claiming 4 billion objects"),
    ]  # fmt: skip
    for name, data, why in table:
        yield BadFile(f"loop-{name}", data, "loop", why)


def _nest(name: bytes, depth: int) -> bytes:
    inner = b""
    for _ in range(depth):
        inner = _atom(name, inner)
    return inner


def corpus(templates: Mapping[str, Path], *, sweep: int = 24) -> list[BadFile]:
    """Every family, each file with a unique name."""
    files = [*empties(), *noise(), *truncations(templates, sweep), *absurd(templates),
             *broken_covers(templates), *wrong_extensions(templates), *headers_only(templates),
             *fake_durations(templates), *loops()]  # fmt: skip
    names = [f.name for f in files]
    assert len(set(names)) == len(names), "duplicate names in the corpus"
    return files
