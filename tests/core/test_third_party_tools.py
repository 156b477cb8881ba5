"""Verdicts on files that real third-party tools edited (DESIGN.md, "Fixity classification").

Users edit their files with metaflac, vorbiscomment, id3v2, kid3-cli, AtomicParsley, wvtag,
ffmpeg, sox, mp3gain and flac (the Debian packages flac, vorbis-tools, id3v2, kid3-cli,
atomicparsley, wavpack, ffmpeg, sox, mp3gain). Each case copies a generated file into a root,
scans it, runs the real tool on it and verifies:

* an honest tag edit (or a remux that keeps every packet and every header a decoder reads)
  verifies ``tags-changed`` (``ok`` when the tool wrote the same bytes back), names the field
  it changed, and the next verify is ``ok``;
* a gain change or a re-encode verifies ``audio-changed`` (the tool's write is evident),
  never ``corrupt``, and stays so until the user accepts it.

A missing tool fails its test (tests/needs.py): CI installs all of them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import audiogen
import av
import pytest
from needs import unavailable

from phonovault.core.catalog import Catalog
from phonovault.core.fixity.scan import scan
from phonovault.core.fixity.verify import VerifyResult, verify
from phonovault.core.library.roots import add_root

NEW = "New Title"
COVER = "1 picture (64x48, 1 KB)"  # how the change reads for the cover the fixture makes
ANY = object()  # the field changed, whatever its new value

PACKAGES = {
    "metaflac": "flac",
    "flac": "flac",
    "vorbiscomment": "vorbis-tools",
    "id3v2": "id3v2",
    "kid3-cli": "kid3-cli",
    "AtomicParsley": "atomicparsley",
    "wvtag": "wavpack",
    "ffmpeg": "ffmpeg",
    "sox": "sox",
    "mp3gain": "mp3gain",
}

# (file, cover.jpg) -> None: one user action on the file at its own path.
Edit = Callable[[Path, Path], None]


def run(*cmd: str | os.PathLike[str]) -> None:
    """Run a tool; a non-zero exit fails the test with what the tool said."""
    args = [os.fspath(a) for a in cmd]
    exe = shutil.which(args[0])
    if exe is None:
        unavailable(f"{args[0]} is not installed (Debian package {PACKAGES.get(args[0], '?')})")
    proc = subprocess.run(
        [exe, *args[1:]], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60
    )
    if proc.returncode != 0:
        pytest.fail(f"{args} exited {proc.returncode}:\n{proc.stderr}{proc.stdout}")


def in_place(*args: str) -> Edit:
    """A tool that rewrites the file itself; ``{f}`` is the file, ``{cover}`` a JPEG."""

    def edit(path: Path, cover: Path) -> None:
        run(*(a.format(f=path, cover=cover) for a in args))

    return edit


def to_new(*args: str) -> Edit:
    """A tool that writes ``{out}`` from ``{f}``; the user then moves it over the original."""

    def edit(path: Path, cover: Path) -> None:
        out = path.parent.parent / f"out{path.suffix}"  # outside the root, same file system
        run(*(a.format(f=path, out=out, cover=cover) for a in args))
        os.replace(out, path)

    return edit


def flac_reencode(path: Path, cover: Path) -> None:
    """Decode to WAV and encode again at -8: the same samples in new frames."""
    wav = path.parent.parent / "decoded.wav"
    run("flac", "-s", "-d", "-f", "-o", wav, path)
    run("flac", "-s", "-8", "-f", "-o", path, wav)


@pytest.fixture(scope="session")
def cover_jpg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 64x48 JPEG (what metaflac, kid3 and AtomicParsley check before embedding)."""
    path = tmp_path_factory.mktemp("cover") / "cover.jpg"
    run("ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "color=c=red:s=64x48",
        "-frames:v", "1", path)  # fmt: skip
    return path


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    with Catalog(tmp_path / "c.sqlite") as cat:
        yield cat


