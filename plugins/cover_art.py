"""Files without embedded cover art, or with a cover too small to look at."""

from __future__ import annotations

from phonovault.core.plugin_api import Rule, RuleHit, RuleOptions, TrackFacts, hookimpl

MISSING = Rule(
    id="cover-missing",
    severity="warning",
    title="No embedded cover art",
    explanation=(
        "The file carries no picture. Players, phones and car stereos show a blank square, "
        "and a copy of the file on its own loses its cover."
    ),
    fix="Embed the album's front cover (beets' embedart plugin, Picard, Mp3tag).",
)
SMALL = Rule(
    id="cover-small",
    severity="info",
    title="Cover art is small",
    explanation=(
        "The embedded cover is smaller than the minimum size set for this rule (500 pixels "
        "on its shorter side unless changed), so it looks blurred on a modern screen."
    ),
    fix="Replace it with a larger scan (fetchart/embedart in beets, or Picard's cover art).",
    options={"min_size": 500},
)


@hookimpl
def phonovault_rules() -> list[Rule]:
    return [MISSING, SMALL]


@hookimpl
def phonovault_check_file(track: TrackFacts, options: RuleOptions) -> list[RuleHit]:
    if track.tag_error:
        return []
    if track.art_count == 0:
        return [RuleHit(MISSING.id, (track.file_id,), "no embedded cover", fields=("art",))]
    minimum = options.get(SMALL.id, "min_size", 500)
    width, height = track.art_width, track.art_height
    if width is None or height is None or min(width, height) >= minimum:
        return []  # dimensions unknown (an image format we cannot measure): say nothing
    return [RuleHit(SMALL.id, (track.file_id,),
                    f"cover is {width}x{height} pixels (minimum {minimum})",
                    fields=("art",))]  # fmt: skip
