"""Manifests are untrusted input: fuzz their text and their bytes, and aim them at hostile files.

tests/core/test_manifests.py checks each traversal form once, a gigantic line and one garbage
file. Here hypothesis writes whole manifests of every kind from valid and hostile lines (``..``,
absolute paths, drive letters, NUL, CR, backslashes, non-UTF-8, names of a FIFO, a folder, a
link out of the folder, lines of every ending, digests of the wrong length) and checks what
must always hold: nothing raises, nothing outside the folder is opened, nothing rejected is
opened, "ok" means the digest really matches, and no read blocks or balloons.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tracemalloc
import zlib
from pathlib import Path

import pytest
from hostile import unblock_fifo, within
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phonovault.core.backups.manifest_verify import (
    MAX_LINE,
    ManifestError,
    find_manifests,
    verify_manifest,
)
from phonovault.core.cli.main import main

STATES = {"ok", "mismatch", "missing", "unreadable", "rejected"}
FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CONTENT = {b"a.flac": b"flac bytes", b"sub/b.mp3": b"mp3 bytes", b"caf\xe9.ogg": b"latin-1 name",
           b"sp ace.wav": b"a space"}  # fmt: skip
HOSTILE = [b"../secret", b"/etc/passwd", b"C:/x.flac", b"sub/../../secret", b"link/secret",
           b"a\0b.flac", b"\\\\server\\share", b"..", b".", b"", b"pipe.flac", b"folder.flac",
           b"sub\\..\\..\\secret", b"x" * 5000, b"a.flac\r", b"new\nline.flac", b"\xff\xfe.mp3",
           b"sub/", b"dead-link.flac", b"zero.flac"]  # fmt: skip


@pytest.fixture(scope="module")
def album(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with real files, and every trap a manifest line can point at."""
    base = tmp_path_factory.mktemp("manifests")
    (base / "secret").write_bytes(b"outside")
    folder = base / "album"
    (folder / "sub").mkdir(parents=True)
    for name, data in CONTENT.items():
        (Path(os.fsdecode(os.path.join(os.fsencode(folder), name)))).write_bytes(data)
    os.mkfifo(folder / "pipe.flac")
    (folder / "folder.flac").mkdir()
    (folder / "link").symlink_to(base)
    (folder / "dead-link.flac").symlink_to(folder / "nowhere")
    (folder / "zero.flac").symlink_to("/dev/zero")
    return folder


def digest(kind: str, data: bytes) -> bytes:
    if kind == "sfv":
        return b"%08x" % zlib.crc32(data)
    if kind == "ffp":
        return b"0" * 32
    return (hashlib.sha256 if kind == "sha256" else hashlib.md5)(data).hexdigest().encode()


@st.composite
def manifest(draw: st.DrawFn, kind: str) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        name = draw(st.sampled_from([*CONTENT, *HOSTILE]) | st.binary(max_size=40))
        hexes = digest(kind, CONTENT.get(name, b"?"))
        hexes = draw(st.sampled_from([hexes, hexes[:-1], hexes.upper(), b"zz" + hexes[2:]]))
        if kind in ("sha256", "md5"):
            form = draw(st.sampled_from(["gnu", "binary", "bsd", "escaped"]))
            algo = b"SHA256" if kind == "sha256" else b"MD5"
            line = {"gnu": hexes + b"  " + name, "binary": hexes + b" *" + name,
                    "bsd": algo + b" (" + name + b") = " + hexes,
                    "escaped": b"\\" + hexes + b"  " + name.replace(b"\\", b"\\\\"),
                    }[form]  # fmt: skip
        elif kind == "sfv":
            line = name + b" " + hexes
        else:
            line = name + b":" + hexes
        line = draw(st.sampled_from([line, b"; comment", b"", b"#", line + b" trailing"]))
        lines.append(draw(st.sampled_from([line, draw(st.binary(max_size=80))])))
    ending = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    body = ending.join(lines)
    if draw(st.booleans()):
        body += ending
    if draw(st.integers(0, 9)) == 0:
        body += (
            b"0" * (MAX_LINE + draw(st.integers(1, 50_000))) + b"\n" + lines[0] if lines else b""
        )
    return body


KIND_SUFFIX = {"sha256": ".sha256", "md5": ".md5", "sfv": ".sfv", "ffp": ".ffp"}


@FUZZ
@given(data=st.data(), kind=st.sampled_from(list(KIND_SUFFIX)))
def test_any_manifest_is_checked_without_escaping_its_folder(
    album: Path, data: st.DataObject, kind: str
) -> None:
    body = data.draw(manifest(kind), label="manifest")
    path = album / f"fuzz{KIND_SUFFIX[kind]}"
    path.write_bytes(body)
    opened: list[bytes] = []

    def opener(target: bytes, mode: str = "rb"):  # type: ignore[no-untyped-def]
        opened.append(os.path.realpath(target))
        return open(target, mode)

    report = within(10, f"verifying {body[:60]!r}", lambda: verify_manifest(path, opener=opener))
    inside = os.path.realpath(os.fsencode(album)) + b"/"
    assert all(p.startswith(inside) for p in opened), opened
    assert not any(os.path.basename(p) in (b"pipe.flac", b"folder.flac") for p in opened)
    lines = [e.line for e in report.entries]
    assert lines == sorted(set(lines)) and (not lines or lines[-1] <= body.count(b"\n") + 1
                                            + body.count(b"\r"))  # fmt: skip
    for entry in report.entries:
        assert entry.state in STATES
        if entry.state == "ok":
            target = os.path.join(os.fsencode(album), entry.path or b"")
            assert digest(kind, Path(os.fsdecode(target)).read_bytes()).decode() == entry.expected
        if entry.state == "rejected":
            assert entry.detail and entry.detail.startswith(f"line {entry.line}: ")
        if entry.detail:
            assert entry.detail.isprintable(), entry.detail


