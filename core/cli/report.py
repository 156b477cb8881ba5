"""``phonovault report``: the health report, as a self-contained page or a JSON document.

The same core call the GUI's *Export Health Report…* makes (:mod:`phonovault.core.report.health`);
this module parses arguments and prints. Exit codes follow ``status``: 0 when the library is
healthy, 1 when the report holds errors or warnings (or a library folder is offline), 2 when
it cannot be made or written.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from phonovault.core.catalog import Catalog
from phonovault.core.cli.output import EXIT_FINDINGS, EXIT_OK, Out
from phonovault.core.config import Settings
from phonovault.core.errors import PhonovaultError
from phonovault.core.jobs import format_size
from phonovault.core.plugin_api import load_plugins
from phonovault.core.report.health import FORMATS, PER_KIND, HealthReport, build_report
from phonovault.core.report.output import format_for, render, write_report
from phonovault.core.rules.engine import RuleInfo, list_rules


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    """Add this module's subcommand to the ``phonovault`` parser."""
    p = sub.add_parser(
        "report",
        parents=[common],
        help="write a health report, HTML or JSON (exit 1: errors or warnings)",
    )
    p.add_argument("out", metavar="OUT", help="the file to write ('-': standard output)")
    p.add_argument(
        "--format",
        choices=FORMATS,
        help="html or json (default: from OUT's suffix, else html)",
    )
    p.add_argument(
        "--per-kind",
        type=int,
        default=PER_KIND,
        metavar="N",
        help=f"files listed for each kind of finding; the rest are counted (default {PER_KIND})",
    )
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    if args.per_kind < 0:
        raise PhonovaultError("--per-kind must be 0 or more")
    rules = list_rules(load_plugins(), Settings.load())
    if args.out == "-":
        report = _to_stdout(args, catalog, out, rules)
    else:
        fmt = args.format or format_for(args.out)
        report = write_report(catalog, args.out, fmt, rules=rules, per_kind=args.per_kind)
        path = os.path.abspath(args.out)
        size = os.path.getsize(path)
        if out.json:
            out.dump(
                {
                    "written": path,
                    "format": fmt,
                    "bytes": size,
                    "healthy": not report.needs_attention,
                    "files": report.summary.files,
                    "need_attention": report.summary.need_attention,
                    "findings": report.severity_counts(),
                    "offline_roots": [r.path for r in report.offline_roots],
                }
            )
        else:
            out.line(f"wrote the health report to {path} ({fmt}, {format_size(size)}): "
                     f"{_verdict(report, out)}")  # fmt: skip
    return EXIT_FINDINGS if report.needs_attention else EXIT_OK


def _to_stdout(
    args: argparse.Namespace, catalog: Catalog, out: Out, rules: Sequence[RuleInfo]
) -> HealthReport:
    """OUT '-': the report itself is the output (with --json it must be the JSON one, or
    stdout would carry two documents)."""
    fmt = args.format or ("json" if out.json else "html")
    if out.json and fmt != "json":
        raise PhonovaultError(
            "--json with OUT '-' prints the JSON report itself; use --format json, or name a file"
        )
    report = build_report(catalog, rules=rules, per_kind=args.per_kind)
    out.stream.write(render(report, fmt))
    out.stream.flush()
    return report


def _verdict(report: HealthReport, out: Out) -> str:
    if not report.needs_attention:
        return out.paint(f"healthy, {report.summary.files:,} files", "ok")
    counts = report.severity_counts()
    said = [f"{report.summary.need_attention:,} file(s) need attention"]
    said += [out.paint(f"{counts[s]:,} {s}(s)", s) for s in ("error", "warning") if counts[s]]
    if report.offline_roots:
        said.append(out.paint(f"{len(report.offline_roots)} folder(s) offline", "offline"))
    return ", ".join(said)
