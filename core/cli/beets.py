"""``phonovault beets drift``: where a beets library and the files disagree (read-only).

Exit codes as everywhere: 0 no drift, 1 drift (or files that could not be checked), 2 an
error (the beets DB cannot be read, no catalog, bad arguments).
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from phonovault.core.catalog import Catalog
    from phonovault.core.cli.output import Out
    from phonovault.core.rules.beets import DriftReport, FieldDrift, Value


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    """Add this module's subcommands to the ``phonovault`` parser."""
    p = sub.add_parser(
        "beets", parents=[common], help="compare a beets library with your files (read-only)"
    )
    actions = p.add_subparsers(dest="beets_action", metavar="ACTION", required=True)
    d = actions.add_parser(
        "drift",
        parents=[common],
        help="beets items whose files are gone, files beets does not know, tags that differ",
        description=(
            "Compare a beets library DB with the files on disk and with Phonovault's catalog. "
            "Never writes to the beets DB or to any music file."
        ),
    )
    d.add_argument(
        "--db", required=True, metavar="PATH", help="the beets library file (library.db)"
    )
    d.add_argument(
        "--directory",
        metavar="DIR",
        help="beets' music folder (default: 'directory:' in beets' config.yaml, beside the DB, "
        "in $BEETSDIR or in ~/.config/beets; else ~/Music)",
    )
    d.add_argument(
        "--no-fields",
        action="store_true",
        help="skip reading tags: only gone and unknown files (much faster)",
    )
    d.set_defaults(func=cmd_beets_drift)


def cmd_beets_drift(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    """Run :func:`~phonovault.core.rules.beets.drift` and print it, grouped or as JSON."""
    from phonovault.core.cli.output import EXIT_FINDINGS, EXIT_OK, ProgressBar
    from phonovault.core.rules.beets import drift

    started = time.monotonic()
    with ProgressBar(out.err) as bar:
        report = drift(
            catalog,
            args.db,
            args.directory,
            check_fields=not args.no_fields,
            progress=bar,
        )
    seconds = time.monotonic() - started
    if out.json:
        out.dump(_doc(report, args, seconds))
    else:
        _print(report, args, seconds, out)
    return EXIT_FINDINGS if report.drifted or report.errors else EXIT_OK


def _doc(r: DriftReport, args: argparse.Namespace, seconds: float) -> dict[str, Any]:
    """The one JSON document. Every path is an object member, so ``json_safe`` can put the
    exact bytes of a non-UTF-8 name beside it (``path_b64``)."""
    return {
        "db": args.db,
        "directory": r.directory,
        "gone": [
            {"path": g.path, "id": g.item_id, "artist": g.artist, "album": g.album,
             "title": g.title}
            for g in r.gone
        ],
        "unknown": [{"path": p} for p in r.unknown],
        "differ": [
            {"path": d.path, "field": d.field, "db": d.db_value, "file": d.file_value}
            for d in r.differ
        ],
        "errors": [{"path": p, "reason": why} for p, why in r.errors],
        "summary": {
            "items": r.items, "files": r.files, "gone": len(r.gone),
            "unknown": len(r.unknown), "differ": len(r.differ),
            "differ_files": len({d.path for d in r.differ}), "errors": len(r.errors),
            "fields_checked": not args.no_fields, "seconds": round(seconds, 3),
        },
    }  # fmt: skip


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _show(value: Value) -> str:
    if value is None:
        return "(not set)"
    return str(value) if isinstance(value, int) else f'"{value}"'


def _print(r: DriftReport, args: argparse.Namespace, seconds: float, out: Out) -> None:
    out.line(
        f"beets library {args.db} (music folder {r.directory}): {r.items} items; "
        f"Phonovault catalog: {r.files} files"
    )
    if r.gone:
        out.line(out.paint(f"Gone from disk ({len(r.gone)}):", "missing"))
        for g in r.gone:
            what = " - ".join(x for x in (g.artist, g.title) if x)
            out.line(f"  {g.path}" + (f"  ({what})" if what else ""))
    if r.unknown:
        out.line(out.paint(f"Not in beets ({len(r.unknown)}):", "info"))
        for path in r.unknown:
            out.line(f"  {path}")
    by_file: dict[str, list[FieldDrift]] = {}
    for d in r.differ:
        by_file.setdefault(d.path, []).append(d)
    if r.differ:
        out.line(
            out.paint(
                f"Tags differ from the beets DB ({len(r.differ)} fields in {len(by_file)} files):",
                "warning",
            )
        )
        out.line("  ('beet write' would change the files, 'beet update' the beets DB)")
        for path, fields in sorted(by_file.items()):
            out.line(f"  {path}")
            for d in fields:
                out.line(f"    {d.field}: beets {_show(d.db_value)}, file {_show(d.file_value)}")
    if r.errors:
        out.line(out.paint(f"Could not check ({len(r.errors)}):", "error"))
        for path, why in r.errors:
            out.line(f"  {path}: {why}")
    tail = "" if not args.no_fields else "; tags not compared (--no-fields)"
    if not (r.drifted or r.errors):
        out.line(f"no drift: beets and your files agree{tail} ({seconds:.1f} s)")
        return
    out.line(
        f"{len(r.gone)} gone, {len(r.unknown)} not in beets, {_n(len(r.differ), 'field')} "
        f"differ in {_n(len(by_file), 'file')}, {len(r.errors)} could not be checked{tail} "
        f"({seconds:.1f} s)"
    )
