"""The library's commands: ``roots``, ``scan`` and ``verify`` (what they found is reviewed
with :mod:`phonovault.core.cli.review`)."""

from __future__ import annotations

import argparse
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
from phonovault.core.fixity.scan import ScanOptions, ScanReport, scan
from phonovault.core.fixity.verify import VerifyReport, verify
from phonovault.core.integrity.scrub import parse_budget
from phonovault.core.jobs import format_size
from phonovault.core.library.roots import add_root, offline_reason, root_folder

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
    with ProgressBar(out.err) as bar:
        report = scan(catalog, options=options, progress=bar, cancel=interruptible())
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
    with ProgressBar(out.err) as bar:
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


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    _add_roots_parser(sub, common)
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
            _add_verify_options(p)
        p.set_defaults(func=func)


def _add_roots_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("roots", parents=[common], help="add, list or remove library roots")
    p.add_argument("action", choices=("add", "list", "remove"), nargs="?", default="list")
    p.add_argument("path", nargs="?")
    p.add_argument(
        "--forget",
        action="store_true",
        help="with remove: confirm forgetting the root's catalog history",
    )
    p.set_defaults(func=cmd_roots, check_args=check_roots_args)


def _add_verify_options(p: argparse.ArgumentParser) -> None:
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
