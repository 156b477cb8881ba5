"""A hostile file system: odd names, long paths, symbolic links, files that vanish, grow or
turn into something else under the reader. tests/core/test_edge_cases.py and
test_scan_verify.py cover a Latin-1 file name, a folder loop, a folder linked from outside
and files vanishing between the walk and the read; this covers what they leave out."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import unicodedata
from functools import partial
from pathlib import Path

import pytest
from badfiles import METHOD, SUFFIX
from hostile import unblock_fifo, unreadable, within

from phonovault.core.catalog import Catalog
from phonovault.core.cli.main import main
from phonovault.core.fixity import scan as scan_module
from phonovault.core.fixity import verify as verify_module
from phonovault.core.fixity.reading import observe
from phonovault.core.fixity.scan import scan
from phonovault.core.fixity.verify import verify
from phonovault.core.identity.digests import hash_file
from phonovault.core.library.roots import add_root


@pytest.fixture
def catalog(tmp_path: Path):
    with Catalog(tmp_path / "c.sqlite") as cat:
        yield cat


def names(catalog: Catalog) -> dict[bytes, str]:
    return {r.relpath: r.state for r in catalog.files()}


def bmake(make_file, root: Path, relpath: bytes, kind: str = "flac16", extra: bytes = b"") -> bytes:
    """Put a real file at a relative path given as raw bytes (not necessarily UTF-8)."""
    data = make_file(kind, f"tmp/{kind}").read_bytes() + extra
    target = os.fsencode(root) + b"/" + relpath
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as fh:
        fh.write(data)
    return relpath


ODD = [b"caf\xe9/\xff\xfe disc/01.flac", b"new\nline.flac", b"carriage\rreturn.flac",
       b"back\\slash.flac", b"-starts-with-dash.flac", b" spaces .flac", b"tab\there.flac",
       b"\xe2\x80\xae-rtl-override.flac", b"emoji-\xf0\x9f\x8e\xb5.flac",
       b"semi;colon$(x).flac"]  # fmt: skip


def test_odd_and_non_utf8_names_round_trip_everywhere(
    tmp_path: Path, make_file, catalog: Catalog
) -> None:
    root = tmp_path / "Music"
    root.mkdir()
    for i, rel in enumerate(ODD):
        bmake(make_file, root, rel, extra=bytes([i]))
    bmake(make_file, root, b"\xff-truncated.flac")
    target = os.fsencode(root) + b"/\xff-truncated.flac"
    os.truncate(target, 300)  # a bad file with a bad name: both handled at once
    add_root(catalog, root)
    report = scan(catalog)
    assert report.indexed == len(ODD) + 1 and [Path(f.path).name for f in report.failed] == [
        os.fsdecode(b"\xff-truncated.flac")
    ]
    assert set(names(catalog)) == {*ODD, b"\xff-truncated.flac"}
    assert verify(catalog).summary == {"ok": len(ODD) + 1}
    os.remove(os.fsencode(root) + b"/" + ODD[0])
    out = io.StringIO()
    assert main(["verify", "--json", "--catalog", str(catalog.path)], out) == 1
    results = json.loads(out.getvalue())["results"]  # one valid document, every name in it
    gone = next(r for r in results if r["state"] == "missing")
    assert base64.b64decode(gone["path_b64"]) == os.fsencode(root) + b"/" + ODD[0]
    assert sum("path_b64" in r for r in results) == 2  # the two names that are not UTF-8


def test_findings_json_keeps_the_exact_bytes_of_a_name(
    tmp_path: Path, make_file, catalog: Catalog
) -> None:
    root = tmp_path / "Music"
    root.mkdir()
    target = os.fsencode(root) + b"/caf\xe9.flac"
    with open(target, "wb") as fh:
        fh.write(b"not audio at all")  # a tags-unreadable finding
    add_root(catalog, root)
    scan(catalog)
    out = io.StringIO()
    assert main(["findings", "--json", "--catalog", str(catalog.path)], out) == 1
    finding = json.loads(out.getvalue())["findings"][0]
    assert base64.b64decode(finding["path_b64"]) == target


def test_names_differing_only_in_unicode_normalization_are_two_files(
    tmp_path: Path, make_file, catalog: Catalog
) -> None:
    root = tmp_path / "Music"
    nfc = unicodedata.normalize("NFC", "Björk - Jóga.flac").encode()
    nfd = unicodedata.normalize("NFD", "Björk - Jóga.flac").encode()
    assert nfc != nfd
    bmake(make_file, root, nfc, extra=b"1")
    bmake(make_file, root, nfd, extra=b"2")
    add_root(catalog, root)
    assert scan(catalog).indexed == 2
    records = {r.relpath: r for r in catalog.files()}
    assert set(records) == {nfc, nfd} and records[nfc].file_hash != records[nfd].file_hash
    os.remove(os.fsencode(root) + b"/" + nfd)  # one goes: the other is not mistaken for it
    assert {os.fsencode(r.path): r.state for r in verify(catalog).results} == {
        os.fsencode(root) + b"/" + nfc: "ok",
        os.fsencode(root) + b"/" + nfd: "missing",
    }


def test_longest_names_deepest_folders_and_paths_past_path_max(
    tmp_path: Path, make_file, catalog: Catalog
) -> None:
    root = tmp_path / "Music"
    longest = "é" * 125 + ".flac"  # 255 bytes: the most a name may have
    assert len(longest.encode()) == 255
    bmake(make_file, root, longest.encode())
    deep = b"/".join([b"d"] * 100) + b"/deep.mp3"  # 100 folders down
    bmake(make_file, root, deep, "mp3")
    near = b"/".join([b"n" * 250] * 15) + b"/near.flac"  # a path of about 3,800 bytes
    bmake(make_file, root, near, extra=b"near")
    assert len(os.fsencode(root)) + len(near) < 4096
    beyond = _beyond_path_max(root, make_file("wav", "tmp/w.wav").read_bytes())
    add_root(catalog, root)
    report = within(60, "scanning long paths", lambda: scan(catalog))
    indexed = names(catalog)
    assert {longest.encode(), deep, near} <= set(indexed)
    assert report.failed and all(unreadable(f.reason) is None for f in report.failed)
    assert beyond not in indexed  # out of reach: reported, not indexed ...
    summary = within(60, "verifying long paths", lambda: verify(catalog)).summary
    assert summary == {"ok": len(indexed)}  # ... and nothing else suffers from it
    assert scan(catalog).missing == 0


def _beyond_path_max(root: Path, data: bytes) -> bytes:
    """A file whose absolute path is longer than PATH_MAX (4096), made with relative steps."""
    folder = os.open(root, os.O_RDONLY)
    rel = []
    try:
        for _ in range(18):
            os.mkdir(b"x" * 250, dir_fd=folder)
            inner = os.open(b"x" * 250, os.O_RDONLY, dir_fd=folder)
            os.close(folder)
            folder = inner
            rel.append(b"x" * 250)
        fd = os.open(b"far.flac", os.O_WRONLY | os.O_CREAT, dir_fd=folder)
        os.write(fd, data)
        os.close(fd)
    finally:
        os.close(folder)
    return b"/".join([*rel, b"far.flac"])


def test_symbolic_links_never_lead_out_of_the_root_or_around_in_circles(
    tmp_path: Path, make_file, catalog: Catalog
) -> None:
    root, outside = tmp_path / "Music", tmp_path / "Elsewhere"
    make_file("flac16", "A/real.flac", root=root)
    secret = make_file("mp3", "secret.mp3", root=outside)
    album = root / "A"
    (album / "self.flac").symlink_to("self.flac")  # ELOOP
    (album / "ping.flac").symlink_to("pong.flac")
    (album / "pong.flac").symlink_to("ping.flac")
    (album / "up").symlink_to("..")  # a folder loop through the parent
    (album / "escape.mp3").symlink_to("../../Elsewhere/secret.mp3")  # relative, outside
    (album / "hop.mp3").symlink_to("escape.mp3")  # a chain inside that ends outside
    (album / "abs.mp3").symlink_to(secret)
    (album / "zero.flac").symlink_to("/dev/zero")
    (album / "dangling.flac").symlink_to("nowhere.flac")
    (album / "alias.flac").symlink_to("real.flac")  # inside: followed
    add_root(catalog, root)
    report = within(30, "scanning a folder of links", lambda: scan(catalog))
    assert set(names(catalog)) == {b"A/real.flac", b"A/alias.flac"}
    noted = {Path(p).name: why for p, why in [*report.notes, *[(f.path, f.reason) for f in
                                                                report.failed]]}  # fmt: skip
    for name in ("escape.mp3", "hop.mp3", "abs.mp3", "zero.flac"):
        assert "outside the root" in noted[name], name
    for name in ("self.flac", "ping.flac", "pong.flac"):
        assert unreadable(noted[name]) is None and "symbolic links" in noted[name], noted[name]
    assert verify(catalog).summary == {"ok": 2}


def test_verify_does_not_follow_a_link_out_of_the_root(
    tmp_path: Path, make_file, catalog: Catalog
) -> None:
    root = tmp_path / "Music"
    song = make_file("flac16", "A/1.flac", root=root)
    outside = make_file("mp3", "secret.mp3", root=tmp_path / "Elsewhere")
    add_root(catalog, root)
    scan(catalog)
    song.unlink()
    song.symlink_to(outside)
    assert scan(catalog).missing == 1  # the scan does not follow it
    assert verify(catalog).summary == {"missing": 1}


@pytest.mark.parametrize("what", ["fifo", "dev-zero", "folder"])
def test_a_catalogued_file_turned_into_something_else_is_unreadable_not_a_hang(
    tmp_path: Path, make_file, catalog: Catalog, what: str
) -> None:
    root = tmp_path / "Music"
    song = make_file("flac16", "A/1.flac", root=root)
    make_file("mp3", "A/2.mp3", root=root)
    add_root(catalog, root)
    scan(catalog)
    song.unlink()
    {"fifo": lambda: os.mkfifo(song), "dev-zero": lambda: song.symlink_to("/dev/zero"),
     "folder": song.mkdir}[what]()  # fmt: skip
    try:
        report = within(20, f"verifying a file that became a {what}", lambda: verify(catalog))
    finally:
        if what == "fifo":
            unblock_fifo(song)
    states = {Path(r.path).name: (r.state, r.detail) for r in report.results}
    assert states["2.mp3"] == ("ok", None)
    if what == "dev-zero":  # a link out of the root: not followed, missing as the scan says
        assert states["1.flac"] == ("missing", None)
        return
    assert states["1.flac"][0] == "unreadable" and "not a regular file" in states["1.flac"][1]


def _opener_that(action) -> object:  # type: ignore[no-untyped-def]
    """An opener that does something to the file once the first chunk has been read."""

    def opener(path, mode="rb"):  # type: ignore[no-untyped-def]
        fh = open(path, mode)  # noqa: SIM115 - closed by the reader
        real = fh.readinto

        def readinto(buffer):  # type: ignore[no-untyped-def]
            n = real(buffer)
            if n:
                action(path)
            return n

        fh.readinto = readinto  # type: ignore[method-assign]
        return fh

    return opener


class Growing(io.BytesIO):
    """A file that gains 4 KB each time it is read from, like a recording in progress (capped,
    so that a reader that never stops fails the test instead of filling the disk)."""

    def __init__(self, data: bytes, cap: int = 5_000) -> None:
        super().__init__(data)
        self.appended = 0
        self.cap = cap

    def readinto(self, buffer, /) -> int:  # type: ignore[no-untyped-def,override]
        n = super().readinto(buffer)
        if self.appended < self.cap:
            self.appended += 1
            end = self.tell()
            self.seek(0, io.SEEK_END)
            self.write(b"\0" * 4096)
            self.seek(end)
        return n


def test_a_file_that_never_stops_growing_is_read_to_its_size_at_open(templates) -> None:
    data = templates["wav"].read_bytes()
    made: list[Growing] = []

    def opener(*_args: object) -> Growing:
        made.append(Growing(data))
        return made[0]

    digests = within(30, "hashing a file that keeps growing",
                     lambda: hash_file("rec.wav", opener=opener, chunk_size=4096))  # fmt: skip
    assert digests.size == len(data) and made[0].appended < 100
    assert digests.audio_method == "riff-data"


def test_a_file_growing_while_it_is_read_is_read_again_next_time(
    tmp_path: Path, make_file, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "Music"
    growing = make_file("wav", "A/rip.wav", root=root)  # a ripper still writing it
    make_file("mp3", "A/done.mp3", root=root)
    grown: list[int] = []

    def grow(path) -> None:  # type: ignore[no-untyped-def]
        if os.fsdecode(path) == str(growing) and len(grown) < 100:  # never fill the disk
            grown.append(1)
            with open(path, "ab") as fh:
                fh.write(b"\0" * 4096)

    monkeypatch.setattr(scan_module, "observe", partial(observe, opener=_opener_that(grow)))
    add_root(catalog, root)
    report = scan(catalog)
    assert set(names(catalog)) == {b"A/done.mp3"}
    assert [(Path(f.path).name, f.reason) for f in report.failed] == [
        ("rip.wav", "the file changed while it was being read; it will be read again next time")
    ]
    monkeypatch.undo()
    again = scan(catalog)
    assert again.indexed == 1 and again.failed == [] and names(catalog)[b"A/rip.wav"] == "ok"


def test_a_file_deleted_while_it_is_read(
    tmp_path: Path, make_file, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "Music"
    doomed = make_file("flac16", "A/doomed.flac", root=root)
    make_file("mp3", "A/kept.mp3", root=root)
    add_root(catalog, root)
    scan(catalog)
    with open(doomed, "ab") as fh:
        fh.write(b"x")  # changed, so that the next scan reads it again

    def delete(path) -> None:  # type: ignore[no-untyped-def]
        if os.fsdecode(path) == str(doomed):
            doomed.unlink(missing_ok=True)  # the open file stays readable to its end

    opener = _opener_that(delete)
    monkeypatch.setattr(scan_module, "observe", partial(observe, opener=opener))
    report = scan(catalog)
    assert report.failed == [] and report.missing == 1 and report.updated == 0
    make_file("flac16", "A/doomed.flac", root=root)  # back, and deleted during a verify
    scan(catalog)
    monkeypatch.setattr(verify_module, "observe", partial(observe, opener=opener))
    assert {Path(r.path).name: r.state for r in verify(catalog).results} == {
        "doomed.flac": "missing",
        "kept.mp3": "ok",
    }


@pytest.mark.parametrize("how", ["file", "link-to-empty", "emptied-mid-scan"])
def test_a_root_replaced_under_the_scanner_is_offline_not_missing(
    tmp_path: Path, make_file, catalog: Catalog, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    root = tmp_path / "Music"
    for i in range(4):
        bmake(make_file, root, f"A/{i}.flac".encode(), extra=bytes([i]))
    add_root(catalog, root)
    scan(catalog)
    os.utime(root / "A/0.flac", ns=(0, 10**18))  # touched: the next scan reads it again
    if how == "file":
        shutil.rmtree(root)
        root.write_bytes(b"not a folder")
    elif how == "link-to-empty":
        shutil.rmtree(root)
        (tmp_path / "empty").mkdir()
        root.symlink_to(tmp_path / "empty")
    else:  # the drive goes while the scan reads its first file
        real = scan_module.observe

        def unplug(path, *args, **kwargs):  # type: ignore[no-untyped-def]
            result = real(path, *args, **kwargs)
            if root.exists():
                shutil.rmtree(root)
                root.mkdir()
            return result

        monkeypatch.setattr(scan_module, "observe", unplug)
    report = scan(catalog)
    assert report.offline_roots and unreadable(report.offline_roots[0][1]) is None
    assert report.missing == 0 and set(names(catalog).values()) == {"ok"}
    assert len(names(catalog)) == 4
    result = verify(catalog)
    assert set(result.summary) <= {"offline", "ok"} and result.offline_roots


def test_the_kinds_of_a_scanned_library_keep_their_payload_rule(
    tmp_path: Path, make_file, catalog: Catalog
) -> None:
    """A sanity anchor for the tests above: in a plain library every kind is hashed by its
    own payload rule (so a fallback elsewhere is a finding, not the norm)."""
    root = tmp_path / "Music"
    for kind in METHOD:
        make_file(kind, f"{kind}/t{SUFFIX[kind]}", root=root)
    add_root(catalog, root)
    scan(catalog)
    methods = {r.relpath.split(b"/")[0].decode(): r.audio_method for r in catalog.files()}
    assert methods == METHOD
