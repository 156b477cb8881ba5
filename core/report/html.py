"""The health report as one self-contained HTML page (:func:`page`).

Everything is inline: CSS (light and dark follow ``prefers-color-scheme``; printing is always
light), charts drawn here as SVG whose colours come from the same CSS, no script, no font, no
URL. Every string that comes from the library — paths, tags, rule messages, reasons — goes
through :func:`esc`, so a file named ``<script>….flac`` is text on the page and nothing else.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence

from phonovault.core.encoding import printable
from phonovault.core.jobs import format_size
from phonovault.core.report.health import (
    DAY,
    FindingGroup,
    HealthReport,
    TargetHealth,
    groups_by_severity,
)

__all__ = ["esc", "page"]

SEVERITY_HEADINGS = {
    "error": ("Errors", "Files that are damaged, gone or unreadable. Deal with these first."),
    "warning": ("Warnings", "Changes that need your decision, and files that cannot be fully "
                "read or whose tags need care."),
    "info": ("Information", "Harmless changes already recorded. Nothing to do."),
}  # fmt: skip
STATE_CLASS = {"ok": "ok", "tags-changed": "info", "moved": "info", "audio-changed": "warn",
               "corrupt": "err", "missing": "err", "unreadable": "err"}  # fmt: skip
AGE_CLASS = {"never": "none", "7d": "ok", "30d": "ok", "90d": "info", "1y": "warn",
             "older": "err"}  # fmt: skip
SEVERITY_CLASS = {"error": "err", "warning": "warn", "info": "info"}
COPY_CLASS = {"match": "ok", "tags-differ": "ok", "stale": "warn", "moved": "info",
              "only-in-backup": "info", "corrupt": "err", "missing": "err",
              "unreadable": "err"}  # fmt: skip

CSS = """
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1c1c21; --muted: #62626b;
  --line: #dadade; --card: #f4f4f6; --ok: #2e7d32; --info: #1565c0; --warn: #b25d00;
  --err: #c62828; --none: #9a9aa2; }
