"""Track and disc numbering within an album: duplicates, gaps, numbers beyond the totals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from phonovault.core.plugin_api import Rule, RuleHit, RuleOptions, TrackFacts, hookimpl

DUPLICATES = Rule(
    id="track-duplicates",
    severity="warning",
    title="Two files share a track number",
    explanation=(
        "Two or more files of the same disc carry the same track number: a duplicate copy, "
        "a track from another edition, or a numbering mistake. Play order is undefined."
    ),
    fix="Delete the duplicate copy, or correct the track numbers.",
    scope="album",
)
GAPS = Rule(
    id="track-gaps",
    severity="warning",
    title="Track numbers have gaps",
    explanation=(
        "Track numbers skip (1, 2, 4) or stop short of the track total, or a number is higher "
        "than the total: tracks are missing from the album, or the numbers are wrong."
    ),
    fix="Find the missing tracks (check backups), or correct the numbers and totals.",
    scope="album",
    options={"min_files": 2},  # albums with fewer files are single tracks kept on their own
)
DISCS = Rule(
    id="disc-numbering",
    severity="warning",
    title="Disc numbering is inconsistent",
    explanation=(
        "A disc number is higher than the disc total, discs are missing between the first and "
        "the last, or some files of a multi-disc album have no disc number."
    ),
    fix="Give every file its disc number and the album's disc total.",
    scope="album",
)


@hookimpl
def phonovault_rules() -> list[Rule]:
    return [DUPLICATES, GAPS, DISCS]


@hookimpl
def phonovault_check_album(tracks: Sequence[TrackFacts], options: RuleOptions) -> list[RuleHit]:
    discs: dict[int, list[TrackFacts]] = defaultdict(list)
    for t in tracks:
        discs[t.disc or 1].append(t)
    several = len(discs) > 1
    hits: list[RuleHit] = []
    for disc, on_disc in sorted(discs.items()):
        where = f"disc {disc}: " if several else ""
        hits += _duplicates(on_disc, where)
        if len(tracks) >= options.get(GAPS.id, "min_files", 2):
            hits += _gaps(on_disc, where)
    hits += _disc_numbering(tracks)
    return [h for h in hits if options.is_enabled(h.rule_id)]


def _duplicates(tracks: list[TrackFacts], where: str) -> list[RuleHit]:
    by_number: dict[int, list[int]] = defaultdict(list)
    for t in tracks:
        if t.track is not None:
            by_number[t.track].append(t.file_id)
    return [
        RuleHit(DUPLICATES.id, tuple(ids), f"{where}{len(ids)} files are track {n}", ("track",))
        for n, ids in sorted(by_number.items())
        if len(ids) > 1
    ]


def _gaps(tracks: list[TrackFacts], where: str) -> list[RuleHit]:
    present = {t.track for t in tracks if t.track}
    if not present:
        return []  # no numbers at all: the missing-tags rule says so
    total = max((t.tracktotal or 0 for t in tracks), default=0)
    ids = tuple(t.file_id for t in tracks)
    hits = []
    missing = sorted(set(range(1, max(max(present), total) + 1)) - present)
    if missing:
        of = f" of {total}" if total >= max(present) else ""
        hits.append(RuleHit(GAPS.id, ids, f"{where}track{'s' if len(missing) > 1 else ''} "
                            f"{ranges(missing)}{of} missing", ("track",)))  # fmt: skip
    over = [t for t in tracks if t.track and t.tracktotal and t.track > t.tracktotal]
    for t in over:
        hits.append(RuleHit(GAPS.id, (t.file_id,), f"{where}track {t.track} is above the "
                            f"track total {t.tracktotal}", ("track", "tracktotal")))  # fmt: skip
    return hits


def _disc_numbering(tracks: Sequence[TrackFacts]) -> list[RuleHit]:
    ids = tuple(t.file_id for t in tracks)
    numbered = {t.disc for t in tracks if t.disc}
    total = max((t.disctotal or 0 for t in tracks), default=0)
    hits = []
    for t in tracks:
        if t.disc and t.disctotal and t.disc > t.disctotal:
            hits.append(RuleHit(DISCS.id, (t.file_id,),
                                f"disc {t.disc} is above the disc total {t.disctotal}",
                                ("disc", "disctotal")))  # fmt: skip
    if numbered and (len(numbered) > 1 or total > 1):
        missing = sorted(set(range(1, max(max(numbered), total) + 1)) - numbered)
        if missing:
            hits.append(RuleHit(DISCS.id, ids, f"disc{'s' if len(missing) > 1 else ''} "
                                f"{ranges(missing)} missing", ("disc",)))  # fmt: skip
        unnumbered = tuple(t.file_id for t in tracks if not t.disc)
        if unnumbered:
            hits.append(RuleHit(DISCS.id, unnumbered, f"{len(unnumbered)} file(s) of a "
                                "multi-disc album have no disc number", ("disc",)))  # fmt: skip
    return hits


def ranges(numbers: Iterable[int]) -> str:
    """1, 2, 3, 5, 7, 8 -> "1-3, 5, 7-8" (at most 12 runs shown)."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    text = [f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:12]]
    return ", ".join(text) + (", …" if len(runs) > 12 else "")