def _catalogued(catalog: Catalog, make_file, kind: str, tmp_path: Path) -> Path:
    root = tmp_path / "Music"
    path = make_file(kind, f"{kind}{audiogen.KINDS[kind].suffix}", root=root)
    add_root(catalog, root)
    assert scan(catalog).indexed == 1
    return path


def _verdict(catalog: Catalog) -> VerifyResult:
    [result] = verify(catalog).results
    return result


def _packets(path: Path) -> list[bytes]:
    """The coded audio packets as FFmpeg's demuxer hands them to the decoder."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return [bytes(p) for p in container.demux(stream) if p.size]


def _packets_of(data: bytes, like: Path) -> list[bytes]:
    """The packets of ``data`` (old bytes of ``like``), read from a copy outside the root."""
    copy = like.parent.parent / f"before{like.suffix}"
    copy.write_bytes(data)
    try:
        return _packets(copy)
    finally:
        copy.unlink()


def _pcm(path: Path) -> str:
    """A hash of the decoded samples."""
    h = hashlib.sha256()
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            h.update(frame.to_ndarray().tobytes())
    return h.hexdigest()


def _assert_tag_edit(
    catalog: Catalog, path: Path, before: bytes, expect: tuple[str, object] | None
) -> None:
    result = _verdict(catalog)
    if path.read_bytes() == before:
        assert result.state == "ok", (result.state, result.detail)
    else:
        assert result.state == "tags-changed", (result.state, result.detail)
    if expect is not None:
        field, new = expect
        assert any(c.field == field and (new is ANY or c.new == new) for c in result.changes), (
            field,
            new,
            result.changes,
        )
    again = _verdict(catalog)
    assert again.state == "ok", (again.state, again.detail)


# -- honest tag edits -----------------------------------------------------------------------

KID3_TITLE = in_place("kid3-cli", "-c", f"set title '{NEW}'", "{f}")
KID3_COVER = in_place("kid3-cli", "-c", "set picture:'{cover}' ''", "{f}")

# (case id, kinds, edit, (field, new value) that must be among the changes, or None)
TAG_EDITS: list[tuple[str, list[str], Edit, tuple[str, object] | None]] = [
    ("metaflac-title", ["flac16", "flac24"],
     in_place("metaflac", "--remove-tag=TITLE", f"--set-tag=TITLE={NEW}", "{f}"),
     ("title", NEW)),
    ("metaflac-remove-all-tags", ["flac16", "flac24"],
     in_place("metaflac", "--remove-all-tags", "{f}"), ("title", None)),
    ("metaflac-picture", ["flac16", "flac24"],
     in_place("metaflac", "--import-picture-from=3||||{cover}", "{f}"), ("cover", COVER)),
    ("vorbiscomment-write", ["vorbis"],
     in_place("vorbiscomment", "-w", "-t", f"TITLE={NEW}", "{f}"), ("title", NEW)),
    ("vorbiscomment-append", ["vorbis"],
     in_place("vorbiscomment", "-a", "-t", "COMMENT=from vorbiscomment", "{f}"),
     ("COMMENT", "from vorbiscomment")),
    # id3lib cannot read the ID3v2.4 tag mutagen wrote: it writes a fresh v2.3 tag with only
    # the title (the other fields read as removed, which is what happened).
    ("id3v2-title", ["mp3"], in_place("id3v2", "-t", NEW, "{f}"), ("title", NEW)),
    ("id3v2-delete-all", ["mp3"], in_place("id3v2", "--delete-all", "{f}"), ("title", None)),
    ("kid3-title", list(audiogen.KINDS), KID3_TITLE, ("title", NEW)),
    ("kid3-cover", ["flac16", "mp3", "vorbis", "opus", "aac", "alac", "wavpack"], KID3_COVER,
     ("cover", COVER)),
    ("atomicparsley-title", ["aac", "alac"],
     in_place("AtomicParsley", "{f}", "--title", NEW, "--overWrite"), ("title", NEW)),
    ("atomicparsley-artwork", ["aac", "alac"],
     in_place("AtomicParsley", "{f}", "--artwork", "{cover}", "--overWrite"), ("cover", COVER)),
    ("atomicparsley-metaenema", ["aac", "alac"],
     in_place("AtomicParsley", "{f}", "--metaEnema", "--overWrite"), ("title", None)),
    ("wvtag-title", ["wavpack"], in_place("wvtag", "-q", "-w", f"Title={NEW}", "{f}"),
     ("title", NEW)),
    ("wvtag-clean", ["wavpack"], in_place("wvtag", "-q", "--clean", "{f}"), ("title", None)),
    ("wvtag-cover", ["wavpack"],
     in_place("wvtag", "-q", "--write-binary-tag", "Cover Art (Front)=@{cover}", "{f}"),
     ("cover", COVER)),
    # Without -r/-a/-g mp3gain only analyses and stores the result in a tag (APEv2 by default,
    # ID3v2 with -s i); the frames' global_gain fields are left alone.
    ("mp3gain-analyse-ape", ["mp3"], in_place("mp3gain", "-q", "{f}"),
     ("APEv2:MP3GAIN_MINMAX", ANY)),
    ("mp3gain-analyse-id3", ["mp3"], in_place("mp3gain", "-q", "-s", "i", "{f}"),
     ("ReplayGain track gain", ANY)),
]  # fmt: skip
TAG_CASES = [
    (name, kind, edit, expect) for name, kinds, edit, expect in TAG_EDITS for kind in kinds
]


@pytest.mark.parametrize(
    ("name", "kind", "edit", "expect"), TAG_CASES, ids=[f"{c[0]}-{c[1]}" for c in TAG_CASES]
)
def test_a_tag_edit_by_a_real_tool_verifies_tags_changed(
    catalog: Catalog,
    make_file,
    tmp_path: Path,
    cover_jpg: Path,
    name: str,
    kind: str,
    edit: Edit,
    expect: tuple[str, object] | None,
) -> None:
    path = _catalogued(catalog, make_file, kind, tmp_path)
    before = path.read_bytes()
    edit(path, cover_jpg)
    assert _packets(path) == _packets_of(before, path), "the tool touched the audio packets"
    _assert_tag_edit(catalog, path, before, expect)


def test_metaflac_set_tag_adds_a_second_title_and_the_change_says_so(
    catalog: Catalog, make_file, tmp_path: Path
) -> None:
    """``metaflac --set-tag`` appends: the file now has TITLE=T flac16 and TITLE=New Title.
    The verdict is right; the change list must say what was added, not "no field reads
    differently"."""
    path = _catalogued(catalog, make_file, "flac16", tmp_path)
    run("metaflac", f"--set-tag=TITLE={NEW}", path)
    result = _verdict(catalog)
    assert result.state == "tags-changed", (result.state, result.detail)
    assert any(NEW in (c.new or "") for c in result.changes), (result.detail, result.changes)
    assert _verdict(catalog).state == "ok"