@media (prefers-color-scheme: dark) { :root { --bg: #16161a; --fg: #e6e6ea; --muted: #a2a2ac;
  --line: #36363e; --card: #212127; --ok: #66bb6a; --info: #64b5f6; --warn: #ffb74d;
  --err: #ef6c6c; --none: #85858e; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1040px; padding: 28px 24px 48px; background: var(--bg);
  color: var(--fg); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 26px; margin: 0 0 6px; } h2 { font-size: 20px; margin: 0 0 10px; }
h3 { font-size: 16px; margin: 20px 0 6px; }
section { margin-top: 34px; padding-top: 16px; border-top: 1px solid var(--line); }
p { margin: 6px 0; } .muted, .hint { color: var(--muted); } .hint { margin-top: 0; }
code, .path { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size: 12.5px;
  overflow-wrap: anywhere; }
nav { margin: 14px 0 0; color: var(--muted); } nav a { color: inherit; margin-right: 14px; }
.verdict { display: inline-block; margin: 10px 0 4px; padding: 6px 14px; border-radius: 6px;
  font-weight: 600; font-size: 16px; border: 2px solid currentColor; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 10px 0 0; }
.meta dt { color: var(--muted); } .meta dd { margin: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0 14px; }
.card { background: var(--card); border-radius: 8px; padding: 10px 14px; min-width: 130px; }
.card b { display: block; font-size: 20px; } .card span { color: var(--muted); font-size: 12.5px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px;
  border-bottom: 1px solid var(--line); }
th { color: var(--muted); font-weight: 600; font-size: 12.5px; }
td.num, th.num { text-align: right; }
details { margin: 8px 0; padding: 8px 12px; background: var(--card); border-radius: 8px; }
summary { cursor: pointer; font-weight: 600; }
summary .count { font-weight: 400; color: var(--muted); margin-left: 6px; }
details table { font-size: 13px; } .more { color: var(--muted); font-style: italic; }
.badge { display: inline-block; min-width: 60px; text-align: center; font-size: 11.5px;
  padding: 1px 6px; border-radius: 4px; margin-right: 6px; border: 1px solid currentColor; }
.ok { color: var(--ok); } .info { color: var(--info); } .warn { color: var(--warn); }
.err { color: var(--err); } .none { color: var(--none); }
svg { display: block; max-width: 100%; height: auto; margin: 8px 0; color: var(--fg); }
svg text { fill: currentColor; font-size: 12px; font-family: system-ui, sans-serif; }
svg .ok { fill: var(--ok); } svg .info { fill: var(--info); } svg .warn { fill: var(--warn); }
svg .err { fill: var(--err); } svg .none { fill: var(--none); } svg .track { fill: var(--card); }
.legend span { margin-right: 16px; white-space: nowrap; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  background: currentColor; margin-right: 5px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12.5px; }
@media print {
  :root { --bg: #ffffff; --fg: #000000; --muted: #555555; --line: #cccccc; --card: #f3f3f3;
    --ok: #2e7d32; --info: #1565c0; --warn: #a35400; --err: #c62828; --none: #888888; }
  body { max-width: none; padding: 0; font-size: 11pt; } nav { display: none; }
  section { break-inside: auto; } tr, .card, svg, summary { break-inside: avoid; }
  h2, h3 { break-after: avoid; } details { background: none; padding: 0; }
}
"""


def esc(text: object) -> str:
    """Text for the page: undecodable file-name bytes as U+FFFD, markup characters escaped."""
    return html.escape(printable(str(text)), quote=True)


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "never"


def _ago(now: float, ts: float | None) -> str:
    if not ts:
        return "never"
    days = max(0.0, now - ts) / DAY
    if days < 1:
        return "today"
    if days < 60:
        return f"{days:.0f} days ago"
    return f"{days / 30.4:.0f} months ago" if days < 730 else f"{days / 365:.1f} years ago"


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


# -- charts --------------------------------------------------------------------------------


def bar_chart(rows: Sequence[tuple[str, int, str]], title: str) -> str:
    """Horizontal bars, one per (label, value, colour class); a value that is not zero
    always shows (3 corrupt files beside 200,000 good ones must not vanish)."""
    top = max((v for _l, v, _c in rows), default=0) or 1
    width, left, span, step = 680, 150, 420, 26
    parts = [f'<svg viewBox="0 0 {width} {len(rows) * step + 4}" width="{width}" role="img" '
             f'aria-label="{esc(title)}"><title>{esc(title)}</title>']  # fmt: skip
    for i, (label, value, cls) in enumerate(rows):
        y = i * step + 2
        length = 0 if not value else max(3, round(span * value / top))
        bar = f'<rect class="{cls}" x="{left}" y="{y + 2}" width="{length}" height="18" rx="3"/>'
        parts.append(
            f'<text x="{left - 10}" y="{y + 15}" text-anchor="end">{esc(label)}</text>'
            f'<rect class="track" x="{left}" y="{y + 2}" width="{span}" height="18" rx="3"/>'
            + (bar if length else "")
            + f'<text x="{left + span + 10}" y="{y + 15}">{value:,}</text>'
        )
    return "".join(parts) + "</svg>"


def column_chart(rows: Sequence[tuple[str, int, str]], title: str) -> str:
    """Vertical bars (a histogram), one per (label, value, colour class)."""
    top = max((v for _l, v, _c in rows), default=0) or 1
    col, gap, high = 96, 16, 150
    width = len(rows) * (col + gap) + gap
    parts = [f'<svg viewBox="0 0 {width} {high + 50}" width="{width}" role="img" '
             f'aria-label="{esc(title)}"><title>{esc(title)}</title>']  # fmt: skip
    for i, (label, value, cls) in enumerate(rows):
        x = gap + i * (col + gap)
        h = 0 if not value else max(2, round(high * value / top))
        bar = f'<rect class="{cls}" x="{x}" y="{18 + high - h}" width="{col}" height="{h}" rx="3"/>'
        parts.append(
            f'<rect class="track" x="{x}" y="18" width="{col}" height="{high}" rx="3"/>'
            + (bar if h else "")
            + f'<text x="{x + col / 2}" y="13" text-anchor="middle">{value:,}</text>'
            f'<text x="{x + col / 2}" y="{high + 36}" text-anchor="middle">{esc(label)}</text>'
        )
    return "".join(parts) + "</svg>"


def stacked_bar(parts: Sequence[tuple[str, int, str]], title: str) -> str:
    """One bar split into shares, with a legend below it."""
    total = sum(v for _l, v, _c in parts)
    width, x = 680, 0.0
    svg = [f'<svg viewBox="0 0 {width} 28" width="{width}" role="img" aria-label="{esc(title)}">'
           f'<title>{esc(title)}</title><rect class="track" x="0" y="2" width="{width}" '
           'height="24" rx="4"/>']  # fmt: skip
    for _label, value, cls in parts:
        if value and total:
            w = max(2.0, width * value / total)
            svg.append(f'<rect class="{cls}" x="{x:.1f}" y="2" width="{w:.1f}" height="24"/>')
            x += w
    legend = "".join(
        f'<span class="{cls}"><i></i><span style="color: var(--fg)">{esc(label)}: '
        f"{value:,}{f' ({100 * value / total:.1f} %)' if total else ''}</span></span>"
        for label, value, cls in parts
    )
    return "".join(svg) + f'</svg><p class="legend">{legend}</p>'


# -- sections ------------------------------------------------------------------------------


def page(r: HealthReport) -> str:
    day = time.strftime("%Y-%m-%d", time.localtime(r.generated))
    body = "\n".join(
        (_header(r), _roots(r), _summary(r), _freshness(r), _findings(r), _backups(r), _footer(r))
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="Phonovault {esc(r.version)}">\n'
        f"<title>Music library health report, {day}</title>\n<style>{CSS}</style>\n"
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _verdict(r: HealthReport) -> str:
    counts, s = r.severity_counts(), r.summary
    if not r.needs_attention:
        return (
            '<p class="verdict ok">Healthy</p>'
            f"<p>No errors or warnings about the {_plural(s.files, 'file')}.</p>"
        )
    said = [_plural(counts[k], k) for k in ("error", "warning") if counts[k]]
    if s.need_attention:
        said.insert(0, _plural(s.need_attention, "file") + " need attention")
    if r.offline_roots:
        said.append(_plural(len(r.offline_roots), "library folder") + " offline")
    cls = "err" if counts["error"] or s.need_attention else "warn"
    return f'<p class="verdict {cls}">Needs attention</p><p>{esc(" · ".join(said))}</p>'


def _header(r: HealthReport) -> str:
    zone = time.strftime("%z", time.localtime(r.generated))
    return (
        "<header>\n<h1>Music library health report</h1>\n" + _verdict(r) + '\n<dl class="meta">'
        f"<dt>Generated</dt><dd>{esc(_when(r.generated))} (UTC{esc(zone)})</dd>"
        f"<dt>Phonovault</dt><dd>{esc(r.version)}</dd>"
        f'<dt>Catalog</dt><dd class="path">{esc(r.catalog)}</dd></dl>\n'
        '<nav><a href="#folders">Folders</a><a href="#summary">Summary</a>'
        '<a href="#verification">Verification</a><a href="#findings">Findings</a>'
        '<a href="#backups">Backups</a></nav>\n</header>'
    )


def _roots(r: HealthReport) -> str:
    if not r.roots:
        return '<section id="folders"><h2>Library folders</h2><p>None registered.</p></section>'
    rows = "".join(
        f'<tr><td class="path">{esc(x.path)}</td>'
        + (
            '<td class="ok">online</td>'
            if x.online
            else f'<td class="err">offline: {esc(x.offline_reason)}</td>'
        )
        + f'<td class="num">{x.files:,}</td><td class="num">{esc(format_size(x.bytes))}</td>'
        f"<td>{esc(_when(x.last_scan))}</td></tr>"
        for x in r.roots
    )
    note = (
        '<p class="hint">Files on an offline folder keep their last known state: nothing there '
        "was judged.</p>"
        if r.offline_roots
        else ""
    )
    return (
        '<section id="folders"><h2>Library folders</h2><table><thead><tr><th>Folder</th>'
        '<th>Now</th><th class="num">Files</th><th class="num">Size</th><th>Last scan</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>{note}</section>"
    )


def _summary(r: HealthReport) -> str:
    s = r.summary
    cards = [
        ("Files", f"{s.files:,}", ""),
        ("Total size", format_size(s.bytes), ""),
        ("Albums", f"{s.albums:,}", ""),
        ("Healthy", f"{s.healthy:,}", "ok"),
        ("Warnings only", f"{s.warnings:,}", "warn" if s.warnings else "ok"),
        ("Need attention", f"{s.need_attention:,}", "err" if s.need_attention else "ok"),
    ]
    html_cards = "".join(
        f'<div class="card"><b class="{cls}">{esc(value)}</b><span>{esc(label)}</span></div>'
        for label, value, cls in cards
    )
    rows = [(state, n, STATE_CLASS.get(state, "none")) for state, n in s.states.items()]
    return (
        f'<section id="summary"><h2>Summary</h2><div class="cards">{html_cards}</div>'
        "<h3>Files by state (as of their last verification)</h3>"
        + bar_chart(rows, "Files by state")
        + '<p class="hint">A file needs attention when it is corrupt, missing or unreadable, '
        "when its audio changed, or when a check found an error in it (a decoding error, "
        "unreadable tags). Warnings only: its audio is fine, but a tag check or a decode "
        "check has advice about it (see Findings).</p></section>"
    )


def _freshness(r: HealthReport) -> str:
    f = r.freshness
    rows = [(b.label, b.files, AGE_CLASS.get(b.key, "none")) for b in f.buckets]
    oldest = "No file has been verified yet."
    if f.oldest:
        when, ago = esc(_when(f.oldest)), esc(_ago(r.generated, f.oldest))
        oldest = f"The oldest verification is from {when} ({ago})."
    never = next((b.files for b in f.buckets if b.key == "never"), 0)
    return (
        '<section id="verification"><h2>Verification freshness</h2>'
        f"<p><b>{100 * f.coverage:.1f} %</b> of the {_plural(f.files, 'present file')} were read "
        f"in full and checked in the last 30 days (scrub coverage: {f.recent:,}). {oldest}"
        + (f" {_plural(never, 'file')} never were." if never else "")
        + "</p>"
        + column_chart(rows, "Files by time since their last verification")
        + '<p class="hint">Run <code>phonovault verify --oldest 10</code> daily to read the '
        "least recently verified tenth of the library, like a RAID scrub.</p></section>"
    )


def _findings(r: HealthReport) -> str:
    counts = r.severity_counts()
    head = (
        '<section id="findings"><h2>Findings</h2><p>'
        + " · ".join(
            f'<span class="{SEVERITY_CLASS[s]}">{counts[s]:,} {label}</span>'
            for s, label in (("error", "errors"), ("warning", "warnings"), ("info", "notes"))
        )
        + "</p>"
    )
    if not r.findings:
        head += "<p>Nothing was found: no damage, no changes, no tag problems.</p>"
    parts = [head]
    for severity, groups in groups_by_severity(r.findings).items():
        if not groups:
            continue
        heading, hint = SEVERITY_HEADINGS.get(severity, (severity.capitalize(), ""))
        total = sum(g.count for g in groups)
        parts.append(f'<h3>{esc(heading)} ({total:,})</h3><p class="hint">{esc(hint)}</p>')
        parts.extend(_group(g, r.per_kind) for g in groups)
    parts.append(_mutes(r))
    return "\n".join(parts) + "</section>"


def _group(g: FindingGroup, per_kind: int) -> str:
    cls = SEVERITY_CLASS.get(g.severity, "none")
    rows = "".join(
        f'<tr><td class="path">{esc(i.path or "(not about one file)")}</td>'
        f"<td>{esc(i.message)}</td></tr>"
        for i in g.items
    )
    more = (
        f'<p class="more">… and {g.more:,} more (the first {per_kind:,} by path are listed; '
        f"<code>phonovault findings --all --kind {esc(g.kind)}</code> lists them all)</p>"
        if g.more
        else ""
    )
    fix = f"<p><b>What to do:</b> {esc(g.fix)}</p>" if g.fix else ""
    return (
        f"<details{'' if g.severity == 'info' else ' open'}><summary>"
        f'<span class="badge {cls}">{esc(g.severity)}</span>{esc(g.title)}'
        f'<span class="count">{_plural(g.count, "finding")} · <code>{esc(g.kind)}</code>'
        f"</span></summary><p>{esc(g.explanation)}</p>{fix}"
        f"<table><thead><tr><th>File</th><th>What was found</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{more}</details>"
    )


def _mutes(r: HealthReport) -> str:
    if not r.mutes:
        return ""
    rows = "".join(
        f'<tr><td><code>{esc(m.rule)}</code></td><td class="path">{esc(m.target)}</td>'
        f"<td>{esc(m.reason)}</td><td>{esc(_when(m.since))}</td></tr>"
        for m in r.mutes
    )
    return (
        f'<h3>Muted ({len(r.mutes):,})</h3><p class="hint">Rules you silenced for a file or an '
        "album, with your reasons; their findings are left out above.</p><table><thead><tr>"
        "<th>Rule</th><th>For</th><th>Reason</th><th>Since</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _backups(r: HealthReport) -> str:
    b = r.backups
    none, one, more = b.bands
    if not b.targets:
        return (
            '<section id="backups"><h2>Backups</h2><p class="warn">No backup drive is '
            "registered: a file that rots or is deleted cannot be restored by Phonovault. "
            "Add one with <code>phonovault backups add FOLDER --root LIBRARY</code>.</p></section>"
        )
    rows = "".join(_target_row(t, r.generated) for t in b.targets)
    return (
        '<section id="backups"><h2>Backups</h2><table><thead><tr><th>Backup folder</th>'
        "<th>Backs up</th><th>Now</th><th>Last verified</th><th>Copies (last verification)"
        f"</th></tr></thead><tbody>{rows}</tbody></table>"
        "<h3>Coverage: verified good copies per file</h3>"
        + stacked_bar(
            [("no good copy", none, "err"), ("one", one, "warn"), ("two or more", more, "ok")],
            "Files by number of verified good copies",
        )
        + '<p class="hint">A copy counts when the last verification of its backup found it '
        "identical to the library file (or differing only in tags).</p></section>"
    )


def _target_row(t: TargetHealth, now: float) -> str:
    state = (
        '<td class="ok">online</td>'
        if t.online
        else f'<td class="err">offline: {esc(t.offline_reason)}</td>'
    )
    ago = f'<br><span class="muted">{esc(_ago(now, t.last_verified))}</span>'
    ago = ago if t.last_verified else ""
    copies = ", ".join(
        f'<span class="{COPY_CLASS.get(k, "none")}">{esc(k)}</span> {n:,}'
        for k, n in sorted(t.copies.items(), key=lambda kv: -kv[1])
    )
    return (
        f'<tr><td class="path">{esc(t.path)}</td><td class="path">{esc(t.root)}</td>{state}'
        f"<td>{esc(_when(t.last_verified))}{ago}</td><td>{copies or 'never verified'}</td></tr>"
    )


def _footer(r: HealthReport) -> str:
    return (
        f"<footer>Made by Phonovault {esc(r.version)} from its catalog, without opening any "
        "music file. This page is self-contained: it loads nothing and runs no script. "
        "<code>phonovault report --format json</code> gives the same data for scripts.</footer>"
    )
