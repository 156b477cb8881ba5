"""Files of one album that disagree about the album: its artist, title, year, totals, cover.

Phonovault groups an album's files by album artist (else artist) and album title, ignoring
case and spacing, so spelling variants of one album land together and can be flagged here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence

from phonovault.core.plugin_api import Rule, RuleHit, RuleOptions, TrackFacts, hookimpl

_SAME = "Set the same value on every file of the album (a tagger can edit them all at once)."


def _rule(id: str, title: str, explanation: str, fix: str = _SAME) -> Rule:
    return Rule(id, "warning", title, explanation, fix, scope="album")


ARTIST = _rule(
    "album-artist-mixed",
    "Album artist differs within the album",
    "Some files of the album name another album artist, or none: players that group by "
    "album artist split the album in two.",
)
TITLE = _rule(
    "album-title-variants",
    "Album title is spelled differently",
    "The files spell the album title differently (case, spaces): many players and beets "
    "treat each spelling as a separate album.",
)
YEAR = _rule(
    "album-year-mixed",
    "Year differs within the album",
    "Files of one album carry different years, or some have none: sorting by year scatters "
    "the album, and it is unclear which release you have.",
)
TOTALS = _rule(
    "album-totals-mixed",
    "Track or disc totals differ within the album",
    "Files disagree on how many tracks a disc has, or how many discs the album has, so "
    "completeness cannot be judged and players show odd 'track 3 of 9' labels.",
)
COVER = _rule(
    "album-cover-mixed",
    "Files of the album have different covers",
    "More than one distinct cover image is embedded across the album's files: usually a mix "
    "of editions or a cover replaced in only some files.",
    "Embed the same front cover in every file (beets' embedart, Picard).",
)


@hookimpl
def phonovault_rules() -> list[Rule]:
    return [ARTIST, TITLE, YEAR, TOTALS, COVER]


@hookimpl
def phonovault_check_album(tracks: Sequence[TrackFacts], options: RuleOptions) -> list[RuleHit]:
    ids = tuple(t.file_id for t in tracks)
    hits: list[RuleHit] = []

    def differs(rule: Rule, what: str, field: str, value: Callable[[TrackFacts], Hashable],
                with_none: bool = True) -> None:  # fmt: skip
        values = [value(t) for t in tracks]
        if not with_none:
            values = [v for v in values if v is not None]
        if len(set(values)) > 1:
            hits.append(RuleHit(rule.id, ids, f"{what} differs: {spread(values)}", (field,)))

    differs(ARTIST, "album artist", "albumartist", lambda t: t.albumartist)
    differs(TITLE, "album title", "album", lambda t: t.album)
    differs(YEAR, "year", "date", lambda t: t.year)
    for disc, on_disc in sorted(_by_disc(tracks).items()):
        values = [t.tracktotal for t in on_disc]
        if len(set(values)) > 1:
            where = f"disc {disc}: " if len({t.disc for t in tracks}) > 1 else ""
            hits.append(RuleHit(TOTALS.id, tuple(t.file_id for t in on_disc),
                                f"{where}track total differs: {spread(values)}",
                                ("tracktotal",)))  # fmt: skip
    differs(TOTALS, "disc total", "disctotal", lambda t: t.disctotal)
    differs(COVER, "cover", "art", lambda t: t.art_hash, with_none=False)
    return [h for h in hits if options.is_enabled(h.rule_id)]


def _by_disc(tracks: Sequence[TrackFacts]) -> dict[int, list[TrackFacts]]:
    out: dict[int, list[TrackFacts]] = {}
    for t in tracks:
        out.setdefault(t.disc or 1, []).append(t)
    return out


def spread(values: Sequence[Hashable]) -> str:
    """How many files say what, most common first: "'1999' (9 files), '2001' (1), none (2)"."""
    counts = Counter(values).most_common()
    parts = []
    for n, (value, count) in enumerate(counts):
        label = "none" if value is None else (f"{value:.8}…" if _is_hash(value) else repr(value))
        parts.append(f"{label} ({count} file{'s' if count != 1 else ''})" if n == 0
                     else f"{label} ({count})")  # fmt: skip
    return ", ".join(parts)


def _is_hash(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and value.isalnum()
