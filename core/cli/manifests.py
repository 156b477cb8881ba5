"""Manifests on the command line: ``export manifest``, ``export catalog``, ``manifests verify``.

Only argument parsing and printing; the work is :mod:`phonovault.core.backups.manifests`. Exit codes
follow :mod:`phonovault.core.cli`: 1 when a verified manifest has a bad entry (mismatch,
missing, unreadable, rejected) or cannot be read at all (the others are still checked), 2 for
bad input.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any

from phonovault.core.backups.manifests import (
    KINDS,
    ExportReport,
    ManifestError,
    ManifestReport,
    export_bagit,
    export_catalog,
    export_sha256sum,
    find_manifests,
    verify_manifest,
)
from phonovault.core.catalog import Catalog
from phonovault.core.cli.output import EXIT_FINDINGS, EXIT_OK, Out
from phonovault.core.errors import PhonovaultError
from phonovault.core.library.roots import offline_reason


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    """Add this module's subcommands to the ``phonovault`` parser."""
    p = sub.add_parser("export", help="export checksum manifests, BagIt bags or the catalog")
    what = p.add_subparsers(dest="export_what", metavar="WHAT", required=True)
    m = what.add_parser(
        "manifest",
        parents=[common],
        help="a sha256sum manifest or a BagIt bag of a root, folder or album",
    )
    m.add_argument("--format", choices=("sha256sum", "bagit"), default="sha256sum")
    m.add_argument("--album", metavar="ARTIST/ALBUM", help="an album, as the albums view names it")
    m.add_argument(
        "paths", nargs="+", metavar="PATH", help="ROOT|FOLDER OUT, or with --album only OUT"
    )
    m.set_defaults(func=cmd_export_manifest)
    c = what.add_parser("catalog", parents=[common], help="every catalogued file's metadata")
    c.add_argument("--format", choices=("csv", "json"), default="csv")
    c.add_argument("out", metavar="OUT")
    c.set_defaults(func=cmd_export_catalog)

    p = sub.add_parser("manifests", help="verify .sha256/.md5/.sfv/.ffp files beside the music")
    act = p.add_subparsers(dest="manifests_action", metavar="ACTION", required=True)
    v = act.add_parser(
        "verify", parents=[common], help="check every manifest found (exit 1: a bad entry)"
    )
    v.add_argument(
        "paths", nargs="*", metavar="PATH", help="manifests or folders (default: every root)"
    )
    v.set_defaults(func=cmd_verify_manifests)


def _album(catalog: Catalog, text: str) -> tuple[str, str]:
    """ "Artist/Album" -> (artist, album); either may hold a slash (AC/DC), so every split
    is tried against the albums the catalog knows."""
    known = {(a.albumartist, a.album) for a in catalog.album_rows()}
    matches = [
        (text[:i], text[i + 1 :])
        for i, ch in enumerate(text)
        if ch == "/" and (text[:i], text[i + 1 :]) in known
    ]
    if len(matches) != 1:
        why = "no such album" if not matches else "ambiguous"
        raise PhonovaultError(f"--album {text!r}: {why} (see the albums view: ARTIST/ALBUM)")
    return matches[0]


