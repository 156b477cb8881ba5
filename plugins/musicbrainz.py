"""MusicBrainz release ids that do not agree across an album's files."""

from __future__ import annotations

from collections.abc import Sequence

from phonovault.core.plugin_api import Rule, RuleHit, TrackFacts, hookimpl

MIXED = Rule(
    id="musicbrainz-album-mixed",
    severity="warning",
    title="MusicBrainz ids differ within the album",
    explanation=(
        "The files of this album point at different MusicBrainz releases (or release groups), "
        "or only some of them have an id: they were tagged separately, perhaps from different "
        "editions. beets and Picard will treat them as different albums."
    ),
    fix="Tag the whole album again in one go as one release (Picard: cluster, then look up; "
    "beets: 'beet import -L' on the album).",
    scope="album",
)

_IDS = (("mb_albumid", "release"), ("mb_releasegroupid", "release group"))


@hookimpl
def phonovault_rules() -> list[Rule]:
    return [MIXED]


@hookimpl
def phonovault_check_album(tracks: Sequence[TrackFacts]) -> list[RuleHit]:
    ids = tuple(t.file_id for t in tracks)
    hits = []
    for field, what in _IDS:
        values = [getattr(t, field) for t in tracks]
        present = {v for v in values if v}
        if len(present) > 1:
            hits.append(RuleHit(MIXED.id, ids, f"{len(present)} different MusicBrainz {what} "
                                f"ids: {', '.join(sorted(present))}", (field,)))  # fmt: skip
        elif present and None in values:
            lacking = tuple(t.file_id for t in tracks if not getattr(t, field))
            hits.append(RuleHit(MIXED.id, lacking, f"no MusicBrainz {what} id, while "
                                f"{len(values) - len(lacking)} other file(s) of the album "
                                "have one", (field,)))  # fmt: skip
    return hits
