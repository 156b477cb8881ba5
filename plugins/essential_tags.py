"""Files that lack the tags every player and library needs to file them."""

from __future__ import annotations

from phonovault.core.plugin_api import Rule, RuleHit, RuleOptions, TrackFacts, hookimpl

# What each checkable tag is called in a message.
_LABELS = {
    "title": "title", "artist": "artist", "album": "album", "albumartist": "album artist",
    "track": "track number", "tracktotal": "track total", "disc": "disc number",
    "disctotal": "disc total", "date": "date", "genre": "genre",
    "mb_trackid": "MusicBrainz track id", "mb_albumid": "MusicBrainz album id",
}  # fmt: skip

MISSING = Rule(
    id="missing-tags",
    severity="warning",
    title="Essential tags are missing",
    explanation=(
        "Without a title, artist, album or track number, players sort the file as "
        "'Unknown', albums fall apart and tracks play out of order."
    ),
    fix="Fill in the missing tags with a tagger, or let MusicBrainz Picard or beets look them up.",
    options={"tags": ["title", "artist", "album", "track"]},
)


@hookimpl
def phonovault_rules() -> list[Rule]:
    return [MISSING]


@hookimpl
def phonovault_check_file(track: TrackFacts, options: RuleOptions) -> list[RuleHit]:
    if track.tag_error:  # nothing could be read: that is the unreadable-tags rule's finding
        return []
    wanted = [t for t in options.get(MISSING.id, "tags", []) if t in _LABELS]
    missing = [t for t in wanted if getattr(track, t) in (None, "")]
    if not missing:
        return []
    words = ", ".join(_LABELS[t] for t in missing)
    return [RuleHit(MISSING.id, (track.file_id,), f"no {words}", fields=tuple(missing))]