def cmd_export_manifest(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    want = 1 if args.album else 2
    if len(args.paths) != want:
        usage = "--album ARTIST/ALBUM OUT" if args.album else "ROOT|FOLDER OUT"
        raise PhonovaultError(f"export manifest takes {usage}")
    target: Any = _album(catalog, args.album) if args.album else args.paths[0]
    dest = args.paths[-1]
    export = export_bagit if args.format == "bagit" else export_sha256sum
    report = export(catalog, target, dest)
    _print_export(out, args.format, report)
    return EXIT_FINDINGS if report.left_out else EXIT_OK


def _print_export(out: Out, fmt: str, r: ExportReport) -> None:
    for item in r.left_out:
        out.err.write(f"phonovault: warning: left out {item.path}: {item.reason}\n")
    if out.json:
        doc = {k: getattr(r, k) for k in r.__slots__}  # type: ignore[attr-defined]
        doc["left_out"] = [{"path": i.path, "reason": i.reason} for i in r.left_out]
        out.dump({"format": fmt, **doc})
        return
    how = f"{r.reused} stored, {r.computed} computed"
    if fmt == "bagit":
        how += f"; {r.linked} hard-linked, {r.files - r.linked} copied"
    out.line(f"{fmt}: {r.files} files ({how}) -> {r.out_path}")
    if r.left_out:
        out.line(f"  {len(r.left_out)} files left out, not certified (see the warnings)")


def cmd_export_catalog(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    count = export_catalog(catalog, args.out, args.format)
    if out.json:
        out.dump({"format": args.format, "files": count, "out_path": os.path.abspath(args.out)})
    else:
        out.line(f"catalog: {count} files -> {args.out}")
    return EXIT_OK


def _manifests(catalog: Catalog, paths: list[str], out: Out) -> list[str]:
    if paths:
        found: list[str] = []
        for path in paths:
            if os.path.isdir(path):
                found.extend(find_manifests(path))
            elif os.path.isfile(path):
                found.append(path)
            else:
                raise PhonovaultError(f"{path}: no such file or folder")
        return found
    found = []
    for root in catalog.roots():
        reason = offline_reason(catalog, root)
        if reason:
            out.err.write(f"phonovault: skipping {root.path}: {reason}\n")
            continue
        found.extend(find_manifests(root.path))
    return found


def cmd_verify_manifests(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    manifests = _manifests(catalog, args.paths, out)
    unknown = [m for m in manifests if os.path.splitext(m)[1].lower() not in KINDS]
    if unknown:
        raise PhonovaultError(f"{unknown[0]}: not a manifest ({', '.join(sorted(KINDS))})")
    reports: list[ManifestReport | _Unopened] = []
    for m in manifests:
        try:
            reports.append(verify_manifest(m))
        except ManifestError as exc:  # one manifest we cannot open must not hide the others
            reports.append(_Unopened(m, KINDS[os.path.splitext(m)[1].lower()], str(exc)))
    bad = any(not r.ok for r in reports)
    if out.json:
        out.dump({"manifests": [_report_doc(r) for r in reports], "ok": not bad})
    else:
        for r in reports:
            _print_report(out, r)
        if not reports:
            out.line("no manifests found")
    return EXIT_FINDINGS if bad else EXIT_OK


@dataclass(frozen=True, slots=True)
class _Unopened:
    """A manifest that could not be read at all: a failed manifest, reported in its place."""

    manifest: str
    kind: str
    error: str
    ok: bool = False


def _report_doc(r: ManifestReport | _Unopened) -> dict[str, Any]:
    if isinstance(r, _Unopened):
        return {
            "manifest": r.manifest,
            "kind": r.kind,
            "error": r.error,
            "counts": {},
            "entries": [],
        }
    return _entries_doc(r)


def _entries_doc(r: ManifestReport) -> dict[str, Any]:
    return {
        "manifest": r.manifest,
        "kind": r.kind,
        "counts": r.counts(),
        "entries": [
            {
                "line": e.line,
                "path": os.fsdecode(e.path) if e.path is not None else None,
                "state": e.state,
                "expected": e.expected,
                "actual": e.actual,
                "detail": e.detail,
            }
            for e in r.entries
        ],
    }


def _print_report(out: Out, r: ManifestReport | _Unopened) -> None:
    if isinstance(r, _Unopened):
        out.line(f"{out.paint('FAIL', 'error')} {r.error}")
        return
    counts = ", ".join(f"{n} {state}" for state, n in sorted(r.counts().items())) or "empty"
    mark = out.paint("ok", "ok") if r.ok else out.paint("FAIL", "error")
    out.line(f"{mark} {r.manifest}: {counts}")
    for e in r.entries:
        if e.state == "ok":
            continue
        name = os.fsdecode(e.path) if e.path is not None else "-"
        text = f"  {e.state}: {name}" + (f" ({e.detail})" if e.detail else "")
        out.line(out.paint(text, "error" if e.state != "unreadable" else "unreadable"))