def test_vorbiscomment_cannot_edit_opus(tmp_path: Path, make_file) -> None:
    """So Opus files are tagged with kid3-cli (above) and ffmpeg (below) instead."""
    exe = shutil.which("vorbiscomment")
    if exe is None:
        unavailable("vorbiscomment is not installed (Debian package vorbis-tools)")
    path = make_file("opus")
    proc = subprocess.run([exe, "-w", "-t", f"TITLE={NEW}", str(path)],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)  # fmt: skip
    assert proc.returncode != 0 and "Vorbis" in proc.stderr, proc.stderr


# -- ffmpeg remuxes -------------------------------------------------------------------------


REMUX_KINDS = ["flac16", "flac24", "mp3", "vorbis", "opus", "aac", "alac", "wavpack"]


@pytest.mark.parametrize("kind", REMUX_KINDS)
def test_an_ffmpeg_remux_that_keeps_every_packet(
    catalog: Catalog, make_file, tmp_path: Path, kind: str
) -> None:
    """``ffmpeg -i in -map 0 -c copy -metadata title=... out``, moved over the original.

    Every packet is kept, so the verdict is ``tags-changed``, although FFmpeg rewrites more
    than the tags: for MP3 a new Xing/Info frame (its own bitrate index, byte count, seek
    table, LAME CRCs; the frame count, delay and padding kept), for AAC the esds bitrate
    statistics (maxBitrate 128000 -> 127495, recomputed from the packets), for Ogg a new
    serial number. None of that is what a decoder makes samples from.
    """
    path = _catalogued(catalog, make_file, kind, tmp_path)
    before = path.read_bytes()
    # Ogg comments belong to the stream: a global -metadata is ignored when it has its own.
    where = "-metadata:s:a:0" if kind in ("vorbis", "opus") else "-metadata"
    remux = to_new("ffmpeg", "-v", "error", "-nostdin", "-y", "-i", "{f}", "-map", "0",
                   "-c", "copy", where, f"title={NEW}", "{out}")  # fmt: skip
    remux(path, tmp_path)
    assert _packets(path) == _packets_of(before, path), "the remux did not keep every packet"
    _assert_tag_edit(catalog, path, before, ("title", NEW))


