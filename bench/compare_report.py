"""The comparison's table, its derived rows, and the issue's targets checked against them."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any

from compare_measure import Sample


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    tool: str
    label: str
    mode: str  # "warm" or "cold"
    argv: list[str]
    matches: str | None
    seconds: list[float]  # every run
    median: float | None
    files_per_s: float | None
    mb_per_s: float | None
    vs_pv: float | None  # median / median of the matching Phonovault step; > 1: PV faster
    peak_rss_mb: float | None  # largest single process (ru_maxrss), worst run
    tree_mb: float | None  # whole process tree (sampled PSS sum), worst run
    cpu_s: float | None  # user + system, median
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = round(v, 4)
        d["seconds"] = [round(s, 4) for s in self.seconds]
        return d


def derived_rows(rows: list[Row], samples: dict[tuple[str, str], list[Sample]], files: int,
                 nbytes: int, modes: list[str]) -> list[Row]:  # fmt: skip
    """beets needs two commands for what one first scan does (tags, then checksums): their
    sum, round by round."""
    out = []
    for mode in modes:
        imp, add = samples.get(("beets.import", mode)), samples.get(("beets.add", mode))
        scan = _find(rows, "pv.scan", mode)
        if not imp or not add:
            continue
        sums = [a.seconds + b.seconds for a, b in zip(imp, add, strict=False)]
        med = statistics.median(sums)
        out.append(Row(
            key="beets.import+add", tool="beets", label="import + check -a (tags + SHA-256)",
            mode=mode, argv=[], matches="pv.scan", seconds=sums, median=med,
            files_per_s=files / med, mb_per_s=nbytes / 1e6 / med,
            vs_pv=med / scan.median if scan and scan.median else None,
            peak_rss_mb=max(s.peak_rss_mb for s in imp + add),
            tree_mb=max(s.tree_mb for s in imp + add),
            cpu_s=statistics.median(a.cpu_seconds + b.cpu_seconds
                                    for a, b in zip(imp, add, strict=False)),
        ))  # fmt: skip
    return out


def _find(rows: list[Row], key: str, mode: str) -> Row | None:
    return next((r for r in rows if r.key == key and r.mode == mode and r.median), None)


def targets(rows: list[Row], variant: str, files: int, modes: list[str]) -> list[dict[str, Any]]:
    """The issue's targets, per cache mode: PASS, FAIL, or n/a with the reason."""
    smoke = variant == "small"  # start-up dominates 60 short files: a smoke run, no verdicts
    big = not variant.startswith(("tiny-", "small"))
    out: list[dict[str, Any]] = []
    for mode in modes:

        def ratio(key: str, base: str, mode: str = mode) -> float | None:
            a, b = _find(rows, key, mode), _find(rows, base, mode)
            return a.median / b.median if a and b else None  # type: ignore[operator]

        scan, rescan = _find(rows, "pv.scan", mode), _find(rows, "pv.rescan", mode)
        verify, limit = _find(rows, "pv.verify", mode), _find(rows, "limit.1", mode)
        checks = [
            ("first scan faster than bitrot's first run", ratio("bitrot.first", "pv.scan"),
             1.0, ">", None),
            ("first scan at least 5x faster than beet import -A",
             ratio("beets.import", "pv.scan"), 5.0, ">=", None),
            ("full verify at least 1.5x faster than bitrot (re-check)",
             ratio("bitrot.recheck", "pv.verify"), 1.5, ">=", None),
            ("full verify faster than chkbit (check)", ratio("chkbit.check", "pv.verify"),
             1.0, ">", None),
            ("verify throughput at least 70% of read + BLAKE3 (1 thread)",
             verify.mb_per_s / limit.mb_per_s if verify and limit and verify.mb_per_s
             and limit.mb_per_s else None, 0.7, ">=",
             None if big else "needs the large files of the default library"),
            ("no-change rescan of 100,000 files under 3 s",
             rescan.median if rescan else None, 3.0, "<",
             None if files >= 100_000 else "needs --files 100000"),
            # The whole process tree: a large scan reads in worker processes.
            ("peak memory of a 100,000-file scan under 300 MB (process tree)",
             max(scan.peak_rss_mb, scan.tree_mb) if scan else None, 300.0, "<",
             None if files >= 100_000 else "needs --files 100000"),
        ]  # fmt: skip
        for text, value, limit_, op, not_here in checks:
            if value is None:
                result = "n/a"
                why = not_here or "a step it needs did not run"
            else:
                met = {">": value > limit_, ">=": value >= limit_, "<": value < limit_}[op]
                if smoke and not not_here:
                    not_here = "smoke library; the targets apply to the full ones"
                result = "n/a" if not_here else ("PASS" if met else "FAIL")
                why = not_here
            out.append({"target": text, "mode": mode, "value": value, "op": op,
                        "threshold": limit_, "result": result, "note": why})  # fmt: skip
    return out


