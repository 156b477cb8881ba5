"""The library's commands: ``roots``, ``scan``, ``verify``, ``status``, ``findings``, ``show``
and ``accept``."""

from __future__ import annotations

import argparse
import json
import logging
import os
from typing import Any

from phonovault.core.catalog import Catalog, display_path
from phonovault.core.cli.output import (
    BAD_STATES,
    EXIT_ERROR,
    EXIT_FINDINGS,
    EXIT_OK,
    Out,
    ProgressBar,
    interruptible,
    when,
)
from phonovault.core.config import Settings, default_workers
from phonovault.core.errors import PhonovaultError
from phonovault.core.fixity.judge import tag_changes_of
from phonovault.core.fixity.scan import ScanOptions, ScanReport, scan
from phonovault.core.fixity.verify import VerifyReport, accept, verify
from phonovault.core.integrity.scrub import parse_budget
from phonovault.core.jobs import format_size
from phonovault.core.library.roots import (
    absolute_path,
    add_root,
    locate,
    offline_reason,
    root_folder,
)

log = logging.getLogger("phonovault")


def check_roots_args(args: argparse.Namespace) -> None:
    """Before the catalog is opened (or made): a failed 'roots add' leaves nothing behind."""
    if args.action in ("add", "remove") and not args.path:
        raise PhonovaultError(f"'roots {args.action}' needs a folder: roots {args.action} PATH")
    if args.action == "add":
        root_folder(args.path)