# -- audio edits ----------------------------------------------------------------------------

SOX_GAIN = to_new("sox", "{f}", "{out}", "gain", "-3")

# (case id, kinds, edit, whether the decoded samples change)
AUDIO_EDITS: list[tuple[str, list[str], Edit, bool]] = [
    ("sox-gain", ["flac16", "flac24", "wav", "aiff"], SOX_GAIN, True),
    # -r applies the track gain by changing every frame's global_gain field (-c: ignore
    # clipping); -s i only chooses ID3v2 rather than APEv2 for the undo information.
    ("mp3gain-track", ["mp3"], in_place("mp3gain", "-q", "-r", "-c", "{f}"), True),
    ("mp3gain-track-id3", ["mp3"], in_place("mp3gain", "-q", "-r", "-c", "-s", "i", "{f}"),
     True),
    ("mp3gain-gain", ["mp3"], in_place("mp3gain", "-q", "-g", "2", "{f}"), True),
    # -p puts the old mtime back and -T writes in place (same inode): the ctime still moves.
    ("mp3gain-keep-mtime", ["mp3"], in_place("mp3gain", "-q", "-r", "-c", "-p", "-T", "{f}"),
     True),
    ("flac-reencode", ["flac16", "flac24"], flac_reencode, False),
]  # fmt: skip
AUDIO_CASES = [(n, kind, e, s) for n, kinds, e, s in AUDIO_EDITS for kind in kinds]


@pytest.mark.parametrize(
    ("name", "kind", "edit", "samples_change"),
    AUDIO_CASES,
    ids=[f"{c[0]}-{c[1]}" for c in AUDIO_CASES],
)
def test_an_audio_edit_by_a_real_tool_verifies_audio_changed(
    catalog: Catalog,
    make_file,
    tmp_path: Path,
    name: str,
    kind: str,
    edit: Edit,
    samples_change: bool,
) -> None:
    path = _catalogued(catalog, make_file, kind, tmp_path)
    pcm = _pcm(path)
    edit(path, tmp_path / "no-cover.jpg")
    # The tool did what the case says (a gain that rounds to nothing would test nothing).
    assert (_pcm(path) != pcm) == samples_change
    result = _verdict(catalog)
    assert result.state == "audio-changed", (result.state, result.detail)
    assert result.detail
    again = _verdict(catalog)
    assert again.state == "audio-changed", (again.state, again.detail)
