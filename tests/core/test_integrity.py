"""Decode checks on real files: clean ones pass, damaged ones are caught as far as each format
allows, FLAC verdicts agree with the reference decoder (``flac -t``), and the worker pool
survives crashes, overruns and a stop.

Measured here (3 s tracks; a file counts as caught when it gets any audio finding):

    kind             1 bit   8 bits  0s 512 B  0s 4 KB  cut mid-frame  cut on boundary
    FLAC 16/24       18/18   12/12   6/6       6/6      4/4            3/3
    WavPack          18/18   12/12   6/6       6/6      4/4            3/3
    Ogg Vorbis/Opus  18/18   12/12   6/6       6/6      4/4            3/3
    MP3               4/18    8/12   6/6       6/6      3/4            3/3
    AAC (M4A)         4/18   11/12   6/6       6/6      4/4            3/3
    ALAC (M4A)        1/18    1/12   6/6       6/6      4/4            3/3
    WAV, AIFF (PCM)   0/18    0/12   0/6       0/6      4/4            3/3

A sweep of 1,096 damaged FLAC files (a bit flipped every ~1/150 of the audio, 16 B and 300 B
zeroed and a cut at 40 places each, 16 and 24 bit, MD5 set and unset) found no disagreement
with ``flac -t``.

So the tests assert flips and zeroed blocks only for the formats with checksums (FLAC,
WavPack, Ogg) and zeroed blocks for MP3/AAC/ALAC (a lost sector takes whole frame headers
with it); truncation for every format. The one MP3 cut that slips through ends within two
frames of the end, inside the tolerance codec delay needs.
"""

from __future__ import annotations

import base64
import errno
import os
import shutil
import signal
import stat
import subprocess
import threading
import time
from fractions import Fraction
from multiprocessing import active_children
from pathlib import Path

import audiogen
import av
import damage
import mutagen
import numpy as np
import pytest
from mutagen.apev2 import APEv2
from mutagen.flac import FLAC, Picture
from mutagen.id3 import APIC
from mutagen.mp4 import MP4, MP4Cover
from mutagen.ogg import OggFileType
from needs import unavailable

from phonovault.core.integrity import checks as integrity
from phonovault.core.integrity.checks import (
    DECODER_VERSION,
    DecodeCancelled,
    DecodePool,
    DecodeProblem,
    DecodeResult,
    decode_check,
)

AUDIO_KINDS = ("decode-error", "truncated", "md5-mismatch", "undecodable")
CHECKSUMMED = ("flac16", "flac24", "wavpack", "vorbis", "opus")
SECONDS = 2.5


@pytest.fixture(scope="module")
def tracks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One 2.5 s track per kind (long enough for several frames, pages and MP4 chunks)."""
    base = tmp_path_factory.mktemp("tracks")
    return {
        kind: audiogen.make_track(base / f"{kind}{spec.suffix}", kind, seconds=SECONDS)
        for kind, spec in audiogen.KINDS.items()
    }


@pytest.fixture
def copy(tmp_path: Path, tracks: dict[str, Path]):
    def _copy(kind: str, name: str | None = None) -> Path:
        dest = tmp_path / (name or tracks[kind].name)
        shutil.copyfile(tracks[kind], dest)
        return dest

    return _copy


def audio_problems(result: DecodeResult) -> set[str]:
    return {p.kind for p in result.problems if p.kind in AUDIO_KINDS}


def set_flac_md5(path: Path, md5: int) -> None:
    f = FLAC(path)
    f.info.md5_signature = md5
    f.save()


# --- Clean files ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(audiogen.KINDS))
def test_clean_files_have_no_problems(tracks: dict[str, Path], kind: str) -> None:
    result = decode_check(tracks[kind])
    assert result.problems == ()
    assert result.ok
    assert result.md5 == ("match" if kind.startswith("flac") else "n/a")
    assert result.decoder == DECODER_VERSION
    assert result.expected_seconds == pytest.approx(SECONDS, abs=0.05)
    assert result.decoded_seconds == pytest.approx(SECONDS, abs=0.05)
    assert result.seconds > 0


def test_unset_flac_md5_is_reported_but_not_a_problem(copy) -> None:
    path = copy("flac16")
    set_flac_md5(path, 0)
    result = decode_check(path)
    assert result.md5 == "unset"
    assert result.ok


@pytest.mark.parametrize("kind", ["flac16", "flac24"])
def test_samples_that_differ_from_the_flac_md5_are_a_mismatch(copy, tmp_path: Path, kind) -> None:
    """Other audio, valid frames, the original's STREAMINFO MD5: only the MD5 can tell."""
    original = copy(kind)
    other = audiogen.make_track(tmp_path / f"other-{kind}.flac", kind, seconds=SECONDS, seed=7)
    set_flac_md5(other, FLAC(original).info.md5_signature)
    result = decode_check(other)
    assert result.md5 == "mismatch"
    assert [p.kind for p in result.problems] == ["md5-mismatch"]
    assert result.problems[0].severity == "error"


