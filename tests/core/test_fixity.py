"""Fixity hashes: tag edits keep the audio hash, damaged audio changes it, bad input falls back.

Every format is exercised on real files (PyAV-encoded, mutagen-tagged; see ``audiogen``);
formats we cannot generate (DSF, DSDIFF, RF64) and rare tag layouts are built by hand.
"""

from __future__ import annotations

import errno
import hashlib
import io
import random
import struct
import wave
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import audiogen
import blake3
import pytest
from decode_critical import ogg_recrc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutagen.mp4 import Atoms
from tagedits import EDITS, add_apev2, add_cover, add_id3v1, set_title

from phonovault.core.identity.digests import Digests, Expected, HashCancelled, hash_file

KINDS = list(audiogen.KINDS)
METHOD = {
    "flac16": "flac",
    "flac24": "flac",
    "mp3": "stream",
    "vorbis": "ogg-packets",
    "opus": "ogg-packets",
    "aac": "mp4-mdat",
    "alac": "mp4-mdat",
    "wav": "riff-data",
    "aiff": "aiff-ssnd",
    "wavpack": "stream",
}
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def b3(data: bytes) -> str:
    return blake3.blake3(data).hexdigest()


def hash_bytes(data: bytes, chunk_size: int = 1 << 20) -> Digests:
    """Hash in-memory bytes through the public API (the opener is the seam)."""
    return hash_file("mem", opener=lambda _path, _mode: io.BytesIO(data), chunk_size=chunk_size)


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("edit", list(EDITS))
@pytest.mark.parametrize("kind", KINDS)
def test_tag_edit_keeps_audio_hash(make_file: Callable[[str], Path], kind: str, edit: str) -> None:
    path = make_file(kind)
    before = hash_file(path)
    assert (before.audio_method, before.fallback_reason) == (METHOD[kind], None)
    EDITS[edit](path, kind)
    after = hash_file(path)
    assert after.file_hash != before.file_hash
    assert after.audio_hash == before.audio_hash
    assert after.audio_method == METHOD[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_a_verify_read_with_the_baseline_gives_the_same_digests(
    make_file: Callable[[str], Path], kind: str
) -> None:
    """The verify fast path (one hash when the file is unchanged, the audio hash from memory
    when it is not) must agree with the full two-hash read, unchanged, tag-edited or rotten."""
    path = make_file(kind)
    base = hash_file(path)
    expect = Expected(base.file_hash, base.audio_hash, base.audio_method, 2, base.setup_hash)
    # unchanged bytes: the baseline's identity is taken, only its samples half is not known
    assert hash_file(path, expect=expect, chunk_size=4096) == replace(base, samples_hash=None)
    set_title(path, kind)
    assert hash_file(path, expect=expect) == hash_file(path)
    audiogen.flip_audio_byte(path)
    rotten = hash_file(path, expect=expect)
    assert rotten == hash_file(path) and rotten.audio_hash != base.audio_hash
    old = Expected(base.file_hash, "0" * 64, base.audio_method, 1)  # a v1 baseline: recomputed
    assert hash_file(path, expect=old, with_sha256=True) == hash_file(path, with_sha256=True)


@pytest.mark.parametrize(
    "steps", [["id3v1"], ["apev2"], ["apev2", "id3v1"], ["id3v1", "apev2"]], ids="+".join
)
@pytest.mark.parametrize("kind", ["mp3", "flac16", "wavpack"])
def test_trailing_tags_keep_audio_hash(
    make_file: Callable[[str], Path], kind: str, steps: list[str]
) -> None:
    path = make_file(kind)
    before = hash_file(path)
    for step in steps:
        (add_id3v1 if step == "id3v1" else add_apev2)(path, kind)
    after = hash_file(path)
    assert after.file_hash != before.file_hash
    assert (after.audio_hash, after.audio_method) == (before.audio_hash, METHOD[kind])


@pytest.mark.parametrize("kind", ["vorbis", "opus"])
def test_ogg_pages_renumbered_by_a_big_comment_keep_audio_hash(
    make_file: Callable[[str], Path], kind: str
) -> None:
    path = make_file(kind)
    before, pages_before = hash_file(path), ogg_pages(path.read_bytes())
    add_cover(path, kind)
    pages_after = ogg_pages(path.read_bytes())
    # The cover needs more header pages, so every audio page got a new number (and CRC).
    assert pages_after[-1][1] > pages_before[-1][1]
    assert hash_file(path).audio_hash == before.audio_hash


# --- damage ----------------------------------------------------------------------------------


def ogg_pages(data: bytes) -> list[tuple[int, int, int]]:
    """(offset, sequence number, body length) of every page, parsed independently."""
    pages, pos = [], 0
    while pos < len(data):
        assert data[pos : pos + 4] == b"OggS"
        (seq,) = struct.unpack_from("<I", data, pos + 18)
        nseg = data[pos + 26]
        body = sum(data[pos + 27 : pos + 27 + nseg])
        pages.append((pos, seq, body))
        pos += 27 + nseg + body
    return pages


def mdat_bodies(path: Path) -> bytes:
    with path.open("rb") as f:
        atoms = [a for a in Atoms(f).atoms if a.name == b"mdat"]
        return b"".join(a.read(f)[1] for a in atoms)


def audio_offset(path: Path, kind: str) -> int:
    """An offset in the middle of the audio payload, found without the module under test."""
    data = path.read_bytes()
    if kind in ("vorbis", "opus"):
        pos, _, body = ogg_pages(data)[-1]
        return pos + 27 + data[pos + 26] + body // 2
    if kind in ("aac", "alac"):
        with path.open("rb") as f:
            mdat = next(a for a in Atoms(f).atoms if a.name == b"mdat")
        return mdat.offset + mdat.length // 2
    if kind in ("wav", "aiff"):
        pos = data.index(b"data" if kind == "wav" else b"SSND")
        (size,) = struct.unpack_from("<I" if kind == "wav" else ">I", data, pos + 4)
        return pos + 8 + size // 2
    return len(data) // 2  # one second of audio dwarfs the tags of these streams


@pytest.mark.parametrize("kind", KINDS)
def test_flipped_audio_byte_changes_audio_hash(make_file: Callable[[str], Path], kind: str) -> None:
    path = make_file(kind)
    before = hash_file(path)
    flip(path, audio_offset(path, kind))
    after = hash_file(path)
    assert after.audio_method == METHOD[kind]
    assert after.audio_hash != before.audio_hash


@pytest.mark.parametrize("kind", KINDS)
def test_flipped_tag_byte_keeps_audio_hash(make_file: Callable[[str], Path], kind: str) -> None:
    path = make_file(kind)
    before = hash_file(path)
    flip(path, path.read_bytes().index(f"T {kind}".encode()) + 1)  # inside the title
    after = hash_file(path)
    assert after.file_hash != before.file_hash
    if kind in ("vorbis", "opus"):
        # Ogg pages carry a CRC: the flip fails it and a decoder drops that header page, so
        # it is damage (the identity changes); a tagger rewrites the CRC with the comment.
        assert after.audio_hash != before.audio_hash and after.damage
        data = bytearray(path.read_bytes())
        ogg_recrc(data)
        path.write_bytes(data)
        after = hash_file(path)
        assert after.file_hash != before.file_hash and not after.damage
    assert after.audio_hash == before.audio_hash


def _xing_toc_byte(data: bytes) -> int:
    """An offset inside the seek table of the Xing frame that opens an MP3 stream."""
    at = data.index(b"Xing") if b"Xing" in data[:4096] else data.index(b"Info")
    flags = data[at + 7]
    assert flags & 4, "no seek table"
    return at + 8 + (4 if flags & 1 else 0) + (4 if flags & 2 else 0) + 50


def _esds_max_bitrate(data: bytes) -> int:
    """The offset of the low byte of the esds DecoderConfigDescriptor's maxBitrate."""
    at = data.index(b"esds") + 8  # past version and flags
    assert data[at] == 0x03
    pos = at + 1
    while data[pos] & 0x80:
        pos += 1
    pos += 1 + 3  # ES_ID, flags (the generated files set none of the optional fields)
    assert data[pos] == 0x04
    pos += 1
    while data[pos] & 0x80:
        pos += 1
    return pos + 1 + 2 + 3 + 3  # objectType, streamType, bufferSizeDB, maxBitrate's last byte


@pytest.mark.parametrize(("kind", "where"), [("mp3", _xing_toc_byte), ("aac", _esds_max_bitrate)])
def test_remux_bookkeeping_is_not_audio(make_file, kind: str, where) -> None:
    """A Xing seek table and the esds bitrate statistics are rewritten by a lossless remux and
    read by no decoder to make samples: the identity leaves them out (the file hash does not:
    rot there with no write is still corrupt)."""
    path = make_file(kind)
    before = hash_file(path)
    flip(path, where(path.read_bytes()))
    after = hash_file(path)
    assert after.file_hash != before.file_hash
    assert (after.audio_hash, after.audio_method) == (before.audio_hash, METHOD[kind])


def test_payload_matches_independent_parsers(templates: dict[str, Path]) -> None:
    with wave.open(str(templates["wav"])) as w:
        frames = w.readframes(w.getnframes())
    assert hash_file(templates["wav"]).samples_hash == b3(frames)
    for kind in ("aac", "alac"):
        assert hash_file(templates[kind]).samples_hash == b3(mdat_bodies(templates[kind]))


@pytest.mark.parametrize("chunk_size", [1, 7, 4099])
@pytest.mark.parametrize("kind", ["vorbis", "opus", "mp3", "aac", "wav"])
def test_chunking_does_not_matter(templates: dict[str, Path], kind: str, chunk_size: int) -> None:
    expected = hash_file(templates[kind])
    assert hash_file(templates[kind], chunk_size=chunk_size) == expected


def test_chained_ogg_skips_every_streams_headers(make_file: Callable[[str], Path]) -> None:
    a, b = make_file("vorbis"), make_file("opus")
    original = a.read_bytes()
    chained = hash_bytes(original + b.read_bytes())
    set_title(a, "vorbis")
    add_cover(b, "opus")
    assert hash_bytes(a.read_bytes() + b.read_bytes()).audio_hash == chained.audio_hash
    assert chained.audio_method == "ogg-packets"
    # A chain of the same file twice reuses the serial number after the end-of-stream page.
    again = hash_bytes(original + original)
    assert again.audio_method == "ogg-packets"
    assert hash_bytes(original + a.read_bytes()).audio_hash == again.audio_hash


def ogg_page(flags: int, seq: int, packets: list[bytes], granule: int = 0) -> bytes:
    lacing = b"".join(bytes([255] * (len(p) // 255) + [len(p) % 255]) for p in packets)
    head = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, 77, seq, 0, len(lacing))
    page = bytearray(head + lacing + b"".join(packets))
    ogg_recrc(page)
    return bytes(page)


def opus_stream(tags: bytes, audio: bytes, seq: int = 0) -> bytes:
    """Opus whose OpusTags packet shares its page with the first audio packet (legal, rare)."""
    return (
        ogg_page(0x02, seq, [b"OpusHead" + bytes(11)])
        + ogg_page(0x00, seq + 1, [b"OpusTags" + tags, audio[:600]], granule=960)
        + ogg_page(0x04, seq + 2, [audio[600:]], granule=1920)
    )


def test_ogg_audio_starting_on_the_last_header_page() -> None:
    audio = AUDIO[:1000]
    first = hash_bytes(opus_stream(b"short", audio))
    assert (first.audio_method, first.fallback_reason) == ("ogg-packets", None)
    retagged = hash_bytes(opus_stream(b"much longer tags" * 40, audio, seq=5))
    assert retagged.audio_hash == first.audio_hash
    assert hash_bytes(opus_stream(b"short", audio), chunk_size=5) == first
    damaged = bytearray(audio)
    damaged[300] ^= 1  # in the audio packet that shares the OpusTags page
    assert hash_bytes(opus_stream(b"short", bytes(damaged))).audio_hash != first.audio_hash


# --- hand-built structures -------------------------------------------------------------------

AUDIO = random.Random(3).randbytes(5001)  # odd length: chunk pad bytes must stay out


def id3v2(body: bytes, *, major: int = 4, footer: bool = False) -> bytes:
    size = bytes((len(body) >> s) & 0x7F for s in (21, 14, 7, 0))
    head = bytes([major, 0, 0x10 if footer else 0]) + size
    return b"ID3" + head + body + (b"3DI" + head if footer else b"")


def ape(items: bytes, *, header: bool) -> bytes:
    def block(flags: int) -> bytes:
        return b"APETAGEX" + struct.pack("<IIII", 2000, len(items) + 32, 1, flags) + bytes(8)

    return (block(0xA0000000) if header else b"") + items + block(0x80000000 if header else 0)


def lyrics3(text: bytes) -> bytes:
    body = b"LYRICSBEGIN" + text
    return body + b"%06d" % len(body) + b"LYRICS200"


def test_stream_tags_in_every_layout() -> None:
    stream = b"\xff\xfb\x90\x00" + AUDIO
    tags = [
        (id3v2(b"x" * 50, footer=True) + id3v2(b"y" * 20, major=3), b""),
        (b"", ape(b"items", header=True) + lyrics3(b"la la") + b"TAG" + bytes(125)),
        (b"", b"TAG" + bytes(125) + ape(b"items", header=False)),
        (ape(b"lead", header=True), b""),
    ]
    for lead, trail in tags:
        digests = hash_bytes(lead + stream + trail)
        assert (digests.audio_method, digests.samples_hash) == ("stream", b3(stream))


def iff(cid: bytes, body: bytes, fmt: str = "<4sI") -> bytes:
    return struct.pack(fmt, cid, len(body)) + body + b"\0" * (len(body) & 1)


def test_aiff_and_riff_chunks_with_padding() -> None:
    chunks = iff(b"COMM", bytes(18), ">4sI") + iff(b"NAME", b"odd", ">4sI")
    chunks += iff(b"SSND", AUDIO, ">4sI") + iff(b"ID3 ", id3v2(b"t"), ">4sI")
    aiff = b"FORM" + struct.pack(">I", 4 + len(chunks)) + b"AIFF" + chunks
    assert hash_bytes(aiff).samples_hash == b3(AUDIO)
    data = iff(b"fmt ", bytes(16)) + iff(b"data", AUDIO) + iff(b"id3 ", id3v2(b"t"))
    wav = b"RIFF" + struct.pack("<I", 4 + len(data)) + b"WAVE" + data
    assert hash_bytes(wav + b"TAG" + bytes(125)).samples_hash == b3(AUDIO)  # junk after RIFF


def test_rf64_uses_the_ds64_size() -> None:
    ds64 = iff(b"ds64", struct.pack("<QQQI", 0, len(AUDIO), 0, 0))
    body = ds64 + iff(b"fmt ", bytes(16)) + b"data" + b"\xff" * 4 + AUDIO
    digests = hash_bytes(b"RF64\xff\xff\xff\xffWAVE" + body)
    assert (digests.audio_method, digests.samples_hash) == ("riff-data", b3(AUDIO))


def test_dsf_and_dff() -> None:
    tag = id3v2(b"dsd tags")
    head = b"DSD " + struct.pack("<QQQ", 28, 0, 0) + b"fmt " + struct.pack("<Q", 52) + bytes(40)
    dsf = head + b"data" + struct.pack("<Q", 12 + len(AUDIO)) + AUDIO + tag
    assert hash_bytes(dsf).audio_method == "dsf-data"
    assert hash_bytes(dsf).samples_hash == b3(AUDIO)
    prop = iff(b"PROP", b"SND " + iff(b"FS  ", struct.pack(">I", 2822400), ">4sQ"), ">4sQ")
    chunks = iff(b"FVER", bytes(4), ">4sQ") + prop + iff(b"DSD ", AUDIO, ">4sQ")
    chunks += iff(b"ID3 ", tag, ">4sQ")
    dff = b"FRM8" + struct.pack(">Q", 4 + len(chunks)) + b"DSD " + chunks
    assert (hash_bytes(dff).audio_method, hash_bytes(dff).samples_hash) == ("dff-dsd", b3(AUDIO))


def box(kind: bytes, *children: bytes) -> bytes:
    body = b"".join(children)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def minimal_moov() -> bytes:
    """A moov with one sound track: the smallest an MP4 audio file can be."""
    full = bytes(4)  # version and flags
    mdhd = box(b"mdhd", full + struct.pack(">IIIIHH", 0, 0, 44100, 1024, 0, 0))
    hdlr = box(b"hdlr", full + bytes(4) + b"soun" + bytes(12) + b"\0")
    tables = [box(t, full + bytes(4)) for t in (b"stsd", b"stts", b"stsc", b"stco")]
    stsz = box(b"stsz", full + bytes(8))
    stbl = box(b"stbl", *tables, stsz)
    return box(b"moov", box(b"trak", box(b"mdia", mdhd, hdlr, box(b"minf", stbl))))


def test_mp4_large_and_open_ended_mdat() -> None:
    ftyp = struct.pack(">I4s", 16, b"ftyp") + b"M4A \0\0\0\0"
    moov = minimal_moov()
    large = struct.pack(">I4sQ", 1, b"mdat", 16 + len(AUDIO)) + AUDIO
    assert hash_bytes(ftyp + large + moov).samples_hash == b3(AUDIO)
    to_end = ftyp + moov + struct.pack(">I4s", 0, b"mdat") + AUDIO
    assert hash_bytes(to_end).samples_hash == b3(AUDIO)


# --- fallbacks and failures ------------------------------------------------------------------


def mp4_without_mdat(templates: dict[str, Path]) -> bytes:
    return templates["aac"].read_bytes().replace(b"mdat", b"free")


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda t: b"", "empty file"),
        (lambda t: random.Random(1).randbytes(100_000), "unrecognised format"),
        (lambda t: bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c") + bytes(500), "unrecognised"),
        (lambda t: id3v2(b"")[:6] + b"\x7f\x7f\x7f\x7f" + bytes(1 << 20), "ID3v2 tag larger"),
        (mp4_without_mdat, "MP4 with no mdat atom"),
        (lambda t: t["flac16"].read_bytes()[:100], "truncated FLAC metadata block"),
        (lambda t: t["vorbis"].read_bytes()[:-10], "truncated Ogg page"),
        (lambda t: t["wav"].read_bytes()[:-1000], "runs past the end"),
        (lambda t: b"OggS\0\x02" + bytes(20) + b"\x01\x08fishead\0", "no audio stream"),
    ],
    ids=["empty", "random", "asf", "huge-id3", "no-mdat", "flac", "ogg", "wav", "skeleton"],
)
def test_unparseable_content_falls_back_to_file_hash(
    templates: dict[str, Path], make: Callable[[dict[str, Path]], bytes], reason: str
) -> None:
    data = make(templates)
    digests = hash_bytes(data)
    assert (digests.audio_method, digests.size) == ("file", len(data))
    assert digests.audio_hash == digests.file_hash == b3(data)
    assert digests.fallback_reason is not None and reason in digests.fallback_reason


def check(digests: Digests, data: bytes) -> None:
    assert isinstance(digests, Digests)
    assert (digests.size, digests.file_hash) == (len(data), b3(data))
    if digests.audio_method == "file":
        assert digests.audio_hash == digests.file_hash and digests.fallback_reason


@FUZZ
@given(kind=st.sampled_from(KINDS), cut=st.floats(0, 1), chunk=st.sampled_from([61, 1 << 20]))
def test_truncated_files_never_raise(
    templates: dict[str, Path], kind: str, cut: float, chunk: int
) -> None:
    data = templates[kind].read_bytes()
    data = data[: int(len(data) * cut)]
    check(hash_bytes(data, chunk_size=chunk), data)


@FUZZ
@given(
    kind=st.sampled_from(KINDS), edits=st.lists(st.tuples(st.integers(0), st.binary()), max_size=8)
)
def test_damaged_structures_never_raise(
    templates: dict[str, Path], kind: str, edits: list[tuple[int, bytes]]
) -> None:
    data = bytearray(templates[kind].read_bytes())
    for where, junk in edits:  # header region, or the trailing tags at the end
        pos = where % 4096 if where % 2 else len(data) - 1 - where % 512
        data[pos : pos + len(junk)] = junk
    check(hash_bytes(bytes(data), chunk_size=997), bytes(data))


class FailingFile(io.BytesIO):
    """Raises EIO once ``budget`` bytes have been read, like a disk with a bad sector."""

    def __init__(self, data: bytes, budget: int) -> None:
        super().__init__(data)
        self.budget = budget

    def _spend(self, wanted: int) -> int:
        if self.budget <= 0:
            raise OSError(errno.EIO, "Input/output error")
        allowed = min(self.budget, wanted)
        self.budget -= allowed
        return allowed

    def read(self, size: int | None = -1, /) -> bytes:
        return super().read(self._spend(size if size is not None and size >= 0 else 1 << 40))

    def readinto(self, buffer: bytearray, /) -> int:  # type: ignore[override]
        return super().readinto(memoryview(buffer)[: self._spend(len(buffer))])


# 0 fails while the structure is located, the others in the main pass.
@pytest.mark.parametrize("budget", [0, 5000, 100_000])
def test_read_errors_propagate(templates: dict[str, Path], budget: int) -> None:
    files: list[FailingFile] = []

    def opener(_path: object, _mode: str) -> FailingFile:
        files.append(FailingFile(templates["flac24"].read_bytes(), budget))
        return files[-1]

    with pytest.raises(OSError) as caught:
        hash_file("x", opener=opener, chunk_size=4096)
    assert caught.value.errno == errno.EIO
    assert files[0].closed


def test_cancel_and_progress(templates: dict[str, Path]) -> None:
    path, seen = templates["wav"], list[int]()
    digests = hash_file(path, chunk_size=10_000, on_bytes=seen.append)
    assert sum(seen) == digests.size == path.stat().st_size and len(seen) > 1
    calls = iter([False, False, True])
    with pytest.raises(HashCancelled):
        hash_file(path, chunk_size=10_000, should_stop=lambda: next(calls))


def test_algorithms(templates: dict[str, Path]) -> None:
    path = templates["flac16"]
    data = path.read_bytes()
    plain = hash_file(path)
    assert (plain.file_hash, plain.algorithm, plain.sha256) == (b3(data), "blake3", None)
    assert hash_file(path, with_sha256=True).sha256 == hashlib.sha256(data).hexdigest()
    sha = hash_file(path, algorithm="sha256", with_sha256=True)
    assert sha.file_hash == sha.sha256 == hashlib.sha256(data).hexdigest()
    assert sha.audio_method == "flac" and sha.audio_hash != sha.file_hash
    with pytest.raises(ValueError):
        hash_file(path, algorithm="md5")
