"""The health report written out: as JSON for scripts (stable keys), as the page
:mod:`.html` renders, and to a file, atomically, never over music or the catalog."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

from phonovault.core.catalog import Catalog
from phonovault.core.durable import atomic_file
from phonovault.core.encoding import json_safe
from phonovault.core.errors import NotInCatalogError
from phonovault.core.library.roots import locate
from phonovault.core.report.health import (
    FORMATS,
    PER_KIND,
    REPORT_VERSION,
    HealthReport,
    ReportError,
    build_report,
)
from phonovault.core.report.html import page
from phonovault.core.rules.engine import RuleInfo
from phonovault.core.tags.reading import AUDIO_EXTENSIONS

__all__ = ["format_for", "render", "render_html", "render_json", "to_doc", "write_report"]


# -- JSON ------------------------------------------------------------------------------------


def to_doc(r: HealthReport) -> dict[str, Any]:
    """The report as plain JSON-ready data (paths still carry surrogate escapes)."""
    fresh, backups, (none, one, more) = r.freshness, r.backups, r.backups.bands
    return {
        "report_version": REPORT_VERSION,
        "generated": r.generated,
        "phonovault_version": r.version,
        "catalog": r.catalog,
        "healthy": not r.needs_attention,
        "roots": [{"path": x.path, "online": x.online, "offline_reason": x.offline_reason,
                   "last_scan": x.last_scan, "files": x.files, "bytes": x.bytes,
                   "gone": x.gone} for x in r.roots],
        "summary": {"files": r.summary.files, "bytes": r.summary.bytes,
                    "albums": r.summary.albums, "healthy": r.summary.healthy,
                    "warnings_only": r.summary.warnings,
                    "need_attention": r.summary.need_attention, "states": r.summary.states},
        "verification": {"files": fresh.files, "oldest": fresh.oldest,
                         "ages": {b.key: b.files for b in fresh.buckets},
                         "verified_last_30_days": fresh.recent,
                         "scrub_coverage": round(fresh.coverage, 4)},
        "findings": {
            "counts": r.severity_counts(),
            "per_kind_listed": r.per_kind,
            "kinds": [{"kind": g.kind, "severity": g.severity, "title": g.title,
                       "explanation": g.explanation, "fix": g.fix, "count": g.count,
                       "more": g.more,
                       "files": [{"path": i.path, "message": i.message} for i in g.items]}
                      for g in r.findings],
        },
        "mutes": [{"rule": m.rule, "target": m.target, "reason": m.reason, "since": m.since}
                  for m in r.mutes],
        "backups": {
            "targets": [{"path": t.path, "root": t.root, "online": t.online,
                         "offline_reason": t.offline_reason, "last_verified": t.last_verified,
                         "copies": t.copies} for t in backups.targets],
            "good_copies": {str(k): n for k, n in sorted(backups.good_copies.items())},
            "files_without_good_copy": none, "files_with_one": one, "files_with_two_or_more": more,
        },
    }  # fmt: skip


def render_json(report: HealthReport) -> str:
    """The report for scripts: stable keys, and beside a path that is not UTF-8 its exact
    bytes as ``<key>_b64`` (the convention of every ``--json`` output)."""
    return json.dumps(json_safe(to_doc(report)), indent=2, ensure_ascii=False) + "\n"


def render_html(report: HealthReport) -> str:
    """The report as one self-contained page (see :mod:`.html`)."""
    return page(report)


def render(report: HealthReport, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ReportError(f"unknown report format {fmt!r} (use {' or '.join(FORMATS)})")
    return render_html(report) if fmt == "html" else render_json(report)


def format_for(path: str | os.PathLike[str], default: str = "html") -> str:
    """The format a file name asks for: ``.json`` is JSON, ``.html``/``.htm`` HTML."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    return {".json": "json", ".html": "html", ".htm": "html"}.get(suffix, default)


# -- writing it ------------------------------------------------------------------------------


def write_report(
    catalog: Catalog,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    now: float | None = None,
    rules: Iterable[RuleInfo] | None = None,
    per_kind: int = PER_KIND,
) -> HealthReport:
    """Build the report and write it to ``path`` (``fmt``: html or json; default from the
    name). Atomic: a temp file beside it, fsynced, renamed over; an interrupted write never
    leaves half a report. Refuses a name that looks like music, the catalog itself, or a
    file the catalog knows, so a slip of the finger cannot replace a song."""
    target = os.path.abspath(os.fspath(path))
    fmt = fmt or format_for(target)
    if fmt not in FORMATS:
        raise ReportError(f"unknown report format {fmt!r} (use {' or '.join(FORMATS)})")
    _check_destination(catalog, target)
    report = build_report(catalog, now=now, rules=rules, per_kind=per_kind)
    _atomic_write(target, render(report, fmt).encode("utf-8"))
    return report


def _check_destination(catalog: Catalog, target: str) -> None:
    name = os.path.basename(target)
    if os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS:
        raise ReportError(f"{target}: refusing to write a report to a music file name; "
                          "name it .html or .json")  # fmt: skip
    if os.path.isdir(target):
        raise ReportError(f"{target} is a folder; name the report file")
    if os.path.exists(target):
        for suffix in ("", "-wal", "-shm", "-journal"):
            own = os.fspath(catalog.path) + suffix
            if os.path.exists(own) and os.path.samefile(own, target):
                raise ReportError(f"{target} is the catalog itself; name another file")
    try:
        locate(catalog, target)
    except NotInCatalogError:
        return
    raise ReportError(f"{target} is a file in your library; name another file")


def _atomic_write(target: str, data: bytes) -> None:
    """Write ``data`` to ``target`` all at once (durable.atomic_file: on error ``target`` is
    as it was)."""
    try:
        with atomic_file(target) as fh:
            fh.write(data)
    except OSError as exc:
        raise ReportError(f"cannot write the report to {target}: {exc.strerror or exc}") from exc
