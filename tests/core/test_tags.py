"""read_tags on real files: every kind audiogen makes, tagged the way real taggers tag them."""

from __future__ import annotations

import base64
import errno
import json
import os
import struct
from pathlib import Path

import audiogen
import blake3
import mutagen
import pytest
from audiogen import png
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutagen.apev2 import BINARY, APEv2, APEValue
from mutagen.asf import ASF, ASFByteArrayAttribute, ASFDWordAttribute
from mutagen.flac import FLAC, Picture
from mutagen.id3 import APIC, ID3, RVA2, TCON, TRCK, TXXX, TYER, UFID
from mutagen.mp4 import MP4, MP4Cover, MP4FreeForm

from phonovault.core.errors import FileProblem, TagReadError
from phonovault.core.tags.art import parse_wm_picture, probe_image
from phonovault.core.tags.reading import AUDIO_EXTENSIONS, ArtInfo, TrackInfo, read_tags

KINDS = list(audiogen.KINDS)
FAMILY = {"flac16": "vorbis", "flac24": "vorbis", "vorbis": "vorbis", "opus": "vorbis",
          "mp3": "id3", "wav": "id3", "aiff": "id3", "aac": "mp4", "alac": "mp4",
          "wavpack": "apev2"}  # fmt: skip
# kind -> (format, codec, sample rate, bit depth)
TECH = {
    "flac16": ("FLAC", "flac", 44100, 16), "flac24": ("FLAC", "flac", 96000, 24),
    "mp3": ("MP3", "mp3", 44100, None), "vorbis": ("Ogg Vorbis", "vorbis", 44100, None),
    "opus": ("Opus", "opus", 48000, None), "aac": ("MP4", "aac", 44100, None),
    "alac": ("MP4", "alac", 44100, 16), "wav": ("WAV", "pcm", 44100, 16),
    "aiff": ("AIFF", "pcm", 44100, 16), "wavpack": ("WavPack", "wavpack", 44100, 16),
}  # fmt: skip
TAG_FORMAT = {"vorbis": "vorbis", "id3": "id3v2.4", "mp4": "mp4", "apev2": "apev2"}
IDS = {
    "mb_trackid": "8f1bd7b6-0c0f-4a3c-9d1e-2b8a9d3e8a01",
    "mb_albumid": "1c9b3e0a-5d6f-4c2e-8b7a-3e2d1c0b9a02",
    "mb_artistid": "a74b1b7f-71a5-4011-9441-d0b5e4122711",
    "mb_albumartistid": "b10bbbfc-cf9e-42e0-be17-e2c3e1d2600d",
    "mb_releasegroupid": "0c3e6a2c-7f1b-4a9e-9c8d-4b5a6c7d8e03",
}
GAINS = {"track_gain": "-6.50 dB", "track_peak": "0.988547", "album_gain": "-7.25 dB",
         "album_peak": "1.000000"}  # fmt: skip
EXPECTED_GAINS = {"rg_track_gain": -6.5, "rg_track_peak": 0.988547, "rg_album_gain": -7.25,
                  "rg_album_peak": 1.0}  # fmt: skip
MP4_MB = {"mb_trackid": "Track", "mb_albumid": "Album", "mb_artistid": "Artist",
          "mb_albumartistid": "Album Artist", "mb_releasegroupid": "Release Group"}  # fmt: skip


def jpeg(width: int, height: int) -> bytes:
    """Just the markers a header parser walks: SOI, APP0 (JFIF), DQT stub, SOF2, EOI."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"
    dqt = b"\xff\xdb" + struct.pack(">H", 4) + b"\0\0"
    sof = b"\xff\xc2" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + b"\xff\xff" + dqt + sof + b"\xff\xd9"


def add_cover(path: Path, data: bytes, mime: str = "image/png", pic_type: int = 3) -> None:
    """Embed one more picture the way the file's own tag family does it."""
    f = mutagen.File(path)
    family = FAMILY[path.stem]
    if isinstance(f, FLAC):
        pic = Picture()
        pic.data, pic.type, pic.mime = data, pic_type, mime
        f.add_picture(pic)
    elif family == "vorbis":
        pic = Picture()
        pic.data, pic.type, pic.mime = data, pic_type, mime
        block = base64.b64encode(pic.write()).decode("ascii")
        f.tags["metadata_block_picture"] = [*f.tags.get("metadata_block_picture", []), block]
    elif family == "mp4":
        f.tags["covr"] = [*f.tags.get("covr", []), MP4Cover(data, MP4Cover.FORMAT_PNG)]
    elif family == "apev2":
        name = "Cover Art (Front)" if pic_type == 3 else "Cover Art (Back)"
        f.tags[name] = APEValue(b"cover.png\0" + data, BINARY)
    else:
        f.tags.add(APIC(encoding=3, mime=mime, type=pic_type, desc=f"pic{pic_type}", data=data))
    f.save()


