"""The health report: the state of a library on one page a person can keep, print or email.

:func:`build_report` reads aggregates from the catalog (and at most ``per_kind`` files for each
kind of finding), so a 200k-file library with 50k findings reports in seconds and the page
stays a few MB. The report is plain data (:class:`HealthReport`); :mod:`.html` turns it into
one self-contained page and :mod:`.output` into JSON for scripts, and writes the file.
Nothing here writes anything.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from phonovault.core import __version__
from phonovault.core.backups.targets import GOOD, targets_status
from phonovault.core.catalog import Catalog, Root
from phonovault.core.config import Settings
from phonovault.core.errors import PhonovaultError
from phonovault.core.library.roots import offline_reason
from phonovault.core.plugin_api import load_plugins
from phonovault.core.rules.engine import PLUGIN_PREFIX, RULE_PREFIX, RuleInfo, list_rules

__all__ = [
    "FORMATS",
    "AgeBucket",
    "BackupHealth",
    "FindingGroup",
    "FindingItem",
    "Freshness",
    "HealthReport",
    "MuteNote",
    "ReportError",
    "RootHealth",
    "Summary",
    "TargetHealth",
    "build_report",
    "groups_by_severity",
]

REPORT_VERSION = 1  # the JSON document's shape; bumped when a key changes meaning
FORMATS = ("html", "json")
PER_KIND = 200  # files listed per kind of finding; the rest are counted
SEVERITIES = ("error", "warning", "info")
STATES = ("ok", "tags-changed", "moved", "audio-changed", "corrupt", "missing", "unreadable")
# A file in one of these states needs the user (the same states make `status` exit 1).
ATTENTION_STATES = ("corrupt", "audio-changed", "missing", "unreadable")
DAY = 86400.0
FRESH = 30 * DAY  # "scrub coverage": the share of files verified this recently
# (stable key, label, upper bound of the age); "never" comes first, "older" last.
AGES = (("7d", "< 7 days", 7 * DAY), ("30d", "7–30 days", FRESH), ("90d", "30–90 days", 90 * DAY),
        ("1y", "90 days – 1 year", 365 * DAY))  # fmt: skip

# kind -> (title, what it means, what to do), for the kinds that are not tag rules (those
# carry their own). Plain language: the reader may not know what a hash is.
KINDS: dict[str, tuple[str, str, str | None]] = {
    "corrupt": ("Corrupt (bit rot)", "The audio bytes changed although nothing wrote to the "
                "file: its size and modified time are what they were. That is what silent "
                "corruption or a failing disk looks like.",
                "Restore the file from a backup and check the disk's health."),
    "missing": ("Missing", "The file is gone from its library folder, and its bytes did not "
                "turn up anywhere else there. Its entry and history are kept.",
                "If you moved it, rescan; otherwise restore it from a backup."),
    "unreadable": ("Unreadable", "The file could not be read: a permission problem or an "
                   "input/output error. I/O errors are an early warning of a failing disk.",
                   "Check its permissions; if the disk reports I/O errors, copy what you can "
                   "to a healthy disk now and restore the rest from a backup."),
    "audio-changed": ("Audio changed", "The audio differs from the baseline and the file was "
                      "written to since: re-encoded, replaced, or damaged and then touched.",
                      "If you changed it on purpose, accept it as the new baseline "
                      "(phonovault accept PATH); if not, restore it from a backup."),
    "decode-error": ("Decoding errors", "Decoding the audio hit errors (damaged frames, failed "
                     "frame checksums): it may play with clicks or gaps, or stop.",
                     "Restore it from a backup, or rip it again from the original."),
    "truncated": ("Truncated", "The audio ends before its header says it should (or an Ogg "
                  "stream lacks its last page): part of the file is missing, as after an "
                  "interrupted copy.", "Restore the complete file from a backup."),
    "md5-mismatch": ("FLAC checksum mismatch", "The decoded audio differs from the MD5 checksum "
                     "the encoder stored in the FLAC file: it is not the audio that was encoded.",
                     "Restore it from a backup, or rip it again from the original."),
    "undecodable": ("Does not decode", "No audio could be decoded from the file at all.",
                    "Check that the file is what its name says; restore it from a backup."),
    "cover-damaged": ("Damaged cover art", "The embedded cover image cannot be decoded. The "
                      "audio is not affected.", "Embed the cover again with your tagger."),
    "moved": ("Moved or renamed", "The file was moved or renamed inside its library folder; "
              "it was recognised by its checksum and its history followed it.", None),
    "tags-changed": ("Tags changed", "The tags were edited; the audio is unchanged. The new "
                     "checksum is the baseline now, the old one stays in the history.", None),
}  # fmt: skip
KIND_ORDER = ("corrupt", "missing", "unreadable", "decode-error", "truncated", "md5-mismatch",
              "undecodable", "audio-changed", "cover-damaged", "moved", "tags-changed")  # fmt: skip


class ReportError(PhonovaultError):
    """A report cannot be written where or how it was asked."""


# -- the report as data --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RootHealth:
    path: str  # str with surrogate escapes where the bytes are not UTF-8
    online: bool
    offline_reason: str | None
    last_scan: float | None
    files: int
    bytes: int
    gone: int  # files of the root no longer present


@dataclass(frozen=True, slots=True)
class Summary:
    files: int
    bytes: int
    albums: int
    healthy: int  # nothing found about them
    warnings: int  # a warning finding at most (tag hygiene, a changed cover...)
    need_attention: int  # damaged, gone, unreadable, audio changed, or an error finding
    states: dict[str, int]  # files per fixity state: every one of STATES, then any other


@dataclass(frozen=True, slots=True)
class AgeBucket:
    key: str  # stable: never, 7d, 30d, 90d, 1y, older
    label: str
    files: int


@dataclass(frozen=True, slots=True)
class Freshness:
    """How long since each present file was last read in full (the scrub's progress)."""

    files: int
    buckets: tuple[AgeBucket, ...]
    oldest: float | None

    @property
    def recent(self) -> int:
        """Files verified within :data:`FRESH` (30 days)."""
        return sum(b.files for b in self.buckets if b.key in ("7d", "30d"))

    @property
    def coverage(self) -> float:
        return self.recent / self.files if self.files else 0.0


@dataclass(frozen=True, slots=True)
class FindingItem:
    path: str  # "" for a finding about no file in particular
    message: str


@dataclass(frozen=True, slots=True)
class FindingGroup:
    """Every finding of one kind and severity: counted in full, listed up to a cap."""

    kind: str
    severity: str
    title: str
    explanation: str
    fix: str | None
    count: int
    items: tuple[FindingItem, ...]

    @property
    def more(self) -> int:
        return self.count - len(self.items)


@dataclass(frozen=True, slots=True)
class MuteNote:
    rule: str
    target: str  # a file's path, or "album ARTIST – ALBUM"
    reason: str
    since: float


@dataclass(frozen=True, slots=True)
class TargetHealth:
    path: str
    root: str  # the library root it backs up
    online: bool
    offline_reason: str | None
    last_verified: float | None
    copies: dict[str, int]  # copy state -> copies, as the last verification found them


@dataclass(frozen=True, slots=True)
class BackupHealth:
    targets: tuple[TargetHealth, ...]
    good_copies: dict[int, int]  # verified good copies -> present files with that many

    @property
    def bands(self) -> tuple[int, int, int]:
        """Files with no good copy, with one, with two or more."""
        g = self.good_copies
        return g.get(0, 0), g.get(1, 0), sum(n for k, n in g.items() if k >= 2)


@dataclass(frozen=True, slots=True)
class HealthReport:
    generated: float
    version: str
    catalog: str
    roots: tuple[RootHealth, ...]
    summary: Summary
    freshness: Freshness
    findings: tuple[FindingGroup, ...]  # by severity, then the most serious kinds first
    mutes: tuple[MuteNote, ...]
    backups: BackupHealth
    per_kind: int

    def severity_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(SEVERITIES, 0)
        for g in self.findings:
            counts[g.severity] = counts.get(g.severity, 0) + g.count
        return counts

    @property
    def offline_roots(self) -> tuple[RootHealth, ...]:
        return tuple(r for r in self.roots if not r.online)

    @property
    def needs_attention(self) -> bool:
        """Errors or warnings, or a library folder offline (what makes `status` exit 1)."""
        counts = self.severity_counts()
        return bool(counts["error"] or counts["warning"] or self.offline_roots)


# -- building it ---------------------------------------------------------------------------


def build_report(
    catalog: Catalog,
    *,
    now: float | None = None,
    rules: Iterable[RuleInfo] | None = None,
    per_kind: int = PER_KIND,
) -> HealthReport:
    """The library's health as the catalog knows it now. Reads only: the roots and backup
    targets are looked at (are they there?) but no music file is opened. ``rules`` name and
    explain the tag rules' findings (default: the installed plugins with the user's
    settings)."""
    now = time.time() if now is None else now
    if rules is None:
        rules = list_rules(load_plugins(), Settings.load())
    with catalog.read_snapshot():  # a scan writing meanwhile must not skew the sums
        files, size, _oldest, states, albums, _loud = catalog.summary_counts()
        healthy, warnings, attention = catalog.worst_counts(ATTENTION_STATES)
        ordered = {s: states.get(s, 0) for s in STATES} | dict(sorted(states.items()))
        roots = catalog.roots()
        return HealthReport(
            generated=now,
            version=__version__,
            catalog=os.fspath(catalog.path),
            roots=tuple(_roots(catalog, roots)),
            summary=Summary(files, size, albums, healthy, warnings, attention, ordered),
            freshness=_freshness(catalog, now),
            findings=_findings(catalog, rules, per_kind),
            mutes=tuple(_mutes(catalog)),
            backups=_backups(catalog, {r.id: r.path for r in roots}),
            per_kind=per_kind,
        )


def _roots(catalog: Catalog, roots: Iterable[Root]) -> Iterable[RootHealth]:
    totals = catalog.root_totals()
    for root in roots:
        why = offline_reason(catalog, root)
        files, size, gone = totals.get(root.id, (0, 0, 0))
        yield RootHealth(root.path, why is None, why, root.last_scan, files, size, gone)


def _mutes(catalog: Catalog) -> Iterable[MuteNote]:
    for m in catalog.mutes():
        target = m.path or f"album {m.albumartist} – {m.album}"
        yield MuteNote(m.rule_id, target, m.reason, m.created)


def _freshness(catalog: Catalog, now: float) -> Freshness:
    counts, oldest = catalog.verified_ages(now, [bound for _k, _l, bound in AGES])
    keys = [("never", "never")] + [(k, label) for k, label, _b in AGES] + [("older", "older")]
    buckets = tuple(AgeBucket(k, label, n) for (k, label), n in zip(keys, counts, strict=True))
    return Freshness(sum(counts), buckets, oldest)


def _findings(
    catalog: Catalog, rules: Iterable[RuleInfo], per_kind: int
) -> tuple[FindingGroup, ...]:
    infos = {RULE_PREFIX + i.rule.id: i for i in rules}
    listed: dict[tuple[str, str], list[FindingItem]] = defaultdict(list)
    for kind, severity, root, relpath, message in catalog.findings_sample(per_kind):
        path = os.fsdecode(os.path.join(root, relpath)) if root and relpath else ""
        listed[(kind, severity)].append(FindingItem(path, message))
    groups = [
        FindingGroup(kind, severity, *_describe(kind, infos), n, tuple(listed[(kind, severity)]))
        for kind, severity, n in catalog.finding_kind_counts()
    ]

    def order(g: FindingGroup) -> tuple[int, int, int, str]:
        rank = SEVERITIES.index(g.severity) if g.severity in SEVERITIES else len(SEVERITIES)
        known = KIND_ORDER.index(g.kind) if g.kind in KIND_ORDER else len(KIND_ORDER)
        return rank, known, -g.count, g.kind

    return tuple(sorted(groups, key=order))


def _describe(kind: str, infos: Mapping[str, RuleInfo]) -> tuple[str, str, str | None]:
    """(title, explanation, fix) of a kind of finding."""
    if kind in infos:
        rule = infos[kind].rule
        return rule.title, rule.explanation, rule.fix
    if kind in KINDS:
        return KINDS[kind]
    if kind.startswith(PLUGIN_PREFIX):
        return (f"Plugin problem: {kind[len(PLUGIN_PREFIX) :]}", "A plugin failed while checking "
                "tags; it was switched off for that check and every other rule still ran.",
                "Update or remove the plugin, then check the tags again.")  # fmt: skip
    if kind.startswith(RULE_PREFIX):
        rule_id = kind[len(RULE_PREFIX) :]
        return (f"Tag rule {rule_id}", f"Found by the tag rule {rule_id}, which is not "
                "installed now; its findings stay until the next check.", None)  # fmt: skip
    return kind.replace("-", " ").capitalize(), "", None


def _backups(catalog: Catalog, roots: Mapping[int, str]) -> BackupHealth:
    copies = catalog.copy_state_counts()
    targets = tuple(
        TargetHealth(t.path, roots.get(t.root_id, ""), online, why, t.last_verified,
                     copies.get(t.id, {}))
        for t, online, why in targets_status(catalog)
    )  # fmt: skip
    return BackupHealth(targets, catalog.good_copy_counts(GOOD))


def groups_by_severity(groups: Sequence[FindingGroup]) -> dict[str, list[FindingGroup]]:
    out: dict[str, list[FindingGroup]] = {s: [] for s in SEVERITIES}
    for g in groups:
        out.setdefault(g.severity, []).append(g)
    return out