# --- Damage ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CHECKSUMMED)
@pytest.mark.parametrize("fraction", [0.15, 0.5, 0.85])
def test_a_flipped_bit_is_caught_where_the_format_has_checksums(copy, kind, fraction) -> None:
    path = copy(kind)
    damage.flip_bits(path, fraction, seed=3)
    result = decode_check(path)
    assert "decode-error" in audio_problems(result)
    assert "into the track" in next(p.message for p in result.problems if p.kind == "decode-error")


@pytest.mark.parametrize("kind", [*CHECKSUMMED, "mp3", "aac", "alac"])
def test_a_zeroed_block_is_caught(copy, kind) -> None:
    path = copy(kind)
    damage.zero_block(path, 0.5, 4096)
    assert "decode-error" in audio_problems(decode_check(path))


def test_damage_keeps_the_mtime(copy) -> None:
    path = copy("flac16")
    before = path.stat().st_mtime_ns
    damage.flip_bits(path, 0.5, count=4)
    damage.zero_block(path, 0.3)
    damage.truncate_at(path, 0.9)
    assert path.stat().st_mtime_ns == before


@pytest.mark.parametrize("kind", list(audiogen.KINDS))
@pytest.mark.parametrize("cut", [damage.truncate_at, damage.truncate_at_boundary])
def test_truncation_is_caught_in_every_format(copy, kind, cut) -> None:
    """Mid-frame or on a frame (page) boundary: the file ends before its header says.
    M4A files from FFmpeg keep ``moov`` after the audio, so a cut one does not open at all."""
    path = copy(kind)
    cut(path, 0.6)
    result = decode_check(path)
    assert "truncated" in audio_problems(result)
    if kind not in ("aac", "alac"):
        assert "undecodable" not in audio_problems(result)