def write_ids_and_gains(path: Path, gain_case: str = "lower") -> None:
    """MusicBrainz ids and ReplayGain as Picard and the ReplayGain scanners write them."""
    f = mutagen.File(path)
    family = FAMILY[path.stem]
    gains = {f"replaygain_{k}": v for k, v in GAINS.items()}
    if gain_case == "upper":
        gains = {k.upper(): v for k, v in gains.items()}
    if family in ("vorbis", "apev2"):
        for name, value in IDS.items():
            f.tags["MUSICBRAINZ_" + name[3:].upper()] = value
        for key, value in gains.items():
            f.tags[key] = value
    elif family == "mp4":
        for name, value in IDS.items():
            key = f"----:com.apple.iTunes:MusicBrainz {MP4_MB[name]} Id"
            f.tags[key] = [MP4FreeForm(value.encode())]
        for key, value in gains.items():
            f.tags[f"----:com.apple.iTunes:{key}"] = [MP4FreeForm(value.encode())]
    else:
        f.tags.add(UFID(owner="http://musicbrainz.org", data=IDS["mb_trackid"].encode()))
        for name, value in IDS.items():
            if name != "mb_trackid":
                desc = f"MusicBrainz {MP4_MB[name]} Id"
                f.tags.add(TXXX(encoding=3, desc=desc, text=[value]))
        for key, value in gains.items():
            f.tags.add(TXXX(encoding=3, desc=key, text=[value]))
    f.save()


@pytest.mark.parametrize("kind", KINDS)
def test_reads_what_audiogen_wrote(templates: dict[str, Path], kind: str) -> None:
    info = read_tags(templates[kind])
    assert isinstance(info, TrackInfo)
    assert (info.title, info.artist, info.album, info.albumartist) == (
        f"T {kind}", "Artist", "Album", "Artist")  # fmt: skip
    assert (info.track, info.tracktotal, info.disc, info.disctotal) == (1, 10, 1, 1)
    assert (info.date, info.genre) == ("2001", "Jazz")
    assert info.tag_formats == (TAG_FORMAT[FAMILY[kind]],)
    assert info.art == ArtInfo()
    assert info.mb_trackid is None and info.rg_track_gain is None


@pytest.mark.parametrize("kind", KINDS)
def test_technical_info(templates: dict[str, Path], kind: str) -> None:
    info = read_tags(templates[kind])
    fmt, codec, rate, bits = TECH[kind]
    assert (info.format, info.codec, info.sample_rate, info.bit_depth) == (fmt, codec, rate, bits)
    assert info.duration is not None and 0.95 < info.duration < 1.1
    assert info.channels == 2
    assert info.bitrate is None or 32_000 < info.bitrate < 5_000_000


@pytest.mark.parametrize("kind", KINDS)
def test_raw_tags_keep_every_key_and_serialise(make_file, kind: str) -> None:
    path = make_file(kind)
    add_cover(path, png(8, 8))
    info = read_tags(path)
    assert all(isinstance(k, str) and all(isinstance(v, str) for v in vs)
               for k, vs in info.raw.items())  # fmt: skip
    text = json.dumps({k: list(v) for k, v in info.raw.items()}, ensure_ascii=False)
    assert f"T {kind}" in text
    if not kind.startswith("flac"):  # FLAC pictures are metadata blocks, not tag keys
        assert "<binary " in text  # the cover is summarised, not dumped
    assert len(text) < 2000


