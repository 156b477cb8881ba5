"""The tag-verification engine: runs the plugins' rules over the catalog and keeps findings.

The rules themselves live in plugins (``phonovault.plugins`` and third-party distributions);
this module only decides *what* to check and *what to remember*: it builds a
:class:`~phonovault.core.plugin_api.TrackFacts` per file from the catalog, groups files into
albums the way the albums view does (album artist, else artist, and album title, compared
case- and space-insensitively so variants land together and can be flagged), applies the
user's settings (rules switched off, severities changed, options), drops muted hits, and
stores the rest as findings of kind ``rule:<id>``. Work is committed album by album, so a
cancelled check keeps what it finished.
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from phonovault.core.catalog import Catalog, FileRecord
from phonovault.core.config import Settings
from phonovault.core.errors import NotInCatalogError, PhonovaultError
from phonovault.core.jobs import CancelToken, ProgressCallback, ProgressMeter
from phonovault.core.library.roots import offline_reason, root_for_path
from phonovault.core.plugin_api import (
    SEVERITIES,
    PluginProblem,
    Plugins,
    Rule,
    RuleHit,
    RuleOptions,
    TrackFacts,
)

__all__ = [
    "CheckReport",
    "CheckedHit",
    "FindingDetail",
    "RuleInfo",
    "album_of",
    "check",
    "finding_details",
    "list_rules",
    "mute",
    "rule_kind",
    "unmute",
]

RULE_PREFIX = "rule:"
PLUGIN_PREFIX = "plugin:"
_RESERVED = ("enabled", "severity")
_GROUPS_PER_QUERY = 50  # albums loaded from the catalog at a time: few queries, little memory


def rule_kind(rule_id: str) -> str:
    """The finding kind a rule's hits are stored under."""
    return RULE_PREFIX + rule_id


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """A rule as this user runs it: its plugin, and the settings applied."""

    rule: Rule
    plugin: str
    enabled: bool
    severity: str
    options: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CheckedHit:
    """A hit that was stored (files muted for it are already left out)."""

    rule_id: str
    severity: str
    title: str
    file_ids: tuple[int, ...]
    paths: tuple[str, ...]
    message: str
    fields: tuple[str, ...]
    fix: str | None


