"""The property test of DESIGN.md, "Hashes", through the catalog, for every generated format.

Tag edits made by mutagen (a longer title, a 300 KB cover, every tag deleted, ID3v1 and APEv2
appended) keep the audio identity and verify ``tags-changed``, field by field. One flipped
byte in the samples or in **each** decode-critical structure (found by the spec parsers of
tests/decode_critical.py, which share nothing with the code under test), with size and mtime
kept, changes the identity and verifies ``corrupt``, never an edit to accept.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import audiogen
import pytest
from decode_critical import critical_structures
from tagedits import EDITS, add_apev2, add_id3v1

from phonovault.core.catalog import Catalog
from phonovault.core.fixity.scan import scan
from phonovault.core.fixity.verify import verify
from phonovault.core.identity.digests import hash_file
from phonovault.core.library.roots import add_root

KINDS = list(audiogen.KINDS)
ALL_EDITS: dict[str, Callable[[Path, str], None]] = {
    **EDITS,
    "id3v1": add_id3v1,
    "apev2": add_apev2,
}
# Where players and taggers append ID3v1/APEv2 (a trailing tag anywhere else breaks a decoder
# that does not expect it, so no honest tagger writes one there).
TRAILING = {"mp3", "flac16", "flac24", "wavpack"}


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


def _flip_keeping_stat(path: Path, offset: int) -> None:
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x5A
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data[offset : offset + 1])
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size


def _structures() -> list[tuple[str, str]]:
    """(kind, structure) for every structure of every kind, named from a fresh template."""
    import tempfile

    out = []
    with tempfile.TemporaryDirectory() as d:
        for kind, k in audiogen.KINDS.items():
            p = audiogen.make_track(Path(d) / f"{kind}{k.suffix}", kind, title=f"T {kind}")
            out += [(kind, name) for name in critical_structures(p)]
    return out


STRUCTURES = _structures()


@pytest.mark.parametrize(("kind", "structure"), STRUCTURES, ids=[f"{k}-{s}" for k, s in STRUCTURES])
def test_a_flip_in_each_decode_critical_structure_is_corrupt(
    catalog: Catalog, make_file, tmp_path: Path, kind: str, structure: str
) -> None:
    path = _catalogued(catalog, make_file, kind, tmp_path)
    before = hash_file(path)
    _flip_keeping_stat(path, critical_structures(path)[structure])
    after = hash_file(path)
    assert after.audio_hash != before.audio_hash, "the identity left this structure out"
    [result] = verify(catalog).results
    assert result.state == "corrupt", (result.state, result.detail)
    assert result.detail
    # Not forgotten: the damaged bytes did not become the baseline.
    [again] = verify(catalog).results
    assert again.state == "corrupt"


EDIT_CASES = [(k, e) for k in KINDS for e in ALL_EDITS if e in EDITS or k in TRAILING]


@pytest.mark.parametrize(("kind", "edit"), EDIT_CASES, ids=[f"{k}-{e}" for k, e in EDIT_CASES])
def test_mutagen_edits_keep_the_identity_and_verify_tags_changed(
    catalog: Catalog, make_file, tmp_path: Path, kind: str, edit: str
) -> None:
    path = _catalogued(catalog, make_file, kind, tmp_path)
    before = hash_file(path)
    ALL_EDITS[edit](path, kind)
    after = hash_file(path)
    assert after.file_hash != before.file_hash
    assert after.audio_hash == before.audio_hash
    [result] = verify(catalog).results
    assert result.state in ("tags-changed", "ok"), (result.state, result.detail)
    if edit == "title":
        assert result.state == "tags-changed"
        titles = [c for c in result.changes if c.field == "title"]
        assert titles and titles[0].old == f"T {kind}" and titles[0].new.startswith("A much")
    if edit == "cover":
        assert result.state == "tags-changed"
        assert any(c.field == "cover" for c in result.changes), result.changes
    [again] = verify(catalog).results
    assert again.state == "ok"