@pytest.mark.parametrize("kind", KINDS)
def test_cover_count_size_and_hash(make_file, kind: str) -> None:
    path = make_file(kind)
    cover = png(300, 200)
    add_cover(path, cover)
    art = read_tags(path).art
    assert (art.count, art.total_bytes) == (1, len(cover))
    assert (art.width, art.height, art.mime) == (300, 200, "image/png")
    assert art.hash == blake3.blake3(cover).hexdigest()


@pytest.mark.parametrize("kind", ["flac16", "opus", "mp3", "alac", "wavpack"])
def test_front_cover_wins_over_earlier_pictures(make_file, kind: str) -> None:
    path = make_file(kind)
    back, front = png(50, 40), jpeg(640, 480)
    add_cover(path, back, pic_type=4)
    add_cover(path, front, mime="image/jpeg", pic_type=3)
    art = read_tags(path).art
    assert art.count == 2 and art.total_bytes == len(back) + len(front)
    if FAMILY[kind] == "mp4":  # covr has no picture types: the first one is the cover
        assert (art.width, art.height) == (50, 40)
    else:
        assert (art.width, art.height, art.mime) == (640, 480, "image/jpeg")
        assert art.hash == blake3.blake3(front).hexdigest()


def test_flac_declared_picture_size_is_used(make_file) -> None:
    path = make_file("flac16")
    f = FLAC(path)
    pic = Picture()
    pic.data, pic.type, pic.mime, pic.width, pic.height = b"not an image", 3, "image/png", 9, 7
    f.add_picture(pic)
    f.save()
    assert (read_tags(path).art.width, read_tags(path).art.height) == (9, 7)


def test_broken_vorbis_picture_is_skipped(make_file) -> None:
    path = make_file("vorbis")
    f = mutagen.File(path)
    f.tags["metadata_block_picture"] = ["!!! not base64 ***", base64.b64encode(b"junk").decode()]
    f.save()
    info = read_tags(path)
    assert info.art.count == 0 and info.title == "T vorbis"
    assert len(info.raw["metadata_block_picture"]) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_musicbrainz_ids_and_replaygain(make_file, kind: str) -> None:
    path = make_file(kind)
    write_ids_and_gains(path, gain_case="upper" if kind in ("flac16", "wav") else "lower")
    info = read_tags(path)
    assert {name: getattr(info, name) for name in IDS} == IDS
    assert {name: getattr(info, name) for name in EXPECTED_GAINS} == EXPECTED_GAINS


def test_id3_rva2_replaygain_is_a_fallback(make_file) -> None:
    path = make_file("mp3")
    f = ID3(path)
    f.add(RVA2(desc="track", channel=1, gain=-3.25, peak=0.5))
    f.save()
    info = read_tags(path)
    assert (info.rg_track_gain, info.rg_album_gain) == (-3.25, None)
    assert info.rg_track_peak == pytest.approx(0.5)  # RVA2 stores peaks in fixed point


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3/12", (3, 12)), ("3", (3, None)), (" 03 / 12 ", (3, 12)), ("A1", (None, None)),
     ("", (None, None)), ("/12", (None, 12)), ("3/0", (3, None)), ("3 of 12", (None, None)),
     ("99999999999999999999999", (None, None)), ("7" * 5000, (None, None)), ("٣", (None, None))],
    ids=lambda v: repr(v[:16]) if isinstance(v, str) else None,
)  # fmt: skip
def test_track_numbers_in_vorbis(make_file, value: str, expected: tuple) -> None:
    path = make_file("flac16")
    f = FLAC(path)
    f.tags["tracknumber"] = value
    f.save()
    info = read_tags(path)
    assert (info.track, info.tracktotal) == expected
    assert info.raw["tracknumber"] == (value,)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("-6.5 dB", -6.5), ("+1.25dB", 1.25), ("-6,5 dB", -6.5), ("0.5", 0.5), ("abc dB", None),
     ("nan", None), ("1" * 400, None), ("", None)],
    ids=lambda v: repr(v[:16]) if isinstance(v, str) else None,
)  # fmt: skip
def test_replaygain_values(make_file, value: str, expected: float | None) -> None:
    path = make_file("flac16")
    f = FLAC(path)
    f.tags["REPLAYGAIN_ALBUM_GAIN"] = value
    f.save()
    assert read_tags(path).rg_album_gain == expected