def _num(v: float | None, fmt: str) -> str:
    width = int(fmt.split(".")[0].rstrip(",") or 0)
    return f"{'-':>{width}}" if v is None else format(v, fmt)


def print_table(doc: dict[str, Any]) -> None:
    lib = doc["library"]
    print(f"\nPhonovault vs bit-rot tools: {doc['variant']} library, {lib['files']:,} files, "
          f"{lib['bytes'] / 1e9:.2f} GB; median of {doc['runs']} run(s); "
          f"cold cache: {doc['cold']}")  # fmt: skip
    head = (f"{'mode':4}  {'tool':11} {'step':40} {'s':>7} {'min-max':>13} {'files/s':>8} "
            f"{'MB/s':>6} {'xPV':>6} {'peakMB':>6} {'treeMB':>6} {'CPU s':>6}")  # fmt: skip
    print(head)
    print("-" * len(head))
    for r in doc["rows"]:
        secs = r["seconds"]
        span = f"{min(secs):.2f}-{max(secs):.2f}" if secs else "-"
        what = "ERROR: " + r["error"][:60] if r["error"] and not secs else r["label"]
        print(f"{r['mode']:4}  {r['tool']:11} {what[:40]:40} {_num(r['median'], '7.2f')} "
              f"{span:>13} {_num(r['files_per_s'], '8,.0f')} {_num(r['mb_per_s'], '6,.0f')} "
              f"{_num(r['vs_pv'], '6.2f')} {_num(r['peak_rss_mb'], '6.0f')} "
              f"{_num(r['tree_mb'], '6.0f')} {_num(r['cpu_s'], '6.1f')}")  # fmt: skip
    print(
        "xPV: this step's time / Phonovault's matching step's (first scan for first runs, "
        "verify for re-checks); above 1 = Phonovault faster.\npeakMB: largest single "
        "process (ru_maxrss); treeMB: whole process tree (PSS, sampled every 50 ms)."
    )
    for name, why in doc["skipped"].items():
        print(f"skipped {name}: {why}")
    print("\nTargets")
    for t in doc["targets"]:
        value = "-" if t["value"] is None else f"{t['value']:.2f}"
        note = f"  ({t['note']})" if t["note"] else ""
        print(f"  {t['result']:4}  {t['mode']:4}  {t['target']}: {value} "
              f"{t['op']} {t['threshold']:g}{note}")  # fmt: skip
    gui = doc.get("gui")
    if gui:
        print(f"\nGUI ({gui.get('command')}, {gui.get('seconds', 0):.0f} s)")
        if gui.get("error"):
            print(f"  ERROR: {gui['error']}")
        for label, value in gui.get("figures", []):
            print(f"  {label:55} {value}")


def markdown(doc: dict[str, Any]) -> str:
    """The run's table, targets and GUI figures as Markdown, for bench/RESULTS.md."""
    lib = doc["library"]
    out = [
        f"{lib['files']:,} files, {lib['bytes'] / 1e9:.2f} GB; median of {doc['runs']} "
        f"run(s); cold cache: {doc['cold']}.",
        "",
        "| cache | tool | step | median s | min–max | files/s | MB/s | × PV | peak MB | tree MB "
        "| CPU s |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in doc["rows"]:
        secs = r["seconds"]
        span = f"{min(secs):.2f}–{max(secs):.2f}" if secs else "–"
        what = "ERROR: " + r["error"][:60] if r["error"] and not secs else r["label"]
        what = what.replace("|", "\\|")  # a pipe in a label would end the cell
        out.append(
            f"| {r['mode']} | {r['tool']} | {what} | {_num(r['median'], '.2f').strip()} | "
            f"{span} | {_num(r['files_per_s'], ',.0f').strip()} | "
            f"{_num(r['mb_per_s'], ',.0f').strip()} | {_num(r['vs_pv'], '.2f').strip()} | "
            f"{_num(r['peak_rss_mb'], '.0f').strip()} | {_num(r.get('tree_mb'), '.0f').strip()} | "
            f"{_num(r.get('cpu_s'), '.1f').strip()} |"
        )
    out += ["", "| target | cache | measured | result |", "|---|---|---:|---|"]
    for t in doc["targets"]:
        value = "–" if t["value"] is None else f"{t['value']:.2f} {t['op']} {t['threshold']:g}"
        note = f" ({t['note']})" if t["note"] else ""
        out.append(f"| {t['target']} | {t['mode']} | {value} | **{t['result']}**{note} |")
    gui = doc.get("gui")
    if gui and gui.get("figures"):
        out += ["", "| GUI figure | value |", "|---|---|"]
        out += [f"| {label} | {value} |" for label, value in gui["figures"]]
    return "\n".join(out) + "\n"


if __name__ == "__main__":  # python bench/compare_report.py bench/out/compare-NAME.json
    import json
    import sys
    from pathlib import Path

    print(markdown(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))))
