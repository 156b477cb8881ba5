"""Per-file rules on real files: each broken the way real files break, and clean ones that
must stay quiet (every format audiogen makes)."""

from __future__ import annotations

import struct
from pathlib import Path

import audiogen
import pytest
from audiogen import png
from mutagen.apev2 import APEv2
from mutagen.id3 import ID3, TIT2, TPE1
from rulekit import add_flac_cover, retag

from phonovault.core.config import Settings
from phonovault.core.rules.engine import finding_details


def id3v1_block(title: str, artist: str = "", album: str = "", track: int = 0) -> bytes:
    """A 128-byte ID3v1.1 tag, written by hand so it can disagree with the ID3v2 tag."""

    def text(value: str, size: int) -> bytes:
        return value.encode("latin-1")[:size].ljust(size, b"\0")

    return (b"TAG" + text(title, 30) + text(artist, 30) + text(album, 30) + b"2001"
            + b"\0" * 28 + b"\0" + bytes([track]) + b"\xff")  # fmt: skip


def id3v22_tag(frames: dict[str, str]) -> bytes:
    """A minimal ID3v2.2 tag (3-character frame ids, 3-byte sizes). mutagen reads v2.2 but
    only writes v2.3/v2.4, so such files are built by hand, as old iTunes wrote them."""
    body = b""
    for frame_id, value in frames.items():
        data = b"\0" + value.encode("latin-1")  # encoding byte 0: Latin-1
        body += frame_id.encode("ascii") + struct.pack(">I", len(data))[1:] + data
    n = len(body)
    size = bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])
    return b"ID3\x02\x00\x00" + size + body


@pytest.mark.parametrize("kind", list(audiogen.KINDS))
def test_a_clean_file_of_every_kind_triggers_only_the_cover_rule(kind, make_file, music, checker):
    make_file(kind, f"A/B/01{audiogen.KINDS[kind].suffix}", root=music)
    report, hits = checker.run()
    assert hits == {"cover-missing": {f"01{audiogen.KINDS[kind].suffix}"}}, report.hits
    assert not report.problems


def test_unreadable_tags(make_file, music, checker) -> None:
    (music / "junk.flac").write_bytes(b"not audio at all")
    make_file("flac16", "ok.flac", root=music)
    report, hits = checker.run()
    assert hits["tags-unreadable"] == {"junk.flac"}
    # nothing else piles onto a file whose tags could not be read
    assert all(
        "junk.flac" not in names for rule, names in hits.items() if rule != "tags-unreadable"
    )
    hit = next(h for h in report.hits if h.rule_id == "tags-unreadable")
    assert hit.severity == "error" and hit.message.startswith("tags cannot be read: ")


def test_missing_essential_tags_and_the_configurable_list(make_file, music, checker) -> None:
    path = make_file("flac16", "a.flac", root=music)
    retag(path, TITLE=None, TRACKNUMBER=None)
    make_file("flac16", "clean.flac", root=music)
    report, hits = checker.run(rules={"missing-tags"})
    assert hits == {"missing-tags": {"a.flac"}}
    assert report.hits[0].message == "no title, track number"
    assert report.hits[0].fields == ("title", "track")
    settings = Settings(rules={"missing-tags": {"tags": ["title", "genre", "bogus"]}})
    report, _ = checker.run(settings=settings, rules={"missing-tags"})
    assert [h.message for h in report.hits] == ["no title"]


def test_mojibake(make_file, music, checker) -> None:
    retag(make_file("flac16", "bad.flac", root=music), TITLE="CafÃ©", ARTIST="donâ€™t")
    retag(make_file("flac16", "lost.flac", root=music), ALBUM="Caf\ufffd")
    retag(make_file("flac16", "good.flac", root=music), TITLE="Café", ARTIST="Motörhead")
    report, hits = checker.run(rules={"mojibake"})
    assert hits == {"mojibake": {"bad.flac", "lost.flac"}}
    bad = [h for h in report.hits if h.paths[0].endswith("bad.flac")]
    assert sorted((h.fields, h.fix) for h in bad) == [
        (("artist",), "retag artist as 'don’t'"),
        (("title",), "retag title as 'Café'"),
    ]
    # both hits of the rule on one file are one finding, with both fields
    [stored] = [f for f in checker.catalog.findings() if f.path.endswith("bad.flac")]
    detail = finding_details(checker.catalog, stored.file_id)["mojibake"]
    assert detail.fields == ("title", "artist")


