"""Phonovault against the tools people use for bit rot, side by side, on the same files.

    python bench/compare.py                 # 2,000 tracks of 3-5 min, every format (~15 GB)
    python bench/compare.py --small         # 60 short files, a CI smoke run (seconds)
    python bench/compare.py --files 100000  # 100k tiny files: rescan time, scan memory
    python bench/compare.py --runs 5 --cold yes --tools phonovault,bitrot --no-gui

Times, in one run, median of --runs rounds, with a warm page cache and (when the machine lets
us drop it) a cold one: Phonovault's first scan, no-change rescan and full verify (the real
``phonovault`` command, fresh catalog); bitrot's first run and re-check; chkbit init and check;
``beet import -A -C -W -q`` into a fresh beets DB; beets-check ``beet check -a`` and ``beet
check``; ``sha256sum`` over the same files; and the machine's limit (read + BLAKE3 in one
process). The competitors install into bench/.tools-venv (pinned; --install-tools, automatic
except with --small). Prints one table and the issue's targets (PASS/FAIL), runs
bench/gui_bench.py for the GUI figures, and writes everything to bench/out/compare-NAME.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from compare_library import Library, clean_tool_state, ensure_library, spec_for
from compare_machine import gui_figures, machine_info
from compare_measure import MeasureError, Sample, drop_caches, measure, read_all
from compare_report import Row, derived_rows, print_table, targets
from compare_tools import TOOLS, Ctx, Step, Tool, tools_venv, versions

HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="60 short files; 1 warm run; seconds")
    ap.add_argument("--files", type=int, help="N tiny (0.2 s) files instead, e.g. 100000")
    ap.add_argument("--tracks", type=int, help="tracks in the default library (2000)")
    ap.add_argument("--minutes", type=lambda s: tuple(map(float, s.split("-"))),
                    help="track durations, e.g. 3-5 (the default)")  # fmt: skip
    ap.add_argument("--runs", type=int, help="rounds; the median is reported (3; --small 1)")
    ap.add_argument("--cold", choices=("auto", "yes", "no"), default=None,
                    help="also run with the page cache dropped before every step "
                         "(auto: when permitted; --small: no)")  # fmt: skip
    ap.add_argument("--tools", help="comma-separated subset of: " + ",".join(t.name for t in TOOLS))
    ap.add_argument(
        "--install-tools",
        action="store_true",
        help="make bench/.tools-venv if missing (always done without --small)",
    )
    ap.add_argument(
        "--python",
        default=sys.executable,
        help="the interpreter whose phonovault is measured (its bin/phonovault)",
    )
    ap.add_argument("--workers", type=int, help="phonovault --workers (default: its own)")
    ap.add_argument("--no-gui", action="store_true", help="skip bench/gui_bench.py")
    ap.add_argument(
        "--gui-only", action="store_true", help="only rerun gui_bench.py into the existing JSON"
    )
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--json", type=Path, help="where to write (bench/out/compare-NAME.json)")
    args = ap.parse_args(argv)
    args.runs = args.runs or (1 if args.small else 3)
    args.cold = args.cold or ("no" if args.small else "auto")
    return args


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    spec = spec_for(small=args.small, files=args.files, tracks=args.tracks, minutes=args.minutes)
    if args.gui_only:
        return gui_only(args, args.out / f"compare-{spec.name}.json")
    lib = ensure_library(spec, args.out, log=log)
    work = args.out / f"compare-work-{spec.name}"
    (work / "logs").mkdir(parents=True, exist_ok=True)
    xdg = {k: str(work / "xdg" / k.lower()) for k in
           ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")}  # fmt: skip
    env = {**_base_env(), **xdg, "NO_COLOR": "1"}
    pv = Path(args.python).parent / "phonovault"
    ctx = Ctx(lib, work, [str(pv)], args.workers,
              tools_venv(args.install_tools or not args.small, log), env)  # fmt: skip
    chosen = [t for t in TOOLS if not args.tools or t.name in args.tools.split(",")]
    skipped = {t.name: why for t in chosen if (why := t.missing(ctx))}
    tools = [t for t in chosen if t.name not in skipped]
    modes, cold_note = ["warm"], None
    if args.cold != "no":
        cold_note = drop_caches()
        if cold_note is None:
            modes.append("cold")
        elif args.cold == "yes":
            raise SystemExit(f"cold cache runs asked for, but {cold_note}")
    info = machine_info(args.out)
    log(f"{len(lib.files)} files, {lib.bytes / 1e9:.2f} GB in {lib.root}; modes {modes}; "
        f"{args.runs} run(s); load {info['loadavg']}")  # fmt: skip
    samples, errors = run_rounds(ctx, tools, modes, args.runs)
    rows = summarize(ctx.lib, tools, ctx, modes, samples, errors)
    rows += derived_rows(rows, samples, len(lib.files), lib.bytes, modes)
    results = targets(rows, spec.name, len(lib.files), modes)
    gui = None if args.no_gui else gui_figures(args.python, args.small, log)
    cold_state = cold_note or ("available" if "cold" in modes else "not run (--cold no)")
    doc = {
        "variant": spec.name, "command": " ".join(["python", *sys.argv]),
        "library": {"root": str(lib.root), "files": len(lib.files), "bytes": lib.bytes,
                    "spec": _spec_doc(lib)},
        "runs": args.runs, "modes": modes, "cold": cold_state,
        "machine": info, "load_after": machine_info(args.out)["loadavg"],
        "versions": versions(ctx), "skipped": skipped,
        "rows": [r.as_dict() for r in rows], "targets": results, "gui": gui,
    }  # fmt: skip
    print_table(doc)
    path = args.json or args.out / f"compare-{spec.name}.json"
    path.write_text(json.dumps(doc, indent=1))
    print(f"\nwritten: {path}")
    if any(r.error for r in rows):
        return 2
    return 1 if args.strict and any(t["result"] == "FAIL" for t in results) else 0


def gui_only(args: argparse.Namespace, path: Path) -> int:
    doc = json.loads(path.read_text())
    doc["gui"] = gui_figures(args.python, args.small, log)
    print_table(doc)
    path.write_text(json.dumps(doc, indent=1))
    print(f"\nwritten: {path}")
    return 2 if doc["gui"].get("error") else 0


Samples = dict[tuple[str, str], list[Sample]]  # (step key, cache mode) -> every valid run


def run_rounds(
    ctx: Ctx, tools: list[Tool], modes: list[str], runs: int
) -> tuple[Samples, dict[tuple[str, str], str]]:
    """Every tool's steps, ``runs`` rounds per cache mode. The tools take turns leading a
    round, so none always runs right after another's writes."""
    samples: dict[tuple[str, str], list[Sample]] = {}
    errors: dict[tuple[str, str], str] = {}
    for mode in modes:
        for r in range(runs):
            if mode == "warm":
                read_all(list(ctx.lib.files))  # untimed: every byte in the page cache
            order = tools[r % len(tools) :] + tools[: r % len(tools)]
            for tool in order:
                for step in tool.steps(ctx):
                    error = run_step(ctx, step, mode, r, samples)
                    if error:
                        errors[(step.key, mode)] = error
                        log(f"  {step.key} ({mode}, run {r + 1}): INVALID: {error}")
                        break  # the tool's later steps would start from the wrong state
                tool.cleanup(ctx)
            clean_tool_state(ctx.lib.root)
    return samples, errors


