"""Decode verdicts belong to a file's bytes, not to frames another file shares.

A decode check's verdict is cached under what the decoder consumed: the audio identity
(version 2: the codec set-up, STREAMINFO and its MD5 included) and the cover. Two files with
the same frames but other headers, a healthy FLAC and one whose STREAMINFO says another MD5,
each get their own verdict whichever of them was checked first.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from decode_critical import critical_structures

from phonovault.core.catalog import Catalog
from phonovault.core.fixity.scan import scan
from phonovault.core.fixity.verify import verify
from phonovault.core.library.roots import add_root

DECODE = {"decode-error", "truncated", "md5-mismatch", "undecodable"}


def _decode_findings(catalog: Catalog, report, path: Path) -> set[str]:
    file_id = next(r.file_id for r in report.results if r.path == str(path))
    assert file_id is not None
    return {f.kind for f in catalog.findings_for_file(file_id)} & DECODE


@pytest.fixture
def pair(make_file, tmp_path: Path) -> tuple[Path, Path]:
    """A healthy FLAC and a copy whose STREAMINFO MD5 was changed: same frames."""
    good = make_file("flac16", "src/good.flac")
    bad = tmp_path / "src/bad.flac"
    data = bytearray(good.read_bytes())
    data[critical_structures(good)["flac:STREAMINFO md5"]] ^= 0x01
    bad.write_bytes(bytes(data))
    return good, bad


@pytest.mark.parametrize("first", ["good", "bad"])
def test_files_sharing_frames_get_their_own_verdicts_in_either_order(
    pair: tuple[Path, Path], tmp_path: Path, first: str
) -> None:
    good, bad = pair
    order = [good, bad] if first == "good" else [bad, good]
    root = tmp_path / "Music"
    root.mkdir()
    with Catalog(tmp_path / "c.sqlite") as catalog:
        add_root(catalog, root)
        placed = {}
        for src in order:  # discovered one after the other, each decode-checked at once
            placed[src.name] = shutil.copy(src, root / src.name)
            scan(catalog)
            report = verify(catalog, decode=True)
        verdicts = {name: _decode_findings(catalog, report, Path(p)) for name, p in placed.items()}
    assert verdicts == {"good.flac": set(), "bad.flac": {"md5-mismatch"}}, verdicts


def test_changed_bytes_are_always_decoded_afresh(make_file, tmp_path: Path) -> None:
    """A clean verdict is not carried over to bytes that changed under it (rot in the
    frames, size and mtime kept)."""
    root = tmp_path / "Music"
    path = make_file("flac16", "a.flac", root=root)
    with Catalog(tmp_path / "c.sqlite") as catalog:
        add_root(catalog, root)
        scan(catalog)
        assert _decode_findings(catalog, verify(catalog, decode=True), path) == set()
        st = path.stat()
        data = bytearray(path.read_bytes())
        data[critical_structures(path)["flac:frame"]] ^= 0x5A
        path.write_bytes(bytes(data))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        report = verify(catalog, decode=True)
        assert next(r.state for r in report.results) == "corrupt"
        assert _decode_findings(catalog, report, path), "the damaged frames were not decoded"