@pytest.mark.parametrize("kind", ["aac", "alac"])
def test_truncated_m4a_with_moov_first_decodes_short(copy, tmp_path: Path, kind) -> None:
    source = copy(kind)
    path = tmp_path / f"faststart-{kind}.m4a"
    with (
        av.open(str(source)) as src,
        av.open(str(path), "w", format="ipod", options={"movflags": "faststart"}) as dst,
    ):
        stream = dst.add_stream_from_template(src.streams.audio[0])
        for packet in src.demux(src.streams.audio[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    assert decode_check(path).ok
    damage.truncate_at_boundary(path, 0.5)
    result = decode_check(path)
    assert audio_problems(result) == {"truncated"}
    assert result.decoded_seconds == pytest.approx(SECONDS / 2, abs=0.3)
    assert "1.2 s" in result.problems[0].message or "1.3 s" in result.problems[0].message


@pytest.mark.parametrize("kind", ["wav", "aiff"])
def test_pcm_bit_flips_are_invisible_to_decoding(copy, kind) -> None:
    """What a decode check cannot see: PCM has no checksum and no structure in its samples,
    so flipped bits and zeroed sectors play as (wrong) audio. MP3, AAC and ALAC mostly do the
    same for single bits (see the table above). The fixity audio hash catches these."""
    path = copy(kind)
    damage.flip_bits(path, 0.4, count=8)
    damage.zero_block(path, 0.7)
    assert decode_check(path).ok


@pytest.mark.parametrize("kind", ["flac16", "mp3", "wavpack", "aac", "vorbis"])
def test_tags_appended_by_taggers_are_not_damage(copy, kind) -> None:
    """APEv2 and ID3v1 at the end of the file are tags, not audio (``flac -t`` calls them lost
    sync; we cut them off before decoding). Junk there is different: a zero-filled tail is how
    an interrupted copy looks, and the FLAC, MP3 and WavPack decoders report it."""
    path = copy(kind)
    ape = APEv2()
    ape["Title"] = "appended"
    ape.save(path)  # appended after whatever the file has
    with path.open("ab") as f:
        f.write(b"TAG" + b"Title".ljust(30, b"\0") + bytes(95))
    assert decode_check(path).ok


# --- Agreement with the reference FLAC decoder ----------------------------------------------


def flac_tool() -> str:
    tool = shutil.which("flac")
    if tool is None:
        unavailable("the reference decoder `flac` is not installed (make test installs it)")
    return tool


def flac_variants(base: Path, kind: str, source: Path, donor: Path) -> list[Path]:
    """Clean, cut, flipped and zeroed copies, a foreign MD5 and an unset one."""
    made: list[Path] = []

    def variant(name: str) -> Path:
        path = base / f"{kind}-{name}.flac"
        shutil.copyfile(source, path)
        made.append(path)
        return path

    variant("clean")
    for f in (0.2, 0.55, 0.95):
        damage.truncate_at(variant(f"cut{f}"), f)
    for f in (0.3, 0.7):
        damage.truncate_at_boundary(variant(f"cutb{f}"), f)
    for i, f in enumerate((0.0, 0.01, 0.1, 0.33, 0.5, 0.77, 0.99)):
        damage.flip_bits(variant(f"flip{f}"), f, seed=i)
    damage.flip_bits(variant("flip-many"), 0.2, count=20)
    for f in (0.05, 0.6):
        damage.zero_block(variant(f"zero{f}"), f, 1024)
    set_flac_md5(variant("foreign-md5"), FLAC(donor).info.md5_signature)
    set_flac_md5(variant("unset-md5"), 0)
    for name, hurt in (
        ("unset-cutb", damage.truncate_at_boundary),
        ("unset-flip", damage.flip_bits),
    ):
        path = variant(name)
        set_flac_md5(path, 0)
        hurt(path, 0.5)
    return made


@pytest.mark.parametrize("kind", ["flac16", "flac24"])
def test_verdicts_agree_with_flac_t(tracks, tmp_path: Path, kind: str) -> None:
    """``flac -t`` fails exactly when we find an audio problem. It checks frame CRCs, the
    MD5 and (flac 1.4) that no fewer samples decode than STREAMINFO declares; with an unset
    MD5 it only warns ("cannot check MD5 signature") and exits 0, as we report "unset"."""
    tool = flac_tool()
    donor = audiogen.make_track(tmp_path / "donor.flac", kind, seconds=SECONDS, seed=9)
    disagreements = []
    for path in flac_variants(tmp_path, kind, tracks[kind], donor):
        ref = subprocess.run([tool, "-t", "-s", str(path)], capture_output=True, check=False)
        ours = decode_check(path)
        if (ref.returncode != 0) != bool(audio_problems(ours)):
            disagreements.append((path.name, ref.returncode, ref.stderr[-200:], ours.problems))
    assert disagreements == []


def test_md5_matches_real_24_and_8_bit_flac_from_the_reference_encoder(tmp_path: Path) -> None:
    """audiogen's 24-bit audio is 16-bit audio shifted up; the reference encoder gets noise in
    every bit, so the un-shifting of FFmpeg's s32 samples is really exercised."""
    tool = flac_tool()
    rng = np.random.default_rng(5)
    for bits in (24, 8, 16):
        top = 2 ** (bits - 1)
        samples = rng.integers(-top, top, 2 * 44100, dtype="<i4")  # one second, stereo
        data = samples.view(np.uint8).reshape(-1, 4)[:, : bits // 8].tobytes()
        source = tmp_path / f"noise{bits}.raw"
        source.write_bytes(data)
        out = tmp_path / f"noise{bits}.flac"
        subprocess.run(
            [tool, "-s", "-f", "--force-raw-format", "--endian=little", "--sign=signed",
             "--channels=2", f"--bps={bits}", "--sample-rate=44100", "-o", str(out), str(source)],
            check=True,
        )  # fmt: skip
        result = decode_check(out)
        assert (result.md5, result.problems) == ("match", ()), bits


# --- Covers, garbage, unreadable files --------------------------------------------------------


def jpeg_bytes() -> bytes:
    ctx = av.CodecContext.create("mjpeg", "w")
    ctx.width, ctx.height, ctx.pix_fmt = 64, 48, "yuvj420p"
    ctx.time_base = Fraction(1, 25)
    pixels = np.random.default_rng(1).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuvj420p")
    return b"".join(bytes(p) for p in [*ctx.encode(frame), *ctx.encode(None)])


def embed_cover(path: Path, data: bytes) -> None:
    """The front cover the way each tag format stores it (the JPEG MIME type claimed)."""
    f = mutagen.File(path)
    picture = Picture()
    picture.type, picture.mime, picture.data = 3, "image/jpeg", data
    if isinstance(f, FLAC):
        f.add_picture(picture)
    elif isinstance(f, MP4):
        f["covr"] = [MP4Cover(data, MP4Cover.FORMAT_JPEG)]
    elif isinstance(f, OggFileType):
        f["metadata_block_picture"] = [base64.b64encode(picture.write()).decode("ascii")]
    else:
        f.tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="", data=data))
    f.save()


@pytest.mark.parametrize("kind", ["flac16", "mp3", "vorbis", "aac"])
def test_a_broken_cover_is_a_warning_apart_from_the_audio(copy, kind) -> None:
    """FFmpeg logs errors for a broken cover while opening the file (the Ogg demuxer even
    under its own name); none of that may count against the audio."""
    good = jpeg_bytes()
    path = copy(kind)
    embed_cover(path, good)
    assert decode_check(path).ok
    for broken in (good[: len(good) // 2], b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4):
        path = copy(kind, f"broken-{len(broken)}{path.suffix}")
        embed_cover(path, broken)
        result = decode_check(path)
        assert [(p.kind, p.severity) for p in result.problems] == [("cover-damaged", "warning")]
        assert "cover (JPEG" in result.problems[0].message
        assert result.md5 == ("match" if kind == "flac16" else "n/a")


def test_a_picture_block_that_does_not_parse_is_not_an_audio_error(copy) -> None:
    """The Ogg demuxer logs "Could not read mimetype from an attached picture." as an error
    under its own name while opening; tags are not audio."""
    path = copy("vorbis")
    f = mutagen.File(path)
    f["metadata_block_picture"] = [base64.b64encode(bytes(range(64)) * 8).decode("ascii")]
    f.save()
    assert audio_problems(decode_check(path)) == set()


@pytest.mark.parametrize(
    "content", [b"", os.urandom(50_000), b"fLaC" + os.urandom(5000), b"not audio\n"]
)
def test_garbage_is_undecodable_not_an_exception(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "song.flac"
    path.write_bytes(content)
    result = decode_check(path)
    assert [p.kind for p in result.problems] == ["undecodable"]
    assert result.decoded_seconds is None
    assert result.md5 == "n/a"


def test_unreadable_files_raise_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        decode_check(tmp_path / "gone.flac")
    with pytest.raises(IsADirectoryError):
        decode_check(tmp_path)
    fifo = tmp_path / "pipe.flac"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        decode_check(fifo)  # and it does not hang


class FailingDisk:
    """A file whose reads fail with EIO from ``limit`` bytes on, like a dying disk."""

    def __init__(self, f, limit: int) -> None:
        self._f, self._limit = f, limit

    def __getattr__(self, name: str):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self._f.close()

    def read(self, size: int = -1) -> bytes:
        if self._f.tell() >= self._limit:
            raise OSError(errno.EIO, "Input/output error")
        return self._f.read(size)


@pytest.mark.parametrize("limit", [0, 200, 20_000])
def test_a_read_error_is_raised_not_judged(tracks, monkeypatch, limit: int) -> None:
    """EIO in the header, in the tags or mid-audio: unreadable (the caller's call: a failing
    disk, an unplugged drive), never a decode verdict that would be cached."""
    real_open = open

    def failing_open(*args, **kwargs) -> FailingDisk:
        return FailingDisk(real_open(*args, **kwargs), limit)

    monkeypatch.setattr(integrity, "open", failing_open, raising=False)  # the module's open()
    with pytest.raises(OSError) as caught:
        decode_check(tracks["flac16"])
    assert caught.value.errno == errno.EIO


def test_non_utf8_byte_paths_pass_through(tmp_path: Path, tracks) -> None:
    name = os.path.join(os.fsencode(tmp_path), b"caf\xe9.flac")
    with open(name, "wb") as out:
        out.write(tracks["flac16"].read_bytes())
    assert decode_check(name).ok


def test_should_stop_cancels(tracks) -> None:
    with pytest.raises(DecodeCancelled):
        decode_check(tracks["flac16"], should_stop=lambda: True)


def test_result_round_trips_through_json() -> None:
    result = DecodeResult(
        problems=(DecodeProblem("truncated", "The audio ends at 1.0 s.", "error"),),
        decoded_seconds=1.0,
        expected_seconds=2.5,
        md5="mismatch",
        decoder=DECODER_VERSION,
        seconds=0.25,
    )
    assert DecodeResult.from_json(result.to_json()) == result
    assert not result.ok
    with pytest.raises(ValueError):
        DecodeResult.from_json('{"problems": 3}')


# --- The pool ---------------------------------------------------------------------------------


def test_pool_checks_files_in_parallel_from_a_thread(tracks, copy, tmp_path: Path) -> None:
    """Like the GUI: the pool runs in a worker thread; keys come back with their verdicts."""
    broken = copy("flac16", "broken.flac")
    damage.flip_bits(broken, 0.5)
    jobs = [(kind, str(path), SECONDS) for kind, path in tracks.items()]
    jobs += [("broken", os.fsencode(broken), SECONDS), ("gone", str(tmp_path / "x.mp3"), None)]
    results: dict[str, object] = {}
    workers: list[int] = []

    def work() -> None:
        with DecodePool(2) as pool:
            results.update(pool.run(iter(jobs)))
            workers.extend(c.pid for c in active_children() if c.name == "phonovault-decode")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(60)
    assert set(results) == {key for key, _, _ in jobs}
    assert len(workers) == 2  # both started, both kept for the next run
    assert all(results[kind].ok for kind in tracks)  # type: ignore[union-attr]
    assert audio_problems(results["broken"]) == {"decode-error"}  # type: ignore[arg-type]
    assert isinstance(results["gone"], FileNotFoundError)


def test_pool_stops_promptly_and_consumes_jobs_lazily(tracks) -> None:
    pulled = 0

    def endless():
        nonlocal pulled
        while True:
            pulled += 1
            yield pulled, str(tracks["wavpack"]), SECONDS

    with DecodePool(2) as pool:
        stop_at = time.monotonic() + 2.0
        done = sum(1 for _ in pool.run(endless(), should_stop=lambda: time.monotonic() > stop_at))
        late = time.monotonic() - stop_at
        assert late < 1.5  # ~1 s: a 0.5 s grace, then the kill (slack for a busy CI box)
        assert done > 0
        assert pulled <= done + 2  # never more than the workers in flight
        assert pool.run([("again", str(tracks["mp3"]), None)]).__next__()[1].ok  # still usable


def test_pool_kills_a_file_that_overruns_its_time_limit(tracks) -> None:
    """expected=None marks the slow file here; the worker start-up alone overruns 50 ms."""
    with DecodePool(1, time_limit=lambda expected: 0.05 if expected is None else 60.0) as pool:
        jobs = [("slow", str(tracks["flac24"]), None), ("next", str(tracks["mp3"]), 1.0)]
        results = dict(pool.run(jobs))
    assert [p.kind for p in results["slow"].problems] == ["undecodable"]
    assert "took longer than" in results["slow"].problems[0].message
    assert results["next"].ok


def test_pool_survives_a_crashing_worker(tracks) -> None:
    """A real crash: the worker gets SIGSEGV while its first file is in flight (the pool's
    first wait, a fresh worker still starting up). That file is undecodable; a new worker
    takes the rest."""
    calls = 0

    def crash_once() -> bool:
        nonlocal calls
        calls += 1
        if calls == 2:
            for child in active_children():
                if child.name == "phonovault-decode":
                    os.kill(child.pid, signal.SIGSEGV)
        return False

    jobs = [("first", str(tracks["flac16"]), SECONDS), ("second", str(tracks["opus"]), SECONDS)]
    with DecodePool(1) as pool:
        results = dict(pool.run(jobs, should_stop=crash_once))
    assert results["first"].problems == (
        DecodeProblem("undecodable", "The decoder crashed on this file.", "error"),
    )
    assert results["second"].ok


def test_fifo_in_a_pool_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.flac"
    os.mkfifo(fifo)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    with DecodePool(1) as pool:
        ((_, outcome),) = list(pool.run([("fifo", str(fifo), None)]))
    assert isinstance(outcome, OSError)
