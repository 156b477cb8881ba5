"""Files without cover art, or with an embedded cover too small to look at.

A cover file beside the music (``cover.jpg``, ``folder.jpg``, ``front.png``: the convention of
foobar2000, MusicBee and Picard) counts as the file's cover unless the rule's ``folder_art``
option is off: players that read it show the cover, so an album kept that way has no problem
worth one warning per track. Looking for that file reads the disk, so it happens in
``phonovault_analyze_file`` (a drive that is offline keeps its findings as they were); with
the option off the rule needs nothing but the catalog.
"""

from __future__ import annotations

from phonovault.core.plugin_api import (
    Rule,
    RuleHit,
    RuleOptions,
    TrackFacts,
    folder_cover,
    hookimpl,
)

MISSING = Rule(
    id="cover-missing",
    severity="warning",
    title="No embedded cover art",
    explanation=(
        "The file carries no picture, and no cover file (cover.jpg, folder.jpg, front.jpg...) "
        "lies beside it. Players, phones and car stereos show a blank square, and a copy of "
        "the file on its own loses its cover. Set the option folder_art to false to ask for "
        "an embedded cover even where a cover file exists."
    ),
    fix="Embed the album's front cover (beets' embedart plugin, Picard, Mp3tag), or save it "
    "as cover.jpg in the album's folder.",
    options={"folder_art": True},
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


def _missing(track: TrackFacts, message: str) -> list[RuleHit]:
    return [RuleHit(MISSING.id, (track.file_id,), message, fields=("art",))]


def _folder_art_counts(options: RuleOptions) -> bool:
    return options.get(MISSING.id, "folder_art", True) is not False


@hookimpl
def phonovault_rules() -> list[Rule]:
    return [MISSING, SMALL]


@hookimpl
def phonovault_check_file(track: TrackFacts, options: RuleOptions) -> list[RuleHit]:
    if track.tag_error:
        return []
    if track.art_count == 0:
        # With folder art counting, the analyzer below decides (it may look at the folder).
        return [] if _folder_art_counts(options) else _missing(track, "no embedded cover")
    minimum = options.get(SMALL.id, "min_size", 500)
    width, height = track.art_width, track.art_height
    if width is None or height is None or min(width, height) >= minimum:
        return []  # dimensions unknown (an image format we cannot measure): say nothing
    return [RuleHit(SMALL.id, (track.file_id,),
                    f"cover is {width}x{height} pixels (minimum {minimum})",
                    fields=("art",))]  # fmt: skip


@hookimpl
def phonovault_analyze_file(track: TrackFacts, options: RuleOptions) -> list[RuleHit]:
    """A file without embedded art whose folder holds no cover file either."""
    if track.tag_error or track.art_count or not options.is_enabled(MISSING.id):
        return []
    if not _folder_art_counts(options) or folder_cover(track) is not None:
        return []
    return _missing(track, "no embedded cover, and no cover file in its folder")
