"""Backups on the command line: ``backups add | list | verify | coverage``.

The same calls the GUI makes (:mod:`phonovault.core.backups.targets`,
:mod:`phonovault.core.backups.coverage`);
this module only parses arguments and prints. Exit codes follow :mod:`phonovault.core.cli`:
1 when a copy is not good, a target is offline or files are under-covered; 2 for bad input.
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict
from typing import Any

from phonovault.core.backups.coverage import CoverageReport, coverage
from phonovault.core.backups.targets import (
    GOOD,
    STATES,
    BackupReport,
    add_target,
    target_offline_reason,
    targets_status,
    verify_target,
)
from phonovault.core.catalog import Catalog
from phonovault.core.cli.output import EXIT_FINDINGS, EXIT_OK, Out, ProgressBar, interruptible, when
from phonovault.core.config import Settings
from phonovault.core.errors import BackupError
from phonovault.core.jobs import format_duration

_PAINT = {"match": "ok", "tags-differ": "tags-changed", "stale": "audio-changed",
          "corrupt": "corrupt", "missing": "missing", "moved": "moved",
          "only-in-backup": "info", "unreadable": "unreadable"}  # fmt: skip


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    """Add ``backups`` and its actions to the ``phonovault`` parser."""
    p = sub.add_parser("backups", parents=[common], help="backup targets: add, list, verify")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    a = actions.add_parser("add", parents=[common], help="register a folder as a backup")
    a.add_argument("target", metavar="TARGET", help="the backup folder (a marker is written)")
    a.add_argument("--root", required=True, metavar="ROOT", help="the library root it copies")
    a.set_defaults(func=cmd_add)
    a = actions.add_parser("list", parents=[common], help="targets, online or not, last verified")
    a.set_defaults(func=cmd_list)
    a = actions.add_parser("verify", parents=[common], help="judge every copy (read-only)")
    a.add_argument("target", nargs="?", metavar="TARGET", help="one target (default: all)")
    a.add_argument("--full", action="store_true", help="re-read unchanged copies too")
    a.add_argument("--workers", type=int, default=0, help="files read at once (default: auto)")
    a.set_defaults(func=cmd_verify)
    a = actions.add_parser("coverage", parents=[common], help="good copies per file and album")
    a.add_argument("--min", type=int, default=2, metavar="N", help="copies wanted (default 2)")
    a.set_defaults(func=cmd_coverage)


def cmd_add(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    target = add_target(catalog, args.target, args.root)
    if out.json:
        out.dump({"target": target.path, "root": catalog.root(target.root_id).path,
                  "id": target.marker_id})  # fmt: skip
    else:
        out.line(f"added backup {target.path} of {catalog.root(target.root_id).path}")
    return EXIT_OK


def cmd_list(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    status = targets_status(catalog)
    if out.json:
        out.dump({"targets": [
            {"path": t.path, "root": catalog.root(t.root_id).path, "online": online,
             "reason": reason, "last_verified": t.last_verified} for t, online, reason in status
        ]})  # fmt: skip
    else:
        for t, online, reason in status:
            state = out.paint("online ", "ok") if online else out.paint("offline", "offline")
            out.line(f"{state} {t.path} (of {catalog.root(t.root_id).path}), "
                     f"last verified {when(t.last_verified)}")  # fmt: skip
            if reason:
                out.line(f"        {reason}")
        out.line(f"{len(status)} target(s)")
    return EXIT_FINDINGS if any(not online for _, online, _r in status) else EXIT_OK


def cmd_verify(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    targets = catalog.targets()
    if args.target:
        real = os.path.realpath(args.target)
        targets = [t for t in targets if t.path == real]
        if not targets:
            raise BackupError(f"{args.target} is not a registered backup (see 'backups list')")
    workers = args.workers or Settings.load().verify_workers
    cancel = interruptible()
    reports: list[BackupReport] = []
    with ProgressBar(out.err) as bar:
        for target in targets:
            if cancel.cancelled:
                break
            reports.append(verify_target(catalog, target, full=args.full, workers=workers,
                                         progress=bar, cancel=cancel))  # fmt: skip
    if out.json:
        out.dump(_verify_doc(reports))
    else:
        _print_verify(reports, out)
    return EXIT_OK if reports and all(r.all_good for r in reports) else EXIT_FINDINGS


def _verify_doc(reports: list[BackupReport]) -> dict[str, Any]:
    summary: dict[str, int] = defaultdict(int)
    for r in reports:
        for state, n in r.summary.items():
            summary[state] += n
    return {
        "results": [
            {"path": c.path or None, "copy": c.copy, "state": c.state, "detail": c.detail,
             "target": r.target.path} for r in reports for c in r.results
        ],
        "summary": dict(summary),
        "offline": [{"target": r.target.path, "reason": r.offline} for r in reports
                    if r.offline],
        "targets": [{"target": r.target.path, "files_read": r.files_read,
                     "bytes_read": r.bytes_read, "seconds": round(r.seconds, 3),
                     "cancelled": r.cancelled} for r in reports],
    }  # fmt: skip


def _print_verify(reports: list[BackupReport], out: Out) -> None:
    if not reports:
        out.line("no backup targets (add one with 'backups add TARGET --root ROOT')")
    for r in reports:
        out.line(f"backup {r.target.path}:")
        if r.offline:
            out.line(f"  {out.paint('offline', 'offline')}: {r.offline}; nothing was judged")
            continue
        for state in STATES:
            if state in GOOD:
                continue
            found = [c for c in r.results if c.state == state]
            if found:
                out.line(f"  {out.paint(state, _PAINT.get(state, state))} ({len(found)})")
            for c in found:
                of = f" (copy of {c.path})" if c.state == "moved" else ""
                out.line(f"    {c.copy}{of}" + (f": {c.detail}" if c.detail else ""))
        counts = r.summary
        text = ", ".join(f"{counts[s]} {s}" for s in STATES if counts.get(s)) or "no files"
        out.line(f"  {text}; read {r.files_read} file(s) in {r.seconds:.1f} s"
                 + (" - cancelled" if r.cancelled else ""))  # fmt: skip


def cmd_coverage(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    if args.min < 1:
        raise BackupError("--min must be at least 1")
    report = coverage(catalog, args.min)
    offline = [t.path for t in catalog.targets() if target_offline_reason(t)]
    if out.json:
        out.dump(_coverage_doc(report, offline))
    else:
        _print_coverage(report, offline, out)
    return EXIT_FINDINGS if report.under_covered else EXIT_OK


def _coverage_doc(r: CoverageReport, offline: list[str]) -> dict[str, Any]:
    return {
        "min_copies": r.min_copies,
        "targets": r.targets,
        "offline_targets": offline,
        "files": len(r.files),
        "histogram": {str(k): v for k, v in r.histogram.items()},
        "albums": [{"albumartist": a.albumartist, "album": a.album, "tracks": a.tracks,
                    "min_good": a.min_good, "under": a.under} for a in r.albums],
        "under_covered": [
            {"path": f.path, "good": f.good,
             "copies": [{"target_id": c.target_id, "state": c.state,
                         "verified_at": c.verified_at, "age": c.age} for c in f.copies]}
            for f in r.under_covered
        ],
    }  # fmt: skip


def _print_coverage(r: CoverageReport, offline: list[str], out: Out) -> None:
    width = max(r.min_copies, r.targets, 1)
    for a in r.albums:
        bar = "#" * a.min_good + "." * max(0, width - a.min_good)
        mark = out.paint("under", "warning") if a.min_good < r.min_copies else "ok   "
        out.line(f"[{bar}] {a.min_good} {mark} {a.albumartist} - {a.album} ({a.tracks})")
    under = r.under_covered
    if under:
        out.line(f"files with fewer than {r.min_copies} good copies ({len(under)}):")
        for f in under:
            ages = [format_duration(c.age) for c in f.copies if c.state in GOOD and c.age]
            note = f", verified {' / '.join(ages)} ago" if ages else ""
            out.line(f"  {f.good} {f.path}{note}")
    for path in offline:
        out.line(f"note: {path} is offline; its copies count as last verified")
    out.line(f"{len(r.files)} files, {len(r.albums)} albums, {r.targets} target(s): "
             f"{len(under)} file(s) under {r.min_copies} good copies")  # fmt: skip