def test_cover_missing_and_small_with_a_configurable_minimum(make_file, music, checker) -> None:
    make_file("flac16", "none.flac", root=music)
    add_flac_cover(make_file("flac16", "tiny.flac", root=music), png(100, 80))
    add_flac_cover(make_file("flac16", "big.flac", root=music), png(600, 600))
    rules = {"cover-missing", "cover-small"}
    report, hits = checker.run(rules=rules)
    assert hits == {"cover-missing": {"none.flac"}, "cover-small": {"tiny.flac"}}
    small = next(h for h in report.hits if h.rule_id == "cover-small")
    assert small.message == "cover is 100x80 pixels (minimum 500)" and small.severity == "info"
    _, hits = checker.run(settings=Settings(rules={"cover-small": {"min_size": 50}}), rules=rules)
    assert hits == {"cover-missing": {"none.flac"}}
    _, hits = checker.run(settings=Settings(rules={"cover-small": {"min_size": 700}}), rules=rules)
    assert hits["cover-small"] == {"tiny.flac", "big.flac"}


def test_id3v22_file(make_file, music, checker) -> None:
    path = make_file("mp3", "old.mp3", root=music)
    ID3(path).delete()  # the audio alone, then a v2.2 tag in front of it
    path.write_bytes(id3v22_tag({"TT2": "Old", "TP1": "Band", "TAL": "Al", "TRK": "1"})
                     + path.read_bytes())  # fmt: skip
    make_file("mp3", "new.mp3", root=music)
    _, hits = checker.run(rules={"id3v22", "id3v1-only", "missing-tags"})
    assert hits == {"id3v22": {"old.mp3"}}
    assert {r.title for r in checker.catalog.files()} == {"Old", "T mp3"}


def test_id3v1_only(make_file, music, checker) -> None:
    path = make_file("mp3", "v1.mp3", root=music)
    ID3(path).save(v1=2)
    ID3(path).delete(delete_v1=False, delete_v2=True)
    both = make_file("mp3", "both.mp3", root=music)
    ID3(both).save(v1=2)
    _, hits = checker.run(rules={"id3v22", "id3v1-only", "tag-blocks-conflict"})
    assert hits == {"id3v1-only": {"v1.mp3"}}


def test_conflicting_tag_blocks(make_file, music, checker) -> None:
    bad = make_file("mp3", "bad.mp3", root=music)  # ID3v2 title "T mp3", track 1
    ape = APEv2()
    ape["Artist"] = "Someone Else"
    ape["Title"] = "T mp3"
    ape.save(bad)
    with open(bad, "ab") as fh:
        fh.write(id3v1_block("A", "Artist", "Album", track=2))
    # a long title cut to 30 characters and a title ID3v1 cannot hold are no conflicts
    good = make_file("mp3", "good.mp3", root=music)
    tags = ID3(good)
    tags.add(TIT2(encoding=3, text=["A title that is much longer than thirty characters"]))
    tags.add(TPE1(encoding=3, text=["日本のバンド"]))
    tags.save(v1=2)
    report, hits = checker.run(rules={"tag-blocks-conflict"})
    assert hits == {"tag-blocks-conflict": {"bad.mp3"}}
    assert sorted(h.message for h in report.hits) == [
        "artist: APEv2 says 'Someone Else', ID3v2.4 says 'Artist'",
        "title: ID3v1 says 'A', ID3v2.4 says 'T mp3'",
        "track: ID3v1 says '2', ID3v2.4 says '1'",
    ]


def test_tags_beets_reads_differently(make_file, music, checker) -> None:
    path = make_file("mp3", "ape.mp3", root=music)
    ID3(path).delete()  # only an APEv2 tag left: Phonovault reads it, beets' MediaFile not
    ape = APEv2()
    ape["Title"], ape["Artist"], ape["Album"], ape["Track"] = "T", "A", "Al", "3"
    ape.save(path)
    make_file("mp3", "id3.mp3", root=music)
    report, hits = checker.run(rules={"mediafile-differs"})
    assert hits == {"mediafile-differs": {"ape.mp3"}}
    assert sorted(h.message for h in report.hits) == [
        "album: beets reads nothing, Phonovault 'Al'",
        "artist: beets reads nothing, Phonovault 'A'",
        "title: beets reads nothing, Phonovault 'T'",
        "track: beets reads nothing, Phonovault 3",
    ]


def test_the_analyzer_does_not_read_files_on_an_offline_drive(make_file, music, checker):
    path = make_file("mp3", "ape.mp3", root=music)
    ID3(path).delete()
    ape = APEv2()
    ape["Title"] = "T"
    ape.save(path)
    _, hits = checker.run(rules={"mediafile-differs"})
    assert hits
    renamed = music.with_name("Unplugged")
    music.rename(renamed)  # the root is gone: offline
    report = checker.run_only(rules={"mediafile-differs"})
    assert report.offline == 1 and report.hits == []
    # the finding from when the drive was there is kept, not forgotten
    assert [f.kind for f in checker.catalog.findings()] == ["rule:mediafile-differs"]


def test_the_analyzer_skips_a_file_gone_since_the_scan(tmp_path: Path) -> None:
    from phonovault.core.plugin_api import TrackFacts
    from phonovault.plugins import beets_mediafile

    gone = str(tmp_path / "gone.mp3")
    assert beets_mediafile.phonovault_analyze_file(gone, TrackFacts(1, gone, title="T")) == []