def cmd_roots(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    if args.action == "add":
        root = add_root(catalog, args.path)
        if out.json:
            out.dump({"root": root.path, "id": root.id})
        else:
            out.line(
                f"added root {display_path(os.fsencode(root.path))}"
                " (run 'phonovault scan' to index it)"
            )
        return EXIT_OK
    if args.action == "remove":
        found = next((r for r in catalog.roots() if r.path == os.path.realpath(args.path)), None)
        if found is None:
            raise PhonovaultError(f"{args.path} is not a registered root")
        if not args.forget:
            raise PhonovaultError(
                "removing a root forgets its files' checksums and verify history (the files "
                "themselves are never touched); repeat with --forget to do so"
            )
        catalog.remove_root(found.id)
        if not out.json:
            out.line(f"removed root {found.path} from the catalog (no file was touched)")
        else:
            out.dump({"removed": found.path})
        return EXIT_OK
    listing = [(r, offline_reason(catalog, r)) for r in catalog.roots()]
    if out.json:
        out.dump(
            {
                "roots": [
                    {
                        "id": r.id,
                        "path": r.path,
                        "online": why is None,
                        "offline_reason": why,
                        "last_scan": r.last_scan,
                    }
                    for r, why in listing
                ]
            }
        )
        return EXIT_OK
    if not listing:
        out.line("no roots yet: add one with 'phonovault roots add ~/Music'")
    for r, why in listing:
        state = "online" if why is None else out.paint(f"offline: {why}", "offline")
        out.line(f"{r.path}  [{state}]  last scan: {when(r.last_scan)}")
    return EXIT_OK


def cmd_scan(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    settings = Settings.load()
    options = ScanOptions(
        workers=args.workers or settings.effective_workers,
        with_sha256=args.sha256 or settings.with_sha256,
    )
    if not catalog.roots():
        raise PhonovaultError("no library roots: add one with 'phonovault roots add PATH'")
    bar = ProgressBar(out.err)
    try:
        report = scan(catalog, options=options, progress=bar, cancel=interruptible())
    finally:
        bar.close()
    if out.json:
        out.dump(_scan_doc(report))
    else:
        _print_scan(report, out)
    if report.cancelled:
        return EXIT_ERROR
    return (
        EXIT_FINDINGS
        if report.failed
        or report.missing
        or report.offline_roots
        or any(s in BAD_STATES for s in report.states)
        else EXIT_OK
    )


def _scan_doc(r: ScanReport) -> dict[str, Any]:
    return {
        "indexed": r.indexed, "updated": r.updated, "unchanged": r.unchanged,
        "skipped": r.skipped, "failed": len(r.failed), "missing": r.missing,
        "moved": [{"from": a, "to": b} for a, b in r.moved],
        "changed": dict(r.states),
        "failures": [{"path": f.path, "reason": f.reason} for f in r.failed],
        "notes": [{"path": p, "note": n} for p, n in r.notes],
        "offline_roots": [{"path": p, "reason": why} for p, why in r.offline_roots],
        "cancelled": r.cancelled, "seconds": round(r.seconds, 3), "bytes_read": r.bytes_read,
    }  # fmt: skip


def _print_scan(r: ScanReport, out: Out) -> None:
    for path, why in r.offline_roots:
        out.line(out.paint(f"offline: {path}: {why} (nothing judged)", "offline"))
    for f in r.failed:
        out.line(out.paint("failed", "error") + f": {f.path}: {f.reason}")
    for a, b in r.moved:
        out.line(out.paint("moved", "moved") + f": {a} -> {b}")
    for state, n in sorted(r.states.items()):
        if state != "ok":
            out.line(out.paint(f"{state}: {n}", state))
    out.line(
        f"{r.indexed} new, {r.updated} re-read, {r.unchanged} unchanged, "
        f"{r.skipped} skipped (not music), {len(r.failed)} failed, {r.missing} missing"
        f" in {r.seconds:.1f} s ({format_size(r.bytes_read)} read)"
        + (" - cancelled, run again to resume" if r.cancelled else "")
    )


def cmd_verify(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    workers = args.workers or Settings.load().verify_workers
    budget = parse_budget(args.budget) if args.budget else None
    bar = ProgressBar(out.err)
    try:
        report = verify(
            catalog,
            workers=workers,
            progress=bar,
            cancel=interruptible(),
            resume=not args.restart,
            oldest=args.oldest / 100 if args.oldest is not None else None,
            budget=budget,
            decode=args.decode,
        )
    finally:
        bar.close()
    if out.json:
        out.dump(_verify_doc(report))
    else:
        _print_verify(report, out)
    if report.cancelled:
        return EXIT_ERROR
    bad = bool(BAD_STATES & set(report.summary) or report.offline_roots)
    if report.decode and report.decode.problems:
        bad = True
    return EXIT_FINDINGS if bad else EXIT_OK


def _verify_doc(r: VerifyReport) -> dict[str, Any]:
    results = []
    for res in r.results:
        item: dict[str, Any] = {"path": res.path, "state": res.state}
        if res.detail:
            item["detail"] = res.detail
        if res.changes:
            item["changes"] = [c.to_json() for c in res.changes]
        if res.moved_from:
            item["from"] = res.moved_from
        results.append(item)
    doc: dict[str, Any] = {
        "results": results,
        "summary": r.summary,
        "offline_roots": [{"path": p, "reason": w} for p, w in r.offline_roots],
        "resumed": r.resumed,
        "cancelled": r.cancelled,
        "out_of_time": r.out_of_time,
        "seconds": round(r.seconds, 3),
        "bytes_read": r.bytes_read,
    }
    if (d := r.decode) is not None:
        doc["decode"] = {
            "checked": d.checked,
            "cached": d.cached,
            "seconds": round(d.seconds, 3),
            "realtime": round(d.realtime, 1) if d.realtime else None,
            "problems": [
                {"path": path, "kind": p.kind, "severity": p.severity, "message": p.message}
                for path, p in d.problems
            ],
            "not_read": [{"path": path, "reason": why} for path, why in d.failed],
        }
    return doc


def _print_verify(r: VerifyReport, out: Out) -> None:
    for path, why in r.offline_roots:
        out.line(out.paint(f"offline: {path}: {why} (nothing judged)", "offline"))
    for res in r.results:
        if res.state in ("ok", "offline"):
            continue
        extra = f" (from {res.moved_from})" if res.moved_from else ""
        extra += f": {res.detail}" if res.detail else ""
        out.line(f"{out.paint(res.state, res.state)}: {res.path}{extra}")
    if (d := r.decode) is not None:
        for path, p in d.problems:
            out.line(f"{out.paint(p.kind, p.severity)}: {path}: {p.message}")
    counts = ", ".join(f"{out.paint(str(n) + ' ' + s, s)}" for s, n in sorted(r.summary.items()))
    out.line(
        f"verified {len(r.results)} files in {r.seconds:.1f} s: {counts or 'nothing'}"
        + (" (resumed an interrupted run)" if r.resumed else "")
        + (" - the time budget ran out; the next run goes on from here" if r.out_of_time else "")
        + (" - cancelled, run again to resume" if r.cancelled else "")
    )
    if (d := r.decode) is not None:
        speed = f" at {d.realtime:.0f}x realtime" if d.checked and d.realtime else ""
        out.line(
            f"decode-checked {d.checked} files{speed}, {d.cached} known from earlier checks: "
            + (f"{len(d.problems)} problems" if d.problems else "all decode cleanly")
        )


def cmd_status(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    counts = catalog.state_counts()
    files, size, oldest = catalog.totals()
    roots = catalog.roots()
    offline = [r.path for r in roots if offline_reason(catalog, r)]
    findings = catalog.findings(min_severity="warning")
    if out.json:
        out.dump(
            {
                "files": files,
                "bytes": size,
                "states": counts,
                "roots": len(roots),
                "offline_roots": offline,
                "findings": len(findings),
                "oldest_verification": oldest,
            }
        )
    else:
        out.line(
            f"{files} files, {format_size(size)}, {len(roots)} root(s)"
            + (f", {len(offline)} offline" if offline else "")
        )
        for state, n in sorted(counts.items()):
            out.line(f"  {out.paint(state, state)}: {n}")
        out.line(
            f"oldest verification: {when(oldest)}; {len(findings)} finding(s) need "
            "attention" + (" - see 'phonovault findings'" if findings else "")
        )
    return EXIT_FINDINGS if findings or offline else EXIT_OK


def cmd_findings(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    wide = args.all or args.severity or args.rule
    items = catalog.findings(min_severity="info" if wide else "warning")
    if args.kind:
        items = [f for f in items if f.kind == args.kind]
    if args.rule:  # tag rules store their findings as kind "rule:<id>"
        items = [f for f in items if f.kind == f"rule:{args.rule}"]
    if args.severity:
        items = [f for f in items if f.severity == args.severity]
    if out.json:
        out.dump(
            {
                "findings": [
                    {
                        "path": f.path,
                        "kind": f.kind,
                        "severity": f.severity,
                        "message": f.message,
                        "since": f.created,
                    }
                    for f in items
                ]
            }
        )
    else:
        for f in items:
            out.line(f"{out.paint(f.severity, f.severity)} {f.kind}: {f.path}\n    {f.message}")
        out.line(f"{len(items)} finding(s)")
    return EXIT_FINDINGS if any(f.severity != "info" for f in items) else EXIT_OK


def cmd_show(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    root, rec = locate(catalog, args.path)
    history = catalog.history(rec.id)
    data = {
        k: getattr(rec, k)
        for k in rec.__dataclass_fields__
        if k not in ("relpath", "raw_tags", "path_text")
    }
    data["path"] = absolute_path(root, rec)
    data["raw_tags"] = json.loads(rec.raw_tags) if rec.raw_tags else {}
    data["changes"] = tag_changes_of(catalog, rec.id)
    from phonovault.core.integrity.decoding import (
        last_decode,  # PyAV: only for the command that needs it
    )

    decoded = last_decode(catalog, rec.id)
    if decoded is not None:
        at, result = decoded
        data["decode_check"] = {"at": at, "ok": result.ok, **json.loads(result.to_json())}
        data["decode_check"]["problems"] = [
            {"kind": p.kind, "message": p.message, "severity": p.severity} for p in result.problems
        ]
    if out.json:
        data["history"] = [
            h.__dict__
            if hasattr(h, "__dict__")
            else {k: getattr(h, k) for k in h.__dataclass_fields__}
            for h in history
        ]
        out.dump(data)
        return EXIT_OK
    out.line(data["path"])
    for key in (
        "state",
        "state_detail",
        "format",
        "codec",
        "duration",
        "sample_rate",
        "bit_depth",
        "channels",
        "bitrate",
        "size",
        "title",
        "artist",
        "album",
        "albumartist",
        "track",
        "tracktotal",
        "disc",
        "disctotal",
        "date",
        "genre",
        "mb_trackid",
        "mb_albumid",
        "tag_formats",
        "tag_error",
        "art_count",
        "art_width",
        "art_height",
        "file_hash",
        "audio_hash",
        "hash_algo",
        "audio_method",
        "audio_fallback",
        "sha256",
    ):
        value = data.get(key)
        if value not in (None, ""):
            out.line(f"  {key:13} {out.paint(str(value), str(value)) if key == 'state' else value}")
    out.line(f"  {'first seen':13} {when(rec.first_seen)}")
    out.line(f"  {'last verified':13} {when(rec.last_verified)}")
    if decoded is None:
        out.line(f"  {'decode check':13} never (verify --decode)")
    else:
        at, result = decoded
        said = "; ".join(p.message for p in result.problems) or "plays cleanly"
        out.line(f"  {'decode check':13} {when(at)}: {said}")
    out.line("  history:")
    for h in history:
        out.line(
            f"    {when(h.at)}  {out.paint(h.state, h.state)}"
            + (f"  {h.detail}" if h.detail else "")
        )
    return EXIT_OK


def cmd_accept(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    done, errors = [], []
    for path in args.paths:
        try:
            before = accept(catalog, path)
            done.append({"path": os.path.abspath(path), "was": before})
        except PhonovaultError as exc:
            errors.append({"path": path, "error": str(exc)})
    if out.json:
        out.dump({"accepted": done, "errors": errors})
    else:
        for d in done:
            out.line(f"accepted {d['path']} as the new baseline (was {d['was']})")
        for e in errors:
            out.line(out.paint("error", "error") + f": {e['error']}")
    return EXIT_ERROR if errors else EXIT_OK


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("roots", parents=[common], help="add, list or remove library roots")
    p.add_argument("action", choices=("add", "list", "remove"), nargs="?", default="list")
    p.add_argument("path", nargs="?")
    p.add_argument(
        "--forget",
        action="store_true",
        help="with remove: confirm forgetting the root's catalog history",
    )
    p.set_defaults(func=cmd_roots, check_args=check_roots_args)

    for name, func, text in (
        ("scan", cmd_scan, "index new and changed files (read-only)"),
        ("verify", cmd_verify, "re-read every file and classify it"),
    ):
        p = sub.add_parser(name, parents=[common], help=text)
        p.add_argument(
            "--workers",
            type=int,
            default=0,
            help=f"files read at once (default {default_workers(tags=name == 'scan')}; "
            "1 for a spinning disk)",
        )
        if name == "scan":
            p.add_argument(
                "--sha256",
                action="store_true",
                help="also store SHA-256 of every file (for sha256sum/BagIt)",
            )
        else:
            p.add_argument(
                "--oldest",
                type=float,
                metavar="PCT",
                help="verify only the least recently verified PCT %% of the files",
            )
            p.add_argument(
                "--budget",
                metavar="SIZE|TIME",
                help="read at most this much, least recently verified first: 50GB, 500MiB, "
                "30min, 2h (a scrub; with --oldest, whichever ends first)",
            )
            p.add_argument(
                "--decode",
                action="store_true",
                help="also decode every file read and check it plays cleanly (FLAC MD5, "
                "truncation, decoder errors); verdicts are cached per audio",
            )
            p.add_argument(
                "--restart",
                action="store_true",
                help="start afresh instead of resuming an interrupted verify",
            )
        p.set_defaults(func=func)

    p = sub.add_parser("status", parents=[common], help="counts by state (exit 1: findings)")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("findings", parents=[common], help="what needs attention, newest first")
    p.add_argument("--all", action="store_true", help="include informational findings")
    p.add_argument("--kind", help="only this kind (corrupt, missing, rule:missing-tags, ...)")
    p.add_argument("--rule", metavar="ID", help="only findings of this tag rule (see 'rules list')")
    p.add_argument("--severity", choices=("error", "warning", "info"), help="only this severity")
    p.set_defaults(func=cmd_findings)
    p = sub.add_parser("show", parents=[common], help="everything known about one file")
    p.add_argument("path")
    p.set_defaults(func=cmd_show)
    p = sub.add_parser("accept", parents=[common], help="take changed files as their new baseline")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.set_defaults(func=cmd_accept)
