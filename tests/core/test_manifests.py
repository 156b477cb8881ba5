"""Manifests end to end: real generated audio, a real catalog, the real ``sha256sum`` and the
real ``bagit`` library as judges."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import zlib
from pathlib import Path

import bagit
import mutagen.flac
import pytest

from phonovault.core.backups.manifests import (
    ManifestError,
    export_bagit,
    export_catalog,
    export_sha256sum,
    find_manifests,
    verify_manifest,
)
from phonovault.core.catalog import Catalog
from phonovault.core.cli.main import main
from phonovault.core.fixity.scan import ScanOptions, scan
from phonovault.core.library.roots import add_root

SHA256SUM = shutil.which("sha256sum")


@pytest.fixture
def lib(tmp_path: Path) -> Path:
    import audiogen

    root = tmp_path / "Music"
    audiogen.make_library(root, 6, kinds=["flac16", "mp3"], per_album=3, seconds=0.5)
    return root


@pytest.fixture
def catalog(tmp_path: Path, lib: Path):
    with Catalog(tmp_path / "catalog.sqlite") as cat:
        add_root(cat, lib)
        scan(cat, options=ScanOptions(with_sha256=True))
        yield cat


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).digest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith((".sha256", ".md5", ".sfv", ".ffp"))
    }


def flip(path: Path, offset: int = -100) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def states(report) -> dict[str, str]:
    return {os.fsdecode(e.path) if e.path else f"line {e.line}": e.state for e in report.entries}


# -- sha256sum ------------------------------------------------------------------------------


@pytest.mark.skipif(SHA256SUM is None, reason="needs GNU sha256sum")
def test_sha256sum_export_passes_sha256sum_c_then_catches_a_flipped_byte(catalog, lib):
    before = snapshot(lib)
    out = lib / "library.sha256"
    report = export_sha256sum(catalog, lib, out)
    assert report.files == 6 and report.reused == 6 and report.computed == 0
    assert len(out.read_bytes().splitlines()) == 6
    run = subprocess.run([SHA256SUM, "-c", "--quiet", out.name], cwd=lib, capture_output=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert snapshot(lib) == before
    assert verify_manifest(out).ok

    victim = sorted(lib.rglob("*.flac"))[0]
    flip(victim)
    run = subprocess.run([SHA256SUM, "-c", "--quiet", out.name], cwd=lib, capture_output=True)
    assert run.returncode != 0
    got = states(verify_manifest(out))
    assert got[str(victim.relative_to(lib))] == "mismatch"
    assert list(got.values()).count("ok") == 5


@pytest.mark.skipif(SHA256SUM is None, reason="needs GNU sha256sum")
def test_sha256sum_of_album_and_folder_and_a_changed_file_is_recomputed(catalog, lib):
    album = lib / "Artist 000" / "Album 0001"
    victim = sorted(album.iterdir())[0]
    flip(victim)  # changed after the scan: the stored SHA-256 must not be used
    report = export_sha256sum(catalog, ("Artist 000", "Album 0001"), album / "album.sha256")
    # ... nor a SHA-256 read now: the bytes are not the baseline's, so it is left out
    assert (report.files, report.computed, report.reused) == (2, 0, 2)
    assert [(Path(i.path), "baseline" in i.reason) for i in report.left_out] == [(victim, True)]
    assert victim.name.encode() not in (album / "album.sha256").read_bytes()
    touched = sorted(p for p in album.iterdir() if p.suffix != ".sha256" and p != victim)[0]
    os.utime(touched, ns=(1, 1))  # a new mtime, the same bytes: read again, and certified
    again = export_sha256sum(catalog, ("Artist 000", "Album 0001"), album / "album.sha256")
    assert (again.files, again.computed, again.reused) == (2, 1, 1)
    run = subprocess.run([SHA256SUM, "-c", "album.sha256"], cwd=album, capture_output=True)
    assert run.returncode == 0, run.stdout + run.stderr
    folder = export_sha256sum(catalog, lib / "Artist 000", lib / "Artist 000" / "a.sha256")
    assert (folder.files, len(folder.left_out)) == (5, 1)
    with pytest.raises(ManifestError, match="above it"):
        export_sha256sum(catalog, lib, album / "too-deep.sha256")


@pytest.mark.skipif(SHA256SUM is None, reason="needs GNU sha256sum")
def test_awkward_names_round_trip_in_sha256sum_format(tmp_path, make_file):
    root = tmp_path / "Odd"
    names = [b"caf\xe9 latin1.flac", b"back\\slash.flac", b"new\nline.mp3"]
    root.mkdir()
    for name, kind in zip(names, ["flac16", "flac16", "mp3"], strict=True):
        os.rename(make_file(kind), os.path.join(os.fsencode(root), name))
    with Catalog(tmp_path / "c.sqlite") as cat:
        add_root(cat, root)
        scan(cat)  # no stored SHA-256: the export computes it
        report = export_sha256sum(cat, root, root / "odd.sha256")
    assert (report.files, report.computed) == (3, 3)
    raw = (root / "odd.sha256").read_bytes()
    assert b"caf\xe9 latin1.flac" in raw and b"\\n" in raw and raw.count(b"\n\\") >= 1
    run = subprocess.run([SHA256SUM, "-c", "odd.sha256"], cwd=root, capture_output=True)
    assert run.returncode == 0, run.stdout + run.stderr
    result = verify_manifest(root / "odd.sha256")
    assert {e.path for e in result.entries} == set(names) and result.ok


# -- BagIt ----------------------------------------------------------------------------------


def test_bagit_export_validates_with_the_bagit_library(catalog, lib, tmp_path):
    before = snapshot(lib)
    bag_dir = tmp_path / "library-bag"
    report = export_bagit(catalog, lib, bag_dir)
    assert report.files == 6 and report.linked == 6  # same file system: hard links
    bag = bagit.Bag(str(bag_dir))
    bag.validate()
    assert bag.info["Source-Organization"] == "Phonovault"
    assert bag.info["Payload-Oxum"] == f"{sum(p.stat().st_size for p in lib.rglob('*.*'))}.6"
    assert {"External-Description", "Bagging-Date"} <= set(bag.info)
    for name in ("bagit.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt", "bag-info.txt"):
        assert (bag_dir / name).is_file()
    assert snapshot(lib) == before

    album_bag = tmp_path / "album-bag"
    export_bagit(catalog, ("Artist 000", "Album 0000"), album_bag)
    bagit.Bag(str(album_bag)).validate()
    assert len(list((album_bag / "data").rglob("*.*"))) == 3


def test_bagit_copies_when_links_fail_and_catches_damage(catalog, lib, tmp_path, monkeypatch):
    def no_link(*args, **kwargs):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    bag_dir = tmp_path / "copied-bag"
    report = export_bagit(catalog, lib, bag_dir)
    assert report.linked == 0 and report.files == 6
    bagit.Bag(str(bag_dir)).validate()
    flip(sorted((bag_dir / "data").rglob("*.mp3"))[0])
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(bag_dir)).validate()


def test_bagit_refuses_a_bag_inside_the_root_or_over_a_folder(catalog, lib, tmp_path):
    with pytest.raises(ManifestError, match="inside the library root"):
        export_bagit(catalog, lib, lib / "bag")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ManifestError, match="already exists"):
        export_bagit(catalog, lib, tmp_path / "full")
    assert not (lib / "bag").exists()


# -- catalog export -------------------------------------------------------------------------


def test_catalog_export_round_trips_as_json_and_csv(catalog, lib, tmp_path):
    n = export_catalog(catalog, tmp_path / "cat.json", "json")
    doc = json.loads((tmp_path / "cat.json").read_text("utf-8"))
    assert n == 6 and len(doc["files"]) == 6
    row = doc["files"][0]
    assert row["path"].startswith(str(lib)) and row["sha256"] and row["file_hash"]
    assert row["title"].startswith("Song") and row["state"] == "ok" and row["size"] > 0
    assert json.loads(row["raw_tags"])
    export_catalog(catalog, tmp_path / "cat.csv", "csv")
    with open(tmp_path / "cat.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["path"] for r in rows] == [f["path"] for f in doc["files"]]
    assert {"format", "codec", "duration", "last_verified", "audio_hash"} <= set(rows[0])


# -- importing manifests found beside music -------------------------------------------------


def test_md5_sfv_ffp_verify_ok_then_mismatch(lib, tmp_path):
    album = lib / "Artist 000" / "Album 0000"
    files = sorted(p for p in album.iterdir() if p.suffix in (".flac", ".mp3"))
    flacs = [p for p in files if p.suffix == ".flac"]
    (album / "a.md5").write_text(
        "".join(f"{hashlib.md5(p.read_bytes()).hexdigest()} *{p.name}\n" for p in files)
    )
    (album / "a.sfv").write_text(
        "; made by hand\n" + "".join(f"{p.name} {zlib.crc32(p.read_bytes()):08X}\n" for p in files)
    )
    (album / "a.ffp").write_text(
        "".join(f"{p.name}:{mutagen.flac.FLAC(p).info.md5_signature:032x}\n" for p in flacs)
    )
    found = find_manifests(lib)
    assert [Path(p).name for p in found] == ["a.ffp", "a.md5", "a.sfv"]
    for path in found:
        report = verify_manifest(path)
        assert report.ok and report.entries, (path, report)

    mp3 = next(p for p in files if p.suffix == ".mp3")
    flip(mp3)
    assert states(verify_manifest(album / "a.md5"))[mp3.name] == "mismatch"
    assert states(verify_manifest(album / "a.sfv"))[mp3.name] == "mismatch"
    # An FFP names the recording: a different recording under the same name is a mismatch.
    import audiogen

    audiogen.encode(flacs[0], "flac16", seconds=0.5, seed=7, freq=880.0)
    assert states(verify_manifest(album / "a.ffp"))[flacs[0].name] == "mismatch"
    flacs[1].unlink()
    assert states(verify_manifest(album / "a.ffp"))[flacs[1].name] == "missing"


def test_traversal_entries_are_rejected_and_never_opened(tmp_path):
    folder = tmp_path / "inner" / "album"
    folder.mkdir(parents=True)
    (folder / "good.flac").write_bytes(b"good")
    secret = tmp_path / "secret"
    secret.write_bytes(b"secret")
    (folder / "link").symlink_to(tmp_path)
    good = hashlib.sha256(b"good").hexdigest()
    bad = hashlib.sha256(b"secret").hexdigest()
    lines = [
        f"{good}  good.flac",
        f"{bad}  ../../secret",
        f"{bad}  /etc/passwd",
        f"{bad}  ok\0/../../secret",
        f"{bad}  C:/Windows/win.ini",
        f"{bad}  sub/../../../secret",
        f"{bad}  link/secret",
        "this is not a checksum line",
    ]
    manifest = folder / "evil.sha256"
    manifest.write_bytes("\n".join(lines).encode() + b"\n")
    opened: list[bytes] = []

    def opener(path, mode="rb"):
        opened.append(os.fsencode(path))
        return open(path, mode)

    report = verify_manifest(manifest, opener=opener)
    got = [(e.line, e.state) for e in report.entries]
    assert got == [(1, "ok")] + [(n, "rejected") for n in range(2, 9)]
    assert opened == [os.path.join(os.fsencode(folder), b"good.flac")]
    details = [e.detail or "" for e in report.entries[1:]]
    assert "leaves the manifest's folder" in details[0]
    assert "absolute path" in details[1]
    assert "NUL byte" in details[2]
    assert "drive letter" in details[3]
    assert "symbolic link" in details[5]
    assert details[6].startswith("line 8: not a sha256sum line")


def test_gigantic_line_is_rejected_and_the_rest_still_checked(tmp_path):
    (tmp_path / "a.mp3").write_bytes(b"abc")
    digest = hashlib.md5(b"abc").hexdigest()
    manifest = tmp_path / "big.md5"
    manifest.write_bytes(
        b"0" * 32 + b"  " + b"x" * 1_000_000 + b"\n" + f"{digest}  a.mp3\n".encode()
    )
    report = verify_manifest(manifest)
    assert [(e.line, e.state) for e in report.entries] == [(1, "rejected"), (2, "ok")]
    assert "longer than 65536 bytes" in (report.entries[0].detail or "")


def test_binary_garbage_manifest_never_crashes(tmp_path):
    manifest = tmp_path / "junk.sfv"
    manifest.write_bytes(os.urandom(4096) + b"\n\xff\xfe\x00\n")
    report = verify_manifest(manifest)
    assert report.entries and all(
        e.state in ("rejected", "missing", "unreadable") for e in report.entries
    )


# -- CLI ------------------------------------------------------------------------------------


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_export_and_verify(catalog, lib, tmp_path):
    cat = ["--catalog", str(catalog.path)]
    code, out, err = run_cli("export", "manifest", *cat, str(lib), str(lib / "all.sha256"))
    assert code == 0, err
    assert "6 files" in out
    code, out, err = run_cli(
        "export", "manifest", "--format", "bagit", "--album", "Artist 000/Album 0001",
        *cat, str(tmp_path / "bag"),
    )  # fmt: skip
    assert code == 0, err
    bagit.Bag(str(tmp_path / "bag")).validate()
    code, out, _ = run_cli("export", "catalog", "--format", "json", *cat, str(tmp_path / "c.json"))
    assert code == 0 and len(json.loads((tmp_path / "c.json").read_text())["files"]) == 6

    code, out, _ = run_cli("manifests", "verify", *cat)
    assert code == 0 and "6 ok" in out
    flip(sorted(lib.rglob("*.mp3"))[0])
    code, out, _ = run_cli("manifests", "verify", "--json", *cat, str(lib))
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False
    assert doc["manifests"][0]["counts"] == {"ok": 5, "mismatch": 1}
    code, _, err = run_cli("manifests", "verify", *cat, str(tmp_path / "nope"))
    assert code == 2 and "no such file" in err
    code, _, err = run_cli("export", "manifest", *cat, "--album", "Nobody/Nothing", "x.sha256")
    assert code == 2 and "no such album" in err


def test_scan_sha256_fills_in_files_catalogued_without_one(tmp_path: Path, lib: Path) -> None:
    """A library first scanned without SHA-256 gets one for every file from ``scan --sha256``
    (each checked against the baseline's file hash on the way), then no file is read again."""
    with Catalog(tmp_path / "plain.sqlite") as cat:
        add_root(cat, lib)
        scan(cat)
        assert all(f.sha256 is None for f in cat.files())
        filled = scan(cat, options=ScanOptions(with_sha256=True))
        assert filled.bytes_read > 0 and filled.indexed == 0
        assert set(filled.states) <= {"ok"}, filled.states
        want = {os.fsdecode(f.relpath): f.sha256 for f in cat.files()}
        assert want == {
            str(p.relative_to(lib)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in lib.rglob("*") if p.is_file()
        }  # fmt: skip
        again = scan(cat, options=ScanOptions(with_sha256=True))
        assert again.bytes_read == 0 and again.unchanged == len(want)
        assert {f.state for f in cat.files()} == {"ok"}
