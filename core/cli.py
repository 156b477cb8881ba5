"""The ``phonovault`` command line: the same core calls the GUI makes, for scripts and people.

Exit codes: 0 all is well, 1 there are findings, 2 an error (bad arguments, catalog trouble).
``--json`` prints exactly one JSON document on stdout; progress goes to stderr, and only
when stderr is a terminal.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import logging
import os
import sqlite3
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from phonovault.core import __version__
from phonovault.core.catalog import Catalog, display_path
from phonovault.core.config import Settings, default_catalog_path, default_workers
from phonovault.core.errors import PhonovaultError
from phonovault.core.jobs import CancelToken, Progress, format_duration, format_size
from phonovault.core.judge import tag_changes_of
from phonovault.core.library import (
    absolute_path,
    add_root,
    locate,
    offline_reason,
    root_folder,
)
from phonovault.core.scan import ScanOptions, ScanReport, scan
from phonovault.core.scrub import parse_budget
from phonovault.core.verify import VerifyReport, accept, verify

log = logging.getLogger("phonovault")

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
BAD_STATES = {"corrupt", "audio-changed", "missing", "unreadable"}


@dataclass(frozen=True, slots=True)
class Out:
    """Where and how to print: colour only on a terminal (and never with NO_COLOR)."""

    stream: TextIO
    err: TextIO
    json: bool
    colour: bool

    def line(self, text: str = "") -> None:
        print(printable(text), file=self.stream)

    def paint(self, text: str, state: str) -> str:
        if not self.colour:
            return text
        code = {
            "ok": "32",
            "corrupt": "31;1",
            "missing": "31",
            "unreadable": "31",
            "audio-changed": "33",
            "tags-changed": "36",
            "moved": "36",
            "offline": "90",
            "error": "31",
            "warning": "33",
            "info": "36",
        }.get(state)
        return f"\x1b[{code}m{text}\x1b[0m" if code else text

    def dump(self, doc: dict[str, Any]) -> None:
        json.dump(json_safe(doc), self.stream, indent=2, ensure_ascii=False, default=str)
        self.stream.write("\n")


def printable(text: str) -> str:
    """Text safe for any terminal: bytes of a file name that are not UTF-8 (carried as
    surrogate escapes) are shown as U+FFFD instead of crashing the write."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def json_safe(value: Any) -> Any:
    """JSON cannot carry file names that are not UTF-8. Such a string is given in printable
    form, and beside it ``<key>_b64`` holds the exact bytes (base64) for scripts."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, str) and printable(item) != item:
                raw = item.encode("utf-8", "surrogateescape")
                out[key] = printable(item)
                out[f"{key}_b64"] = base64.b64encode(raw).decode("ascii")
            else:
                out[key] = json_safe(item)
        return out
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, str):
        return printable(value)
    return value


class ProgressBar:
    """A one-line progress display on stderr: files, bytes, rate, ETA."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.enabled = err.isatty()
        self._width = 0

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        eta = "--:--" if p.eta is None else format_duration(p.eta)
        text = (
            f"{p.phase}: {p.done}/{p.total} files  {format_size(p.bytes_done)}/"
            f"{format_size(p.bytes_total)}  {format_size(p.bytes_rate)}/s  ETA {eta}"
        )
        self._width = max(self._width, len(text))
        self.err.write("\r" + text.ljust(self._width))
        self.err.flush()

    def close(self) -> None:
        if self.enabled and self._width:
            self.err.write("\r" + " " * self._width + "\r")
            self.err.flush()


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "never"


