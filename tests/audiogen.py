"""Make real, small audio files for the tests and the benchmarks.

Every file is encoded by FFmpeg through PyAV (the same decoders our users' files come from) and
tagged with mutagen, so the suite never ships binaries and never mocks a format.
"""

from __future__ import annotations

import math
import os
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import av
import mutagen
from mutagen.apev2 import APEv2File
from mutagen.id3 import ID3, TALB, TCON, TDRC, TIT2, TPE1, TPE2, TPOS, TRCK
from mutagen.mp4 import MP4


@dataclass(frozen=True, slots=True)
class Kind:
    """One audio flavour the suite can generate."""

    name: str
    suffix: str
    container: str
    codec: str
    rate: int = 44100
    bits: int = 16  # 24 selects a 32-bit sample format with 24 significant bits
    options: Mapping[str, str] | None = None


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("flac16", ".flac", "flac", "flac"),
        Kind("flac24", ".flac", "flac", "flac", rate=96000, bits=24),
        Kind("mp3", ".mp3", "mp3", "libmp3lame"),
        Kind("vorbis", ".ogg", "ogg", "vorbis", options={"strict": "experimental"}),
        Kind("opus", ".opus", "opus", "libopus", rate=48000),
        Kind("aac", ".m4a", "ipod", "aac"),
        Kind("alac", ".m4a", "ipod", "alac"),
        Kind("wav", ".wav", "wav", "pcm_s16le"),
        Kind("aiff", ".aiff", "aiff", "pcm_s16be"),
        Kind("wavpack", ".wv", "wv", "wavpack"),
    )
}


def _pcm(seconds: float, rate: int, freq: float, seed: int) -> bytes:
    """Interleaved stereo s16 PCM: a tone with a little deterministic noise (so codecs work)."""
    n = int(seconds * rate)
    out = bytearray(n * 4)
    state = (seed * 2654435761 + 12345) & 0xFFFFFFFF
    step = 2 * math.pi * freq / rate
    for i in range(n):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        noise = (state >> 16) % 2001 - 1000
        v = int(12000 * math.sin(i * step)) + noise
        struct.pack_into("<hh", out, i * 4, v, -v)
    return bytes(out)


