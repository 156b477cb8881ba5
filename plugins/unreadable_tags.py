"""Files whose tags cannot be read at all."""

from __future__ import annotations

from phonovault.core.plugin_api import Rule, RuleHit, TrackFacts, hookimpl

UNREADABLE = Rule(
    id="tags-unreadable",
    severity="error",
    title="Tags cannot be read",
    explanation=(
        "The file's header or tag block is damaged, or it is not the format its name says. "
        "Players and taggers see no title, artist or album, and some refuse to play it."
    ),
    fix=(
        "Open it in a tagger (beets, Picard, Mp3tag). If that fails too, restore the file from "
        "a backup or rip it again; if only the extension is wrong, rename it."
    ),
)


@hookimpl
def phonovault_rules() -> list[Rule]:
    return [UNREADABLE]


@hookimpl
def phonovault_check_file(track: TrackFacts) -> list[RuleHit]:
    if not track.tag_error:
        return []
    return [RuleHit(UNREADABLE.id, (track.file_id,), f"tags cannot be read: {track.tag_error}")]