# -- commands -------------------------------------------------------------------------------


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
        out.line(f"{r.path}  [{state}]  last scan: {_when(r.last_scan)}")
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
        report = scan(catalog, options=options, progress=bar, cancel=_interruptible())
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
            cancel=_interruptible(),
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
            f"oldest verification: {_when(oldest)}; {len(findings)} finding(s) need "
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
    from phonovault.core.decoding import last_decode  # PyAV: only for the command that needs it

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
    out.line(f"  {'first seen':13} {_when(rec.first_seen)}")
    out.line(f"  {'last verified':13} {_when(rec.last_verified)}")
    if decoded is None:
        out.line(f"  {'decode check':13} never (verify --decode)")
    else:
        at, result = decoded
        said = "; ".join(p.message for p in result.problems) or "plays cleanly"
        out.line(f"  {'decode check':13} {_when(at)}: {said}")
    out.line("  history:")
    for h in history:
        out.line(
            f"    {_when(h.at)}  {out.paint(h.state, h.state)}"
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


# -- plumbing ---------------------------------------------------------------------------------


def _interruptible() -> CancelToken:
    """A token that the first Ctrl-C sets (work stops cleanly, committed work is kept and a
    re-run resumes); a second Ctrl-C interrupts at once."""
    import signal

    token = CancelToken()

    def on_sigint(signum: int, frame: object) -> None:
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()

    # Outside the main thread (embedded use) there is no signal handling to install.
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGINT, on_sigint)
    return token


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--catalog",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="catalog file (default: $PHONOVAULT_CATALOG or the one in your data folder)",
    )
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print one JSON document on stdout",
    )
    parser = argparse.ArgumentParser(
        prog="phonovault",
        parents=[common],
        description="Keep your own music collection safe: catalog, checksums, verification.",
    )
    parser.add_argument("--version", action="version", version=f"phonovault {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

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
    # Tag checks and the beets bridge register their own subcommands.
    from phonovault.core import (
        cli_backups,
        cli_beets,
        cli_catalog,
        cli_check,
        cli_manifests,
        cli_repair,
        cli_report,
    )

    cli_check.add_parsers(sub, common)
    cli_beets.add_parsers(sub, common)
    cli_manifests.add_parsers(sub, common)
    cli_backups.add_parsers(sub, common)
    cli_repair.add_parsers(sub, common)
    cli_report.add_parsers(sub, common)
    cli_catalog.add_parsers(sub, common)
    return parser


def main(
    argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Entry point of the ``phonovault`` command; returns the exit code."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed usage
        return EXIT_ERROR if exc.code else EXIT_OK
    as_json = getattr(args, "json", False)
    colour = stdout.isatty() and not as_json and "NO_COLOR" not in os.environ
    out = Out(stdout, stderr, as_json, colour)
    path = getattr(args, "catalog", None) or default_catalog_path()
    # Only registering a root starts a catalog: a mistyped --catalog must not quietly
    # open an empty one and report that all is well.
    create = args.command == "roots" and args.action == "add"
    try:
        check_args = getattr(args, "check_args", None)
        if check_args is not None:  # bad arguments are refused before any file is made
            check_args(args)
        if getattr(args, "catalog_free", False):  # 'catalog ...' also works on a damaged one
            return int(args.func(args, path, out))
        with Catalog(path, create=create) as catalog:
            return int(args.func(args, catalog, out))
    except PhonovaultError as exc:
        return _fail(out, str(exc))
    except sqlite3.Error as exc:  # locked, full disk, damaged pages: catalog trouble
        return _fail(out, f"catalog error in {path}: {exc}")
    except KeyboardInterrupt:
        return _fail(out, "interrupted")
    except Exception:  # a bug: say so plainly, keep the traceback for the report
        log_path = _log_crash()
        return _fail(out, f"internal error (a bug); details in {log_path}")


def _fail(out: Out, message: str) -> int:
    """Errors go to stderr as a sentence; with --json, stdout still gets its one document."""
    print(f"phonovault: error: {printable(message)}", file=out.err)
    if out.json:
        out.dump({"error": message})
    return EXIT_ERROR


def _log_crash() -> str:
    import platformdirs

    folder = platformdirs.user_state_dir("phonovault", appauthor=False)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "crash.log")
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"--- {time.ctime()} phonovault {__version__}\n{traceback.format_exc()}\n")
    return path


if __name__ == "__main__":
    sys.exit(main())