def test_explicit_total_tags(make_file) -> None:
    path = make_file("opus")
    f = mutagen.File(path)
    f.tags["tracknumber"], f.tags["TOTALTRACKS"] = "4", "9"
    f.tags["discnumber"], f.tags["disctotal"] = "2", "3"
    f.save()
    info = read_tags(path)
    assert (info.track, info.tracktotal, info.disc, info.disctotal) == (4, 9, 2, 3)


@pytest.mark.parametrize(("value", "expected"), [("3/12", (3, 12)), ("A1", (None, None))])
def test_track_numbers_in_id3(make_file, value: str, expected: tuple) -> None:
    path = make_file("mp3")
    f = ID3(path)
    f.add(TRCK(encoding=3, text=[value]))
    f.save()
    assert (read_tags(path).track, read_tags(path).tracktotal) == expected


def test_mp4_zero_total_means_unset(make_file) -> None:
    path = make_file("aac")
    f = MP4(path)
    f.tags["trkn"] = [(3, 0)]
    f.save()
    info = read_tags(path)
    assert (info.track, info.tracktotal) == (3, None)
    assert info.raw["trkn"] == ("3/0",)


def test_multiple_values_first_is_normalized(make_file) -> None:
    path = make_file("flac24")
    f = FLAC(path)
    f.tags["artist"] = ["First", "Second"]
    f.tags["ARTIST"] = ["First", "Second"]  # same key, other case: still one raw key
    f.save()
    info = read_tags(path)
    assert info.artist == "First"
    assert [k for k in info.raw if k.lower() == "artist"] == ["ARTIST"]
    assert info.raw["ARTIST"] == ("First", "Second")


def test_numeric_id3_genre_is_resolved(make_file) -> None:
    path = make_file("mp3")
    f = ID3(path)
    f.add(TCON(encoding=3, text=["(17)"]))
    f.save()
    info = read_tags(path)
    assert info.genre == "Rock"


def test_id3v23_year(make_file) -> None:
    path = make_file("mp3")
    f = ID3(path)
    f.delall("TDRC")
    f.add(TYER(encoding=1, text=["1999"]))
    f.update_to_v23()
    f.save(v2_version=3)
    info = read_tags(path)
    assert info.date == "1999" and info.tag_formats == ("id3v2.3",)


def test_id3v1_and_apev2_beside_id3v2(make_file) -> None:
    path = make_file("mp3")
    ape = APEv2()
    ape["Title"], ape["Artist"] = "APE title", "APE artist"
    ape.save(path)
    ID3(path).save(v1=2)  # add an ID3v1 tag after the APEv2 one, as taggers do
    info = read_tags(path)
    assert info.tag_formats == ("id3v2.4", "apev2", "id3v1")
    assert info.title == "T mp3"  # ID3v2 is the main block
    assert info.raw["APEv2:Title"] == ("APE title",)
    assert info.raw["ID3v1:TIT2"] == ("T mp3",)


def test_id3v1_only(make_file) -> None:
    path = make_file("mp3")
    ID3(path).save(v1=2)
    ID3(path).delete(delete_v1=False, delete_v2=True)
    info = read_tags(path)
    assert info.tag_formats == ("id3v1",)
    assert (info.title, info.artist, info.track) == ("T mp3", "Artist", 1)


def test_apev2_on_a_flac_file(make_file) -> None:
    path = make_file("flac16")
    ape = APEv2()
    ape["Title"] = "stray"
    ape.save(path)
    info = read_tags(path)
    assert info.tag_formats == ("vorbis", "apev2") and info.title == "T flac16"
    assert info.raw["APEv2:Title"] == ("stray",)


UNICODE = {"title": "東京の夜 — Café Ünïcödé", "artist": "Björk & 坂本龍一",
           "album": "Ça va? 🎵", "genre": "J-Pop/Électro"}  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_unicode_round_trip(make_file, kind: str) -> None:
    path = make_file(kind)
    audiogen.tag(path, UNICODE)
    info = read_tags(path)
    assert {k: getattr(info, k) for k in UNICODE} == UNICODE


def test_bytes_and_pathlike_paths(templates: dict[str, Path]) -> None:
    path = templates["flac16"]
    assert read_tags(os.fsencode(path)) == read_tags(path) == read_tags(str(path))


