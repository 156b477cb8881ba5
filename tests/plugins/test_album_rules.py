"""Album rules on real 3-track FLAC albums: each broken on purpose, and one that is clean."""

from __future__ import annotations

from audiogen import png
from rulekit import ALBUM_RULES, add_flac_cover

from phonovault.core.config import Settings


def test_a_consistent_album_triggers_no_rule(album, checker) -> None:
    album()
    report, hits = checker.run()
    assert hits == {}, hits
    assert report.files == 3 and report.albums == 1 and not report.problems


def test_gaps_duplicates_and_mixed_years(album, checker) -> None:
    album({2: {"TRACKNUMBER": "1", "DATE": "1999"}, 3: {"TRACKNUMBER": "4", "TRACKTOTAL": "5"}})
    report, hits = checker.run(rules=ALBUM_RULES)
    assert hits["track-duplicates"] == {"01.flac", "02.flac"}
    assert hits["track-gaps"] == {"01.flac", "02.flac", "03.flac"}
    assert hits["album-year-mixed"] == {"01.flac", "02.flac", "03.flac"}
    assert hits["album-totals-mixed"] == {"01.flac", "02.flac", "03.flac"}
    assert set(hits) == {"track-duplicates", "track-gaps", "album-year-mixed",
                         "album-totals-mixed"}  # fmt: skip
    messages = {h.rule_id: h.message for h in report.hits}
    assert messages["track-duplicates"] == "2 files are track 1"
    assert messages["track-gaps"] == "tracks 2-3, 5 of 5 missing"
    assert messages["album-year-mixed"] == "year differs: 2001 (2 files), 1999 (1)"
    # an album hit is stored on each file of the album, with the fields it is about
    stored = [
        f for f in checker.catalog.findings(min_severity="info") if f.kind == "rule:track-gaps"
    ]
    assert len(stored) == 3 and {f.severity for f in stored} == {"warning"}


def test_track_above_total(album, checker) -> None:
    album({3: {"TRACKNUMBER": "7"}})
    report, _ = checker.run(rules={"track-gaps"})
    assert {h.message for h in report.hits} == {
        "tracks 3-6 missing", "track 7 is above the track total 3"}  # fmt: skip


def test_single_file_of_an_album_is_not_a_gap_by_default(album, checker, music) -> None:
    paths = album({1: {"TRACKNUMBER": "5", "TRACKTOTAL": "10"}})
    for p in paths[1:]:
        p.unlink()
    _, hits = checker.run(rules={"track-gaps"})
    assert hits == {}
    settings = Settings(rules={"track-gaps": {"min_files": 1}})
    _, hits = checker.run(settings=settings, rules={"track-gaps"})
    assert hits == {"track-gaps": {"01.flac"}}


def test_disc_numbering(album, checker) -> None:
    album({1: {"DISCNUMBER": "1", "DISCTOTAL": "3"}, 2: {"DISCNUMBER": "3", "DISCTOTAL": "3"},
           3: {"DISCNUMBER": "4", "DISCTOTAL": "3", "TRACKNUMBER": "1"}})  # fmt: skip
    report, hits = checker.run(rules={"disc-numbering"})
    assert {h.message for h in report.hits} == {
        "disc 4 is above the disc total 3", "disc 2 missing"}  # fmt: skip
    assert hits["disc-numbering"] == {"01.flac", "02.flac", "03.flac"}


def test_multi_disc_files_without_a_disc_number(album, checker) -> None:
    album({1: {"DISCTOTAL": "2"}, 2: {"DISCNUMBER": "2", "DISCTOTAL": "2", "TRACKNUMBER": "1"},
           3: {"DISCNUMBER": None, "DISCTOTAL": None, "TRACKNUMBER": "2"}})  # fmt: skip
    report, hits = checker.run(rules={"disc-numbering", "track-duplicates"})
    assert [h.message for h in report.hits] == [
        "1 file(s) of a multi-disc album have no disc number"]  # fmt: skip
    assert hits == {"disc-numbering": {"03.flac"}}


def test_album_artist_and_title_variants(album, checker) -> None:
    # "band" vs "Band", "al" vs "Al": still one album (case-insensitive), flagged as variants
    album({2: {"ALBUMARTIST": "band", "ALBUM": "al"}, 3: {"ALBUMARTIST": None}})
    report, hits = checker.run(rules=ALBUM_RULES)
    assert report.albums == 1
    assert hits == {"album-artist-mixed": {"01.flac", "02.flac", "03.flac"},
                    "album-title-variants": {"01.flac", "02.flac", "03.flac"}}  # fmt: skip
    messages = {h.rule_id: h.message for h in report.hits}
    assert messages["album-title-variants"] == "album title differs: 'Al' (2 files), 'al' (1)"


def test_album_cover_mixed(album, checker) -> None:
    paths = album()
    add_flac_cover(paths[2], png(700, 700))
    report, hits = checker.run(rules={"album-cover-mixed"})
    assert hits == {"album-cover-mixed": {"01.flac", "02.flac", "03.flac"}}
    assert report.hits[0].fields == ("art",)


def test_musicbrainz_album_ids(album, checker, music) -> None:
    album({3: {"MUSICBRAINZ_ALBUMID": "ffffffff-5d6f-4c2e-8b7a-3e2d1c0b9a02"}})
    album({3: {"MUSICBRAINZ_ALBUMID": None}}, name="Partial")
    report, _ = checker.run(rules={"musicbrainz-album-mixed"})
    messages = sorted(h.message for h in report.hits)
    assert messages[0].startswith("2 different MusicBrainz release ids: 1c9b3e0a")
    assert messages[1] == "no MusicBrainz release id, while 2 other file(s) of the album have one"
    partial = [h for h in report.hits if "Partial" in h.paths[0]]
    assert [p.rsplit("/", 1)[1] for p in partial[0].paths] == ["03.flac"]


def test_albums_are_separate_per_root_and_title(album, checker) -> None:
    album(name="One")
    album({1: {"DATE": "1999"}, 2: {"DATE": "1999"}, 3: {"DATE": "1999"}}, name="Two")
    report, hits = checker.run()
    assert report.albums == 2 and hits == {}