@FUZZ
@given(body=st.binary(max_size=3000), suffix=st.sampled_from(list(KIND_SUFFIX.values())))
def test_raw_bytes_never_crash_the_parser(album: Path, body: bytes, suffix: str) -> None:
    path = album / f"raw{suffix}"
    path.write_bytes(body)
    report = verify_manifest(path)
    assert all(e.state in STATES for e in report.entries)


def test_a_fifo_named_like_a_manifest_or_in_one_never_blocks(album: Path, tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "song.flac").write_bytes(b"song")
    os.mkfifo(folder / "pipe.md5")  # a FIFO named like a manifest ...
    os.mkfifo(folder / "fifo.flac")  # ... and one named in a manifest
    good = hashlib.md5(b"song").hexdigest()
    (folder / "album.md5").write_text(f"{good}  song.flac\n{good}  fifo.flac\n")
    try:
        assert find_manifests(folder) == [str(folder / "album.md5")]
        report = within(10, "verifying a manifest naming a FIFO",
                        lambda: verify_manifest(folder / "album.md5"))  # fmt: skip
        assert [(e.state, e.detail) for e in report.entries] == [
            ("ok", None),
            ("unreadable", "not a regular file (a folder, pipe, socket or device)"),
        ]
        with pytest.raises(ManifestError, match="not a regular file"):
            within(10, "opening a FIFO as a manifest", lambda: verify_manifest(folder / "pipe.md5"))
        cat = str(tmp_path / "c.sqlite")
        assert main(["roots", "add", str(album), "--catalog", cat], io.StringIO()) == 0
        out = io.StringIO()
        code = within(30, "phonovault manifests verify on a folder with FIFOs",
                      lambda: main(["manifests", "verify", "--json", "--catalog", cat,
                                    str(folder)], out, io.StringIO()))  # fmt: skip
        doc = json.loads(out.getvalue())
        assert code == 1 and doc["manifests"][0]["counts"] == {"ok": 1, "unreadable": 1}
    finally:
        unblock_fifo(folder / "pipe.md5")
        unblock_fifo(folder / "fifo.flac")


def test_a_gigantic_line_never_sits_in_memory(tmp_path: Path) -> None:
    (tmp_path / "a.mp3").write_bytes(b"abc")
    path = tmp_path / "big.sha256"
    with path.open("wb") as fh:  # 40 MB without a newline, then a CR-only "line" of 40 MB
        for _ in range(40):
            fh.write(b"f" * (1 << 20))
        fh.write(b"\n" + b"0" * 64 + b"  a.mp3\r" * ((40 << 20) // 72) + b"\n")
        fh.write(hashlib.sha256(b"abc").hexdigest().encode() + b"  a.mp3\n")
    tracemalloc.start()
    try:
        report = verify_manifest(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"{peak / 1e6:.0f} MB for a 80 MB manifest"
    assert [(e.line, e.state) for e in report.entries] == [(1, "rejected"), (2, "rejected"),
                                                           (3, "ok")]  # fmt: skip


def test_ffp_reads_only_the_streaminfo_of_a_hostile_flac(tmp_path: Path, templates) -> None:
    """The FLAC fingerprint is in STREAMINFO; blocks that claim gigabytes are never read."""
    flac = templates["flac16"].read_bytes()
    md5 = flac[8 + 18 : 8 + 34].hex()
    picture = bytes([6]) + (0xFFFFFF).to_bytes(3, "big") + b"\0\0\0\x03\xff\xff\xff\xff"
    (tmp_path / "huge.flac").write_bytes(flac[:42] + picture + flac[42:])
    (tmp_path / "tagged.flac").write_bytes(b"ID3\x04\0\0\0\0\0\x05hello" + flac)
    (tmp_path / "liar.flac").write_bytes(templates["mp3"].read_bytes())
    (tmp_path / "cut.flac").write_bytes(flac[:20])
    (tmp_path / "x.ffp").write_text(
        "".join(f"{n}:{md5}\n" for n in ("huge.flac", "tagged.flac", "liar.flac", "cut.flac"))
    )
    tracemalloc.start()
    try:
        report = verify_manifest(tmp_path / "x.ffp")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20
    assert [(e.state, e.detail) for e in report.entries] == [
        ("ok", None),
        ("ok", None),
        ("unreadable", "not FLAC: no FLAC header at its start"),
        ("unreadable", "not FLAC: its STREAMINFO block is missing or cut short"),
    ]