def test_wma(tmp_path: Path) -> None:
    kind = audiogen.Kind("wma", ".wma", "asf", "wmav2", options={"b": "128000"})
    path = audiogen.encode(tmp_path / "t.wma", kind, seconds=0.3)
    cover = png(30, 20)
    f = ASF(path)
    f.tags["Title"], f.tags["Author"], f.tags["WM/AlbumTitle"] = "T wma", "Artist", "Album"
    f.tags["WM/TrackNumber"] = [ASFDWordAttribute(5)]
    f.tags["WM/PartOfSet"] = "1/2"
    f.tags["MusicBrainz/Album Id"] = IDS["mb_albumid"]
    f.tags["replaygain_track_gain"] = "-1.5 dB"
    blob = struct.pack("<BI", 3, len(cover)) + "image/png\0".encode("utf-16-le")
    f.tags["WM/Picture"] = [ASFByteArrayAttribute(blob + "\0".encode("utf-16-le") + cover)]
    f.save()
    info = read_tags(path)
    assert (info.format, info.codec, info.bit_depth) == ("WMA", "wma", None)
    assert (info.title, info.artist, info.album, info.track) == ("T wma", "Artist", "Album", 5)
    assert (info.disc, info.disctotal, info.mb_albumid) == (1, 2, IDS["mb_albumid"])
    assert info.rg_track_gain == -1.5 and info.tag_formats == ("asf",)
    assert (info.art.count, info.art.width, info.art.height) == (1, 30, 20)
    assert info.art.hash == blake3.blake3(cover).hexdigest()


@pytest.mark.parametrize(
    ("kind", "fmt", "codec"),
    [(audiogen.Kind("tta", ".tta", "tta", "tta"), "TrueAudio", "tta"),
     (audiogen.Kind("oggflac", ".oga", "ogg", "flac"), "Ogg FLAC", "flac"),
     (audiogen.Kind("adts", ".aac", "adts", "aac"), "AAC (ADTS)", "aac"),
     (audiogen.Kind("mp2", ".mp2", "mp2", "mp2"), "MP2", "mp2"),
     (audiogen.Kind("ac3", ".ac3", "ac3", "ac3"), "AC-3", "ac3"),
     (audiogen.Kind("f32", ".wav", "wav", "pcm_f32le"), "WAV", "pcm"),
     (audiogen.Kind("alaw", ".wav", "wav", "pcm_alaw"), "WAV", "alaw"),
     (audiogen.Kind("mp3in4", ".m4a", "mp4", "libmp3lame"), "MP4", "mp3")],
    ids=lambda v: v.name if isinstance(v, audiogen.Kind) else None,
)  # fmt: skip
def test_other_formats_are_named(tmp_path: Path, kind, fmt: str, codec: str) -> None:
    info = read_tags(audiogen.encode(tmp_path / f"t{kind.suffix}", kind, seconds=0.2))
    assert (info.format, info.codec) == (fmt, codec)
    assert info.duration is not None and 0.15 < info.duration < 0.4


def test_audio_extensions() -> None:
    assert {k.suffix for k in audiogen.KINDS.values()} <= AUDIO_EXTENSIONS
    assert all(s == s.lower() and s.startswith(".") for s in AUDIO_EXTENSIONS)
    assert ".m4p" not in AUDIO_EXTENSIONS and ".jpg" not in AUDIO_EXTENSIONS


# --- errors -------------------------------------------------------------------------------


def _error(path: Path | str) -> TagReadError:
    with pytest.raises(TagReadError) as caught:
        read_tags(path)
    assert isinstance(caught.value, FileProblem) and caught.value.path == str(path)
    return caught.value


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.flac"
    path.write_bytes(b"")
    assert _error(path).reason == "file is empty"


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp3"
    path.write_bytes(bytes(range(256)) * 40)
    assert "MP3" in _error(path).reason


def test_truncated_flac(tmp_path: Path, templates: dict[str, Path]) -> None:
    path = tmp_path / "short.flac"
    path.write_bytes(templates["flac16"].read_bytes()[:10])
    reason = _error(path).reason
    assert "truncated or corrupt FLAC" in reason


def test_mp3_named_flac(tmp_path: Path, templates: dict[str, Path]) -> None:
    path = tmp_path / "liar.flac"
    path.write_bytes(templates["mp3"].read_bytes())
    reason = _error(path).reason
    assert "FLAC" in reason and "MP3" in reason and "extension" in reason


