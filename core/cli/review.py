"""Reviewing what the catalog knows: ``status``, ``findings``, ``show``, and ``accept`` for a
change that was intended."""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING, Any

from phonovault.core.catalog import Catalog, FileRecord, HistoryEntry, Root
from phonovault.core.cli.output import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, Out, when
from phonovault.core.errors import PhonovaultError
from phonovault.core.fixity.judge import tag_changes_of
from phonovault.core.fixity.verify import accept
from phonovault.core.jobs import format_size
from phonovault.core.library.roots import absolute_path, locate, offline_reason

if TYPE_CHECKING:  # PyAV: only the command that needs it imports it
    from phonovault.core.integrity.checks import DecodeResult


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
    data = _record_doc(catalog, root, rec)
    from phonovault.core.integrity.decoding import (
        last_decode,  # PyAV: only for the command that needs it
    )

    decoded = last_decode(catalog, rec.id)
    if decoded is not None:
        data["decode_check"] = _decode_doc(*decoded)
    if out.json:
        data["history"] = [
            h.__dict__
            if hasattr(h, "__dict__")
            else {k: getattr(h, k) for k in h.__dataclass_fields__}
            for h in history
        ]
        out.dump(data)
        return EXIT_OK
    _print_show(data, rec, decoded, history, out)
    return EXIT_OK


def _record_doc(catalog: Catalog, root: Root, rec: FileRecord) -> dict[str, Any]:
    """The file's catalog record as ``show`` gives it: its absolute path, its raw tags
    parsed, and the field-by-field changes of its current fixity finding."""
    data = {
        k: getattr(rec, k)
        for k in rec.__dataclass_fields__
        if k not in ("relpath", "raw_tags", "path_text")
    }
    data["path"] = absolute_path(root, rec)
    data["raw_tags"] = json.loads(rec.raw_tags) if rec.raw_tags else {}
    data["changes"] = tag_changes_of(catalog, rec.id)
    return data


def _decode_doc(at: float, result: DecodeResult) -> dict[str, Any]:
    doc = {"at": at, "ok": result.ok, **json.loads(result.to_json())}
    doc["problems"] = [
        {"kind": p.kind, "message": p.message, "severity": p.severity} for p in result.problems
    ]
    return doc


# The record's fields ``show`` prints, in this order (when they have a value).
_SHOWN = (
    "state", "state_detail", "format", "codec", "duration", "sample_rate", "bit_depth",
    "channels", "bitrate", "size", "title", "artist", "album", "albumartist", "track",
    "tracktotal", "disc", "disctotal", "date", "genre", "mb_trackid", "mb_albumid",
    "tag_formats", "tag_error", "art_count", "art_width", "art_height", "file_hash",
    "audio_hash", "hash_algo", "audio_method", "audio_fallback", "sha256",
)  # fmt: skip


def _print_show(
    data: dict[str, Any], rec: FileRecord, decoded: tuple[float, DecodeResult] | None,
    history: list[HistoryEntry], out: Out,
) -> None:  # fmt: skip
    out.line(data["path"])
    for key in _SHOWN:
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
