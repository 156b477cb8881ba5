"""Tag checks on the command line: ``check``, ``rules``, ``mute``, ``unmute``, ``mutes``.

The same calls the GUI makes (:mod:`phonovault.core.rules.engine`); this module only parses
arguments and prints. Exit codes follow :mod:`phonovault.core.cli`: 1 when a check leaves an
error or a warning (or a plugin failed), 2 for bad input.
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict
from typing import Any

from phonovault.core.catalog import Catalog
from phonovault.core.cli.output import (
    EXIT_ERROR,
    EXIT_FINDINGS,
    EXIT_OK,
    Out,
    ProgressBar,
    interruptible,
)
from phonovault.core.config import Settings
from phonovault.core.errors import PhonovaultError
from phonovault.core.library.roots import locate, root_for_path
from phonovault.core.plugin_api import Plugins, load_plugins
from phonovault.core.rules.engine import (
    CheckedHit,
    CheckReport,
    RuleInfo,
    album_of,
    check,
    list_rules,
    mute,
    unmute,
)

_ORDER = {"error": 0, "warning": 1, "info": 2}


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    """Add this module's subcommands to the ``phonovault`` parser."""
    p = sub.add_parser(
        "check", parents=[common], help="check tags with the rules (exit 1: errors or warnings)"
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: all)")
    p.add_argument("--rule", action="append", metavar="ID", help="run only this rule (repeat)")
    p.add_argument("--skip", action="append", metavar="ID", help="leave this rule out (repeat)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("rules", parents=[common], help="list the tag rules and their settings")
    p.add_argument("action", choices=("list", "show"), nargs="?", default="list")
    p.add_argument("rule", nargs="?", metavar="ID", help="with show: the rule to explain")
    p.set_defaults(func=cmd_rules)

    for name, text in (
        ("mute", "silence a rule for one file or album, with a reason"),
        ("unmute", "lift a mute (its findings return with the next check)"),
    ):
        p = sub.add_parser(name, parents=[common], help=text)
        p.add_argument("rule", metavar="RULE")
        p.add_argument("path", metavar="PATH", help="a catalogued file (or a folder: each file)")
        p.add_argument("--album", action="store_true", help="the whole album of the file")
        if name == "mute":
            p.add_argument("--reason", required=True, help="why this is not a problem")
        p.set_defaults(func=cmd_mute)

    p = sub.add_parser("mutes", parents=[common], help="list muted rules and their reasons")
    p.set_defaults(func=cmd_mutes)


def cmd_check(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    settings = Settings.load()
    plugins = load_plugins()
    infos = list_rules(plugins, settings)
    chosen = set(args.rule) if args.rule else {i.rule.id for i in infos}
    unknown = (set(args.rule or ()) | set(args.skip or ())) - {i.rule.id for i in infos}
    if unknown:
        raise PhonovaultError(f"no such rule: {', '.join(sorted(unknown))} (see 'rules list')")
    chosen -= set(args.skip or ())
    with ProgressBar(out.err) as bar:
        report = check(
            catalog,
            plugins=plugins,
            settings=settings,
            paths=[os.path.abspath(p) for p in args.paths] or None,
            rules=chosen,
            progress=bar,
            cancel=interruptible(),
        )
    if out.json:
        out.dump(_check_doc(report))
    else:
        _print_check(report, out)
    if report.cancelled:
        return EXIT_ERROR
    loud = any(h.severity in ("error", "warning") for h in report.hits)
    return EXIT_FINDINGS if loud or report.problems else EXIT_OK


def _check_doc(r: CheckReport) -> dict[str, Any]:
    return {
        "files": r.files,
        "albums": r.albums,
        "hits": [
            {
                "rule": h.rule_id,
                "severity": h.severity,
                "title": h.title,
                "message": h.message,
                "fields": list(h.fields),
                "fix": h.fix,
                "paths": list(h.paths),
            }
            for h in r.hits
        ],
        "counts": dict(r.severities()),
        "muted": r.muted,
        "problems": [{"plugin": p.plugin, "hook": p.hook, "error": p.error} for p in r.problems],
        "notes": r.notes,
        "offline": r.offline,
        "cancelled": r.cancelled,
        "seconds": round(r.seconds, 3),
    }


def _print_check(r: CheckReport, out: Out) -> None:
    for note in r.notes:
        out.line(f"note: {note}")
    for problem in r.problems:
        out.line(out.paint("plugin problem", "error") + f": {problem.message}")
    by_rule: dict[str, list[CheckedHit]] = defaultdict(list)
    for hit in r.hits:
        by_rule[hit.rule_id].append(hit)
    ordered = sorted(by_rule.items(), key=lambda kv: (_ORDER[kv[1][0].severity], kv[0]))
    for rule_id, hits in ordered:
        first = hits[0]
        out.line(f"{out.paint(first.severity, first.severity)} {rule_id}: {first.title} "
                 f"({len(hits)})")  # fmt: skip
        for hit in hits:
            out.line(f"  {_where(hit)}: {hit.message}")
        if first.fix:
            out.line(f"  fix: {first.fix}")
    counts = r.severities()
    summary = ", ".join(f"{counts[s]} {s}" for s in _ORDER if counts[s]) or "no problems"
    out.line(
        f"checked {r.files} files in {r.albums} albums in {r.seconds:.1f} s: {summary}"
        + (f", {r.muted} muted" if r.muted else "")
        + (f"; {r.offline} files on offline drives were not read" if r.offline else "")
        + (" - cancelled" if r.cancelled else "")
    )


def _where(hit: CheckedHit) -> str:
    if len(hit.paths) == 1:
        return hit.paths[0]
    folders = {os.path.dirname(p) for p in hit.paths}
    place = folders.pop() if len(folders) == 1 else os.path.commonpath(hit.paths)
    return f"{place}/ ({len(hit.paths)} files)"


def cmd_rules(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    plugins = load_plugins()
    notes: list[str] = []
    infos = list_rules(plugins, Settings.load(), notes)
    if args.action == "show":
        found = [i for i in infos if i.rule.id == args.rule]
        if not found:
            raise PhonovaultError(f"no such rule: {args.rule} (see 'phonovault rules list')")
        infos = found
    if out.json:
        out.dump({"rules": [_rule_doc(i) for i in infos], "notes": notes,
                  "problems": [p.message for p in plugins.problems]})  # fmt: skip
        return EXIT_OK
    for info in sorted(infos, key=lambda i: i.rule.id):
        state = "on " if info.enabled else "off"
        out.line(f"{state} {out.paint(f'{info.severity:7}', info.severity)} {info.rule.id:24} "
                 f"{info.rule.title}")  # fmt: skip
        if args.action == "show":
            _explain(info, plugins, out)
    for note in notes:
        out.line(f"note: {note}")
    for problem in plugins.problems:
        out.line(out.paint("plugin problem", "error") + f": {problem.message}")
    return EXIT_OK


def _rule_doc(info: RuleInfo) -> dict[str, Any]:
    r = info.rule
    return {
        "id": r.id, "title": r.title, "severity": info.severity, "default_severity": r.severity,
        "enabled": info.enabled, "scope": r.scope, "plugin": info.plugin,
        "explanation": r.explanation, "fix": r.fix, "options": dict(info.options),
    }  # fmt: skip


def _explain(info: RuleInfo, plugins: Plugins, out: Out) -> None:
    dist = plugins.info(info.plugin)
    origin = f"{dist.distribution} {dist.version}" if dist.distribution else "loaded directly"
    out.line(f"    {info.rule.explanation}")
    if info.rule.fix:
        out.line(f"    fix: {info.rule.fix}")
    for key, value in info.options.items():
        out.line(f"    option {key} = {value!r}")
    out.line(f"    plugin {info.plugin} ({origin}); applies per {info.rule.scope}")


def cmd_mute(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    known = {i.rule.id for i in list_rules(load_plugins(), Settings.load())}
    if args.command == "mute" and args.rule not in known:
        raise PhonovaultError(f"no such rule: {args.rule} (see 'phonovault rules list')")
    targets: list[dict[str, Any]] = []
    for file_id, album in _targets(catalog, args.path, args.album):
        if args.command == "mute":
            cleared = mute(catalog, args.rule, args.reason, file_id=file_id, album=album)
            targets.append({"file_id": file_id, "album": album, "cleared": cleared})
        elif unmute(catalog, args.rule, file_id=file_id, album=album):
            targets.append({"file_id": file_id, "album": album})
    if out.json:
        out.dump({args.command: args.rule, "targets": targets})
    elif args.command == "mute":
        what = "the album" if args.album else f"{len(targets)} file(s)"
        out.line(f"muted {args.rule} for {what} under {args.path}")
    else:
        out.line(f"unmuted {args.rule} for {len(targets)} target(s); run 'phonovault check' "
                 "to see its findings again" if targets else "nothing was muted there")  # fmt: skip
    return EXIT_OK


def _targets(
    catalog: Catalog, path: str, album: bool
) -> list[tuple[int | None, tuple[str, str] | None]]:
    """What a mute applies to: the album of the file at ``path``, or each file under it."""
    if os.path.isdir(path):
        root, relpath = root_for_path(catalog, path)
        ids = catalog.file_ids_under(root.id, relpath)
        if not ids:
            raise PhonovaultError(f"{path}: no catalogued files there (run a scan?)")
    else:
        ids = [locate(catalog, path)[1].id]
    if not album:
        return [(i, None) for i in ids]
    albums = {album_of(rec) for rec in catalog.files_by_ids(ids)} - {None}
    if not albums:
        raise PhonovaultError(f"{path}: no album tag, so there is no album to mute")
    return [(None, a) for a in sorted(a for a in albums if a is not None)]


def cmd_mutes(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    mutes = catalog.mutes()
    if out.json:
        out.dump({"mutes": [
            {"rule": m.rule_id, "path": m.path or None, "albumartist": m.albumartist,
             "album": m.album, "reason": m.reason, "since": m.created} for m in mutes
        ]})  # fmt: skip
        return EXIT_OK
    for m in mutes:
        target = m.path if m.file_id is not None else f"album {m.albumartist} - {m.album}"
        out.line(f"{m.rule_id}: {target}\n    {m.reason}")
    out.line(f"{len(mutes)} mute(s)")
    return EXIT_OK