def test_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "notes.ogg"
    path.write_text("just some text, not audio at all\n" * 20)
    assert _error(path).reason == "not a recognised audio file"


def test_missing_file_keeps_errno(tmp_path: Path) -> None:
    error = _error(tmp_path / "gone" / "x.flac")
    assert "not found" in error.reason
    assert isinstance(error.__cause__, OSError) and error.__cause__.errno == errno.ENOENT


def test_io_error_inside_mutagen_keeps_errno(
    templates: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A failing disk cannot be conjured up in a test; mutagen wraps EIO in its own error.
    def failing(*args: object, **kwargs: object) -> None:
        raise mutagen.MutagenError(OSError(errno.EIO, "Input/output error"))

    monkeypatch.setattr(mutagen, "File", failing)
    error = _error(templates["flac16"])
    assert "input/output error" in error.reason
    assert isinstance(error.__cause__, OSError) and error.__cause__.errno == errno.EIO


def test_directory(tmp_path: Path) -> None:
    (tmp_path / "album.flac").mkdir()
    assert "directory" in _error(tmp_path / "album.flac").reason


def test_fifo_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.flac")
    assert "regular file" in _error(tmp_path / "pipe.flac").reason


@pytest.mark.parametrize("kind", KINDS)
def test_truncations(tmp_path: Path, templates: dict[str, Path], kind: str) -> None:
    data = templates[kind].read_bytes()
    path = tmp_path / templates[kind].name
    for cut in (1, 4, 11, 64, 200, 1000, len(data) // 2, len(data) - 200):
        path.write_bytes(data[:cut])
        try:
            read_tags(path)
        except TagReadError as exc:
            assert exc.reason


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(KINDS), data=st.data())
def test_mutated_files_read_or_fail_cleanly(
    templates: dict[str, Path], tmp_path_factory: pytest.TempPathFactory, kind: str,
    data: st.DataObject,
) -> None:  # fmt: skip
    original = bytearray(templates[kind].read_bytes())
    if data.draw(st.booleans(), label="truncate"):
        mutated = original[: data.draw(st.integers(0, len(original)), label="cut")]
    else:
        mutated = original
        span = data.draw(st.sampled_from([64, 512, 4096, len(original)]), label="span")
        edits = st.tuples(st.integers(0, min(span, len(original)) - 1), st.integers(0, 255))
        for offset, value in data.draw(st.lists(edits, min_size=1, max_size=24), label="edits"):
            mutated[offset] = value
    path = tmp_path_factory.getbasetemp() / f"mutated{templates[kind].suffix}"
    path.write_bytes(bytes(mutated))
    try:
        info = read_tags(path)
    except TagReadError as exc:
        assert exc.reason
        return
    assert isinstance(info, TrackInfo)
    json.dumps({k: list(v) for k, v in info.raw.items()}, ensure_ascii=False).encode("utf-8")


# --- image headers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [(png(300, 200), ("image/png", 300, 200)), (jpeg(640, 480), ("image/jpeg", 640, 480)),
     (b"GIF89a" + struct.pack("<HH", 16, 9) + b"\0" * 8, ("image/gif", 16, 9)),
     (b"RIFF\0\0\0\0WEBPVP8X" + b"\0" * 8 + (99).to_bytes(3, "little")
      + (49).to_bytes(3, "little"), ("image/webp", 100, 50)),
     (b"BM" + b"\0" * 12 + struct.pack("<Iii", 40, 12, -34), ("image/bmp", 12, 34)),
     (png(300, 200)[:20], ("image/png", None, None)), (b"\xff\xd8\xff", ("image/jpeg", None, None)),
     (b"\xff\xd8" + b"\xff\xe0\x00\x01" * 4, ("image/jpeg", None, None)),
     (b"", (None, None, None)), (b"hello world", (None, None, None))],
)  # fmt: skip
def test_probe_image(data: bytes, expected: tuple) -> None:
    assert probe_image(data) == expected


@given(st.binary(max_size=64))
def test_probe_image_never_raises(prefix: bytes) -> None:
    for magic in (b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8", b"GIF89a", b"RIFF\0\0\0\0WEBP", b"BM"):
        probe_image(magic + prefix)
    parse_wm_picture(prefix)