@dataclass(slots=True)
class CheckReport:
    files: int = 0
    albums: int = 0
    hits: list[CheckedHit] = field(default_factory=list)
    muted: int = 0  # (hit, file) pairs left out because the user muted them
    problems: list[PluginProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # settings that were ignored, and why
    offline: int = 0  # files whose root is offline: file analyzers did not read them
    cancelled: bool = False
    seconds: float = 0.0

    def severities(self) -> Counter[str]:
        """How many hits of each severity (an album hit counts once)."""
        return Counter(h.severity for h in self.hits)


@dataclass(frozen=True, slots=True)
class FindingDetail:
    """What the GUI's Tags tab needs about a stored rule finding."""

    rule_id: str
    fields: tuple[str, ...]
    fix: str | None


# -- rules and settings ------------------------------------------------------------------------


def list_rules(
    plugins: Plugins, settings: Settings | None = None, notes: list[str] | None = None
) -> list[RuleInfo]:
    """Every rule the plugins offer, with the user's settings applied. Settings that cannot
    apply (an unknown severity, an option of the wrong type) are ignored and explained in
    ``notes``; a rule id offered twice is a problem of the second plugin."""
    settings = settings or Settings()
    notes = notes if notes is not None else []
    out: list[RuleInfo] = []
    owner: dict[str, str] = {}
    for plugin, rule in plugins.rules():
        if rule.id in owner:
            plugins.fail(plugin, "phonovault_rules", f"rule id {rule.id!r} is already "
                         f"offered by plugin {owner[rule.id]}")  # fmt: skip
            continue
        owner[rule.id] = plugin
        conf = settings.rules.get(rule.id, {})
        enabled = conf.get("enabled", True)
        if not isinstance(enabled, bool):
            notes.append(f"settings: rules.{rule.id}.enabled must be true or false")
            enabled = True
        severity = conf.get("severity", rule.severity)
        if severity not in SEVERITIES:
            notes.append(f"settings: rules.{rule.id}.severity must be one of {SEVERITIES}")
            severity = rule.severity
        out.append(RuleInfo(rule, plugin, enabled, severity, _options(rule, conf, notes)))
    return out


def _options(rule: Rule, conf: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    options = dict(rule.options)
    for key, value in conf.items():
        if key in _RESERVED:
            continue
        default = rule.options.get(key, _MISSING)
        if default is _MISSING:
            notes.append(f"settings: rules.{rule.id}.{key}: the rule has no such option")
        elif default is None or _same_type(value, default):
            options[key] = value
        else:
            notes.append(
                f"settings: rules.{rule.id}.{key} must be {type(default).__name__}; "
                f"using {default!r}"
            )
    return options


_MISSING = object()


def _same_type(value: object, default: object) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return type(value) is type(default)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


# -- albums ------------------------------------------------------------------------------------


def _norm(text: str | None) -> str:
    """Fold what makes two spellings of one name differ harmlessly: case, Unicode forms,
    runs of spaces."""
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())


def _album_key(albumartist: str | None, artist: str | None, album: str | None) -> str | None:
    """Files with the same key are one album (None: no album tag, so no album to check)."""
    if not _norm(album):
        return None
    return (_norm(albumartist or artist) or "unknown artist") + "\x00" + _norm(album)


def album_of(record: FileRecord) -> tuple[str, str] | None:
    """``(album artist or artist, album)`` of a file as the albums view shows it, for muting
    a rule on the whole album; None when the file has no album tag."""
    if not (record.album or "").strip():
        return None
    return (record.albumartist or record.artist or "Unknown artist", record.album or "")


def _groups(
    catalog: Catalog, selected: Collection[int] | None
) -> list[tuple[str | None, list[int]]]:
    """Album groups (key, file ids) that hold the selected files (all when None). A whole
    album is checked when any of its files is selected: album rules need all of it."""
    rows = catalog.album_grouping()
    albums: dict[tuple[int, str], list[int]] = defaultdict(list)
    singles: list[int] = []
    wanted: set[tuple[int, str]] = set()
    for file_id, root_id, albumartist, artist, album in rows:
        key = _album_key(albumartist, artist, album)
        if key is None:
            if selected is None or file_id in selected:
                singles.append(file_id)
            continue
        albums[(root_id, key)].append(file_id)
        if selected is None or file_id in selected:
            wanted.add((root_id, key))
    out: list[tuple[str | None, list[int]]] = [(k[1], albums[k]) for k in sorted(wanted)]
    return out + [(None, [i]) for i in singles]


def _select(catalog: Catalog, file_ids: Iterable[int] | None, paths: Iterable[str] | None) -> (
    set[int] | None
):  # fmt: skip
    if file_ids is None and paths is None:
        return None
    selected = set(file_ids or ())
    for path in paths or ():
        root, relpath = root_for_path(catalog, path)
        found = catalog.file_ids_under(root.id, relpath)
        if not found:
            raise NotInCatalogError(f"{path}: no catalogued files there (run a scan?)")
        selected.update(found)
    return selected


# -- the check ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Run:
    """What one check knows while it runs (kept out of the signatures of the helpers)."""

    catalog: Catalog
    plugins: Plugins
    infos: dict[str, RuleInfo]
    run: frozenset[str]  # rule ids that run now
    options: RuleOptions
    active: set[str]  # plugins with at least one rule that runs
    analyzers: set[str]  # plugins that read files
    file_mutes: set[tuple[str, int]]
    album_mutes: set[tuple[str, str]]
    report: CheckReport


def check(
    catalog: Catalog,
    *,
    plugins: Plugins,
    settings: Settings | None = None,
    file_ids: Iterable[int] | None = None,
    paths: Iterable[str] | None = None,
    rules: Collection[str] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> CheckReport:
    """Run the enabled rules on the selected files (all present files when neither
    ``file_ids`` nor ``paths`` is given) and store what they find.

    ``rules`` narrows this run to some rule ids; findings of the others are left as they
    were. A rule switched off in the settings loses its findings.
    """
    started = time.monotonic()
    state = _prepare(catalog, plugins, settings, rules)
    selected = _select(catalog, file_ids, paths)
    groups = _groups(catalog, selected)
    meter = ProgressMeter("check", progress, total=sum(len(ids) for _, ids in groups))
    with catalog.batch() as batch:
        if selected is None:  # the tags of a file that is gone cannot be wrong any more
            catalog.clear_rule_findings_of_absent_files()
        _run_groups(state, groups, meter, cancel or CancelToken(), batch.tick)
        problems = [(PLUGIN_PREFIX + p.plugin, "warning", p.message) for p in plugins.problems]
        catalog.replace_catalog_findings(PLUGIN_PREFIX, _one_per_kind(problems), time.time())
    meter.finish()
    state.report.problems = list(plugins.problems)
    state.report.seconds = time.monotonic() - started
    return state.report


def _prepare(
    catalog: Catalog, plugins: Plugins, settings: Settings | None, rules: Collection[str] | None
) -> _Run:
    report = CheckReport()
    infos = {i.rule.id: i for i in list_rules(plugins, settings, report.notes)}
    unknown = sorted(set(rules or ()) - set(infos))
    if unknown:
        raise PhonovaultError(f"no such rule: {', '.join(unknown)} (see 'phonovault rules list')")
    run = frozenset(r for r, i in infos.items() if i.enabled and (rules is None or r in rules))
    mutes = catalog.mutes()
    return _Run(
        catalog, plugins, infos, run,
        RuleOptions(run, {r: i.options for r, i in infos.items()}),
        {infos[r].plugin for r in run},
        set(plugins.implementers("phonovault_analyze_file")),
        {(m.rule_id, m.file_id) for m in mutes if m.file_id is not None},
        {(m.rule_id, _album_key(m.albumartist, None, m.album) or "") for m in mutes
         if m.file_id is None},
        report,
    )  # fmt: skip


def _run_groups(
    state: _Run,
    groups: list[tuple[str | None, list[int]]],
    meter: ProgressMeter,
    cancel: CancelToken,
    tick: Callable[[], None],
) -> None:
    catalog = state.catalog
    roots = {r.id: r for r in catalog.roots()}
    online: dict[int, bool] = {}
    for start in range(0, len(groups), _GROUPS_PER_QUERY):
        chunk = groups[start : start + _GROUPS_PER_QUERY]
        records = {r.id: r for r in catalog.files_by_ids([i for _, ids in chunk for i in ids])}
        for key, ids in chunk:
            if cancel.cancelled:
                state.report.cancelled = True
                return
            tracks, offline = [], set()
            for rec in (records[i] for i in ids):
                if rec.root_id not in online:
                    online[rec.root_id] = offline_reason(catalog, roots[rec.root_id]) is None
                if not online[rec.root_id]:
                    offline.add(rec.id)
                tracks.append(TrackFacts.from_record(rec, roots[rec.root_id].path))
            _check_group(state, key, tracks, offline, meter)
            tick()


def _check_group(
    state: _Run,
    key: str | None,
    tracks: list[TrackFacts],
    offline: set[int],
    meter: ProgressMeter,
) -> None:
    """Run every hook on one album (or one file without an album) and store the result."""
    plugins, options, only = state.plugins, state.options, state.active
    hits: list[tuple[str, RuleHit]] = []
    for t in tracks:
        own = {t.file_id}
        results = plugins.call("phonovault_check_file", only, track=t, options=options)
        hits += _valid(state, "phonovault_check_file", results, own)
        if t.file_id not in offline:  # a drive that is not there cannot be read
            results = plugins.call(
                "phonovault_analyze_file", only, path=t.path, track=t, options=options
            )
            hits += _valid(state, "phonovault_analyze_file", results, own)
        meter.file_done(t.path)
    state.report.offline += len(offline)
    if key is not None:
        state.report.albums += 1
        results = plugins.call(
            "phonovault_check_album", only, tracks=tuple(tracks), options=options
        )
        hits += _valid(state, "phonovault_check_album", results, {t.file_id for t in tracks})
    state.report.files += len(tracks)
    _store(state, tracks, hits, offline)


def _valid(
    state: _Run, hook: str, results: Iterable[tuple[str, Any]], allowed: set[int]
) -> list[tuple[str, RuleHit]]:
    """The well-formed hits of rules that run, on files the hook was given. A plugin that
    answers with something else, or with another plugin's rule, is disabled."""
    out = []
    for plugin, result in results:
        try:
            items = list(result or ())
            hits = [_clean_hit(h, allowed) for h in items if isinstance(h, RuleHit)]
        except (TypeError, ValueError):
            hits, items = [], [None]
        if len(hits) != len(items):
            state.plugins.fail(plugin, hook, "did not return a list of well-formed RuleHit values")
            continue
        for hit in hits:
            info = state.infos.get(hit.rule_id)
            if info is None or info.plugin != plugin:
                state.plugins.fail(plugin, hook, f"reported rule {hit.rule_id!r}, which it "
                                   "does not offer in phonovault_rules")  # fmt: skip
                break
            if hit.rule_id in state.run and hit.file_ids:
                out.append((plugin, hit))
    return out


def _clean_hit(hit: RuleHit, allowed: set[int]) -> RuleHit:
    """The hit with its files narrowed to ``allowed`` and its parts made the declared types
    (a plugin passing a list or an int where a tuple belongs raises TypeError here)."""
    ids = tuple(i for i in hit.file_ids if i in allowed)
    return RuleHit(str(hit.rule_id), ids, str(hit.message), tuple(map(str, hit.fields)),
                   None if hit.fix is None else str(hit.fix))  # fmt: skip


def _store(
    state: _Run, tracks: list[TrackFacts], hits: list[tuple[str, RuleHit]], unread: set[int]
) -> None:
    """Replace the rule findings of these files with ``hits``, minus muted ones. Findings of
    rules that did not get to run on a file (left out of this run, plugin disabled, file on
    an offline drive for a reading plugin) are kept as they were."""
    report, infos = state.report, state.infos
    paths = {t.file_id: t.path for t in tracks}
    album = {t.file_id: _album_key(t.albumartist, t.artist, t.album) for t in tracks}
    per_file: dict[int, dict[str, list[RuleHit]]] = defaultdict(lambda: defaultdict(list))
    for _plugin, hit in hits:
        kept = []
        for i in hit.file_ids:
            if (hit.rule_id, i) in state.file_mutes or (hit.rule_id, album[i]) in state.album_mutes:
                report.muted += 1
            else:
                kept.append(i)
                per_file[i][hit.rule_id].append(hit)
        if kept:
            kept.sort(key=paths.__getitem__)
            info = infos[hit.rule_id]
            report.hits.append(CheckedHit(
                hit.rule_id, info.severity, info.rule.title, tuple(kept),
                tuple(paths[i] for i in kept), hit.message, hit.fields, hit.fix or info.rule.fix,
            ))  # fmt: skip
    disabled = state.plugins.disabled
    # Left out of this run (but switched on), or its plugin broke: keep what it said before.
    # Switched off in the settings: its findings go.
    keep = {rule_kind(r) for r, info in infos.items()
            if (info.enabled and r not in state.run) or info.plugin in disabled}  # fmt: skip
    readers = {rule_kind(r) for r, info in infos.items() if info.plugin in state.analyzers}
    now = time.time()
    for t in tracks:
        rows = []
        for rule_id, rule_hits in per_file.get(t.file_id, {}).items():
            info = infos[rule_id]
            fields = tuple(dict.fromkeys(f for h in rule_hits for f in h.fields))
            fix = next((h.fix for h in rule_hits if h.fix), info.rule.fix)
            message = "; ".join(dict.fromkeys(h.message for h in rule_hits))
            detail = json.dumps({"fields": list(fields), "fix": fix}, ensure_ascii=False)
            rows.append((rule_kind(rule_id), info.severity, message, detail))
        stays = keep | readers if t.file_id in unread else keep
        state.catalog.replace_rule_findings(t.file_id, rows, stays, now)


def _one_per_kind(findings: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    merged: dict[str, tuple[str, str, str]] = {}
    for kind, severity, message in findings:
        old = merged.get(kind)
        merged[kind] = (kind, severity, f"{old[2]}; {message}" if old else message)
    return list(merged.values())


# -- mutes and details -------------------------------------------------------------------------


def mute(
    catalog: Catalog,
    rule_id: str,
    reason: str,
    *,
    file_id: int | None = None,
    album: tuple[str, str] | None = None,
) -> int:
    """Silence ``rule_id`` for one file or one album (``(album artist or artist, album)``, as
    :func:`album_of` gives), with the user's reason. The rule's current findings there go at
    once; returns how many."""
    if not reason.strip():
        raise PhonovaultError("a mute needs a reason (say why this is not a problem)")
    if (file_id is None) == (album is None):
        raise PhonovaultError("mute one file or one album")
    targets = [file_id] if file_id is not None else _album_files(catalog, album)
    with catalog.transaction():
        catalog.add_mute(rule_id, reason.strip(), time.time(), file_id=file_id, album=album)
        kind = rule_kind(rule_id)
        before = sum(1 for i in targets for f in catalog.findings_for_file(i) if f.kind == kind)
        for i in targets:
            catalog.clear_findings(i, [kind])
    return before


def unmute(
    catalog: Catalog,
    rule_id: str,
    *,
    file_id: int | None = None,
    album: tuple[str, str] | None = None,
) -> bool:
    """Lift a mute (its findings come back with the next check); False if there was none."""
    return catalog.remove_mute(rule_id, file_id=file_id, album=album) > 0


def _album_files(catalog: Catalog, album: tuple[str, str] | None) -> list[int]:
    key = _album_key(album[0], None, album[1]) if album else None
    return [row[0] for row in catalog.album_grouping() if _album_key(*row[2:]) == key]


def finding_details(catalog: Catalog, file_id: int) -> dict[str, FindingDetail]:
    """Rule id -> the tags its finding on this file is about and the suggested fix."""
    out = {}
    for kind, text in catalog.finding_details(file_id).items():
        if not kind.startswith(RULE_PREFIX):
            continue
        try:
            doc = json.loads(text)
        except ValueError:
            continue
        rule_id = kind[len(RULE_PREFIX) :]
        out[rule_id] = FindingDetail(rule_id, tuple(doc.get("fields") or ()), doc.get("fix"))
    return out
