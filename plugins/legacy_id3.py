"""MP3 tags in forms that modern players and taggers handle badly: ID3v2.2, ID3v1 alone."""

from __future__ import annotations

from phonovault.core.plugin_api import Rule, RuleHit, TrackFacts, hookimpl

_RESAVE = (
    "Save the tags again as ID3v2.4 (or ID3v2.3 for old Windows and car players) with a "
    "tagger: 'beet write', Picard or Mp3tag convert the frames."
)

ID3V22 = Rule(
    id="id3v22",
    severity="warning",
    title="Tags are in ID3v2.2",
    explanation=(
        "ID3v2.2 (1998) was replaced long ago. Many players, Windows and some taggers do not "
        "read it, and no tool writes it any more, so edits elsewhere may not show up here."
    ),
    fix=_RESAVE,
)
ID3V1_ONLY = Rule(
    id="id3v1-only",
    severity="warning",
    title="Only an ID3v1 tag",
    explanation=(
        "ID3v1 holds at most 30 Latin-1 characters per field, no album artist, no disc "
        "number and no cover: long or non-Latin titles are already cut or garbled."
    ),
    fix=_RESAVE,
)


@hookimpl
def phonovault_rules() -> list[Rule]:
    return [ID3V22, ID3V1_ONLY]


@hookimpl
def phonovault_check_file(track: TrackFacts) -> list[RuleHit]:
    hits = []
    if "id3v2.2" in track.tag_formats:
        hits.append(RuleHit(ID3V22.id, (track.file_id,), "tags are stored as ID3v2.2"))
    if track.tag_formats == ("id3v1",):
        hits.append(RuleHit(ID3V1_ONLY.id, (track.file_id,), "the only tag is ID3v1"))
    return hits