def encode(
    path: Path, kind: Kind | str, seconds: float = 1.0, freq: float = 440.0, seed: int = 0
) -> Path:
    """Encode ``seconds`` of stereo audio into ``path`` with PyAV."""
    if isinstance(kind, str):
        kind = KINDS[kind]
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = _pcm(seconds, kind.rate, freq, seed)
    with av.open(str(path), "w", format=kind.container) as container:
        stream = container.add_stream(kind.codec, rate=kind.rate, layout="stereo")
        ctx = stream.codec_context
        options = dict(kind.options or {})
        formats = [f.name for f in ctx.codec.audio_formats]
        fmt = next((f for f in formats if f in ("s16", "s16p")), formats[0])
        if kind.bits == 24:
            fmt = "s32p" if fmt.endswith("p") else "s32"
            options["bits_per_raw_sample"] = "24"
        ctx.options = options
        ctx.format = fmt
        resampler = av.AudioResampler(format=fmt, layout="stereo", rate=kind.rate)
        chunk = 4096
        for start in range(0, len(pcm) // 4, chunk):
            piece = pcm[start * 4 : (start + chunk) * 4]
            frame = av.AudioFrame(format="s16", layout="stereo", samples=len(piece) // 4)
            frame.planes[0].update(piece)
            frame.sample_rate = kind.rate
            frame.pts = start
            for converted in resampler.resample(frame):
                for packet in stream.encode(converted):
                    container.mux(packet)
        for converted in resampler.resample(None):
            for packet in stream.encode(converted):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def tag(path: Path, tags: Mapping[str, str]) -> None:
    """Write common tags (title, artist, album, albumartist, tracknumber, discnumber, date,
    genre) with mutagen, in the file's native tag format."""
    f = mutagen.File(path)
    if f is None:
        raise ValueError(f"mutagen cannot open {path}")
    if isinstance(f, MP4):
        names = {
            "title": "\xa9nam",
            "artist": "\xa9ART",
            "album": "\xa9alb",
            "albumartist": "aART",
            "date": "\xa9day",
            "genre": "\xa9gen",
        }
        for key, value in tags.items():
            if key == "tracknumber":
                num, _, total = value.partition("/")
                f["trkn"] = [(int(num), int(total or 0))]
            elif key == "discnumber":
                num, _, total = value.partition("/")
                f["disk"] = [(int(num), int(total or 0))]
            else:
                f[names[key]] = [value]
    elif isinstance(f, APEv2File):
        if f.tags is None:
            f.add_tags()
        names = {
            "title": "Title",
            "artist": "Artist",
            "album": "Album",
            "albumartist": "Album Artist",
            "tracknumber": "Track",
            "discnumber": "Disc",
            "date": "Year",
            "genre": "Genre",
        }
        for key, value in tags.items():
            f.tags[names[key]] = value
    elif path.suffix.lower() in {".mp3", ".wav", ".aiff", ".aif"}:
        if f.tags is None:
            f.add_tags()
        frames = {
            "title": TIT2,
            "artist": TPE1,
            "album": TALB,
            "albumartist": TPE2,
            "tracknumber": TRCK,
            "discnumber": TPOS,
            "date": TDRC,
            "genre": TCON,
        }
        id3 = f.tags
        assert isinstance(id3, ID3)
        for key, value in tags.items():
            id3.add(frames[key](encoding=3, text=[value]))
    else:  # Vorbis comments: FLAC, Ogg Vorbis, Opus
        if f.tags is None:
            f.add_tags()
        for key, value in tags.items():
            f.tags[key] = [value]
    f.save()


def make_track(
    path: Path,
    kind: Kind | str,
    *,
    title: str = "Track",
    artist: str = "Artist",
    album: str = "Album",
    track: int = 1,
    total: int = 10,
    seconds: float = 1.0,
    seed: int = 0,
) -> Path:
    """Encode and tag one track: the usual building block of a test library."""
    encode(path, kind, seconds=seconds, seed=seed, freq=220.0 + 20 * (seed % 40))
    tag(
        path,
        {
            "title": title,
            "artist": artist,
            "album": album,
            "albumartist": artist,
            "tracknumber": f"{track}/{total}",
            "discnumber": "1/1",
            "date": "2001",
            "genre": "Jazz",
        },
    )
    return path


def make_library(
    root: Path,
    tracks: int,
    *,
    kinds: list[str] | None = None,
    seconds: float = 1.0,
    per_album: int = 10,
) -> list[Path]:
    """A library of ``tracks`` files laid out Artist/Album/NN Title.ext, cycling formats.

    Encoding is the slow part, so one file per kind is encoded and the rest are copies with
    fresh tags: each file still has distinct tags and therefore a distinct file hash.
    """
    kinds = kinds or list(KINDS)
    templates: dict[str, Path] = {}
    tmpl_dir = root.parent / (root.name + ".templates")
    for i, name in enumerate(kinds):
        templates[name] = encode(
            tmpl_dir / f"t{i}{KINDS[name].suffix}", name, seconds=seconds, seed=i
        )
    paths = []
    for n in range(tracks):
        name = kinds[n % len(kinds)]
        album_no, track_no = divmod(n, per_album)
        artist = f"Artist {album_no // 3:03d}"
        album = f"Album {album_no:04d}"
        path = root / artist / album / f"{track_no + 1:02d} Song {n}{KINDS[name].suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(templates[name].read_bytes())
        tag(
            path,
            {
                "title": f"Song {n}",
                "artist": artist,
                "album": album,
                "albumartist": artist,
                "tracknumber": f"{track_no + 1}/{per_album}",
                "discnumber": "1/1",
                "date": "2001",
                "genre": "Jazz",
            },
        )
        paths.append(path)
    return paths


def flip_audio_byte(path: Path) -> None:
    """Bit rot: flip one byte of the audio payload and put the mtime back.

    Starts three quarters into the file (audio for every generated format) and steps on until
    the audio hash moves, so it never lands in a field the audio hash leaves out (an Ogg page
    CRC, say)."""
    from phonovault.core.identity.digests import hash_file

    st = path.stat()
    original = path.read_bytes()
    before = hash_file(path)
    if before.audio_method == "file":
        raise ValueError(f"{path}: no audio payload found")
    for pos in range(len(original) * 3 // 4, len(original), 7):
        data = bytearray(original)
        data[pos] ^= 0x5A
        path.write_bytes(bytes(data))
        if hash_file(path).audio_hash != before.audio_hash:
            break
    else:
        raise AssertionError(f"{path}: no audio byte found")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def png(width: int, height: int) -> bytes:
    """A valid grey PNG of the given size, built by hand."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    rows = b"".join(b"\0" + b"\x80" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))  # fmt: skip