def run_step(ctx: Ctx, step: Step, mode: str, r: int,
             samples: dict[tuple[str, str], list[Sample]]) -> str | None:  # fmt: skip
    if step.prepare:
        step.prepare()
    if mode == "cold":
        drop_caches()
    try:
        s = measure(step.argv, cwd=step.cwd, env=step.env,
                    log=ctx.work / "logs" / f"{step.key}-{mode}-{r + 1}")  # fmt: skip
    except MeasureError as exc:
        return str(exc)
    try:
        error = step.check(s) if step.check else None
    except (OSError, ValueError, KeyError) as exc:  # no state file, unparsable output
        error = f"{type(exc).__name__}: {exc}; rc {s.returncode}: {s.stderr[-300:]}"
    if error is None:
        samples.setdefault((step.key, mode), []).append(s)
        log(f"  {step.key:15} {mode} run {r + 1}: {s.seconds:7.2f} s  "
            f"peak {s.peak_rss_mb:5.0f} MB  tree {s.tree_mb:5.0f} MB")  # fmt: skip
    return error


def summarize(lib: Library, tools: list[Tool], ctx: Ctx, modes: list[str],
              samples: dict[tuple[str, str], list[Sample]],
              errors: dict[tuple[str, str], str]) -> list[Row]:  # fmt: skip
    n = len(lib.files)
    rows = []
    for mode in modes:
        medians = {key: statistics.median(s.seconds for s in got)
                   for (key, m), got in samples.items() if m == mode}  # fmt: skip
        for tool in tools:
            for step in tool.steps(ctx):
                got = samples.get((step.key, mode), [])
                secs = [s.seconds for s in got]
                med = statistics.median(secs) if secs else None
                base = medians.get(step.matches or step.key)
                rows.append(Row(
                    key=step.key, tool=step.tool, label=step.label, mode=mode,
                    argv=step.argv, matches=step.matches, seconds=secs, median=med,
                    files_per_s=n / med if med else None,
                    mb_per_s=lib.bytes / 1e6 / med if med and step.reads_bytes else None,
                    vs_pv=med / base if med and base else None,
                    peak_rss_mb=max((s.peak_rss_mb for s in got), default=None),
                    tree_mb=max((s.tree_mb for s in got), default=None),
                    cpu_s=statistics.median(s.cpu_seconds for s in got) if got else None,
                    error=errors.get((step.key, mode)),
                ))  # fmt: skip
    return rows


def _spec_doc(lib: Library) -> dict[str, object]:
    s = lib.spec
    return {"name": s.name, "tracks": s.tracks, "seconds": list(s.seconds), "cover": s.cover,
            "mix": dict(s.mix), "seed": s.seed}  # fmt: skip


def _base_env() -> dict[str, str]:
    import os

    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER")
    return {k: os.environ[k] for k in keep if k in os.environ}


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    log(f"compare.py took {time.perf_counter() - started:.0f} s")
    sys.exit(code)
