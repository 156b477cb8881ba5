"""Time Phonovault's first scan, no-change rescan and full verify on a generated library.

    python bench/scan_bench.py [--files 2000] [--seconds 3] [--small] [--out DIR]

The library is made by the test suite's generator (real FLAC/MP3/Ogg/Opus/M4A/WAV/AIFF/
WavPack files), under --out (default bench/out). Each step runs the real ``phonovault``
command as a user would, so start-up cost is included. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import audiogen  # noqa: E402


def run(cli: list[str], catalog: Path, *args: str) -> tuple[float, dict]:
    start = time.perf_counter()
    proc = subprocess.run(
        [*cli, "--catalog", str(catalog), "--json", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{args} failed ({proc.returncode}): {proc.stderr}")
    return elapsed, json.loads(proc.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=3.0, help="duration of each track")
    ap.add_argument("--small", action="store_true", help="100 short files: a CI smoke run")
    ap.add_argument("--out", type=Path, default=HERE / "out")
    args = ap.parse_args()
    if args.small:
        args.files, args.seconds = 100, 0.5
    lib = args.out / f"lib-{args.files}-{args.seconds:g}s"
    if not lib.exists():
        t = time.perf_counter()
        tmp = lib.with_suffix(".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        audiogen.make_library(tmp, args.files, seconds=args.seconds)
        tmp.rename(lib)
        print(f"generated {args.files} files in {time.perf_counter() - t:.1f} s", flush=True)
    size = sum(p.stat().st_size for p in lib.rglob("*") if p.is_file())
    cli = [sys.executable, "-m", "phonovault.core.cli"]
    catalog = args.out / "bench-catalog.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{catalog}{suffix}").unlink(missing_ok=True)
    run(cli, catalog, "roots", "add", str(lib))
    rows = []
    t, doc = run(cli, catalog, "scan")
    assert doc["indexed"] == args.files, doc
    rows.append(("first scan (tags + both hashes)", t, args.files, size))
    t, doc = run(cli, catalog, "scan")
    assert doc["unchanged"] == args.files, doc
    rows.append(("no-change rescan", t, args.files, 0))
    t, doc = run(cli, catalog, "verify")
    assert doc["summary"] == {"ok": args.files}, doc["summary"]
    rows.append(("full verify", t, args.files, size))
    # Scrubbing: the least recently verified tenth, by checksum, then with a decode check.
    t, doc = run(cli, catalog, "verify", "--oldest", "10")
    rows.append(("scrub 10% (verify --oldest 10)", t, len(doc["results"]), doc["bytes_read"]))
    t, doc = run(cli, catalog, "verify", "--oldest", "10", "--decode")
    rows.append(("scrub 10% with --decode", t, len(doc["results"]), doc["bytes_read"]))
    realtime = {"scrub 10% with --decode": doc["decode"]["realtime"]}
    t, doc = run(cli, catalog, "verify", "--decode")
    rows.append(("full verify --decode", t, args.files, size))
    realtime["full verify --decode"] = doc["decode"]["realtime"]
    t, doc = run(cli, catalog, "verify", "--decode")
    assert doc["decode"]["checked"] == 0, doc["decode"]  # every verdict known: none redone
    rows.append(("verify --decode, verdicts cached", t, args.files, size))
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"\n{args.files} files, {size / 1e6:.0f} MB, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, warm page cache"
    )
    print(f"{'step':34} {'seconds':>8} {'files/s':>9} {'MB/s':>8}")
    for name, secs, n, nbytes in rows:
        mbs = f"{nbytes / 1e6 / secs:8.0f}" if nbytes else f"{'-':>8}"
        print(f"{name:34} {secs:8.2f} {n / secs:9.0f} {mbs}")
    for name, x in realtime.items():
        print(f"{name}: decoding ran at {x:.0f}x realtime" if x else f"{name}: -")
    print(f"peak RSS of a child process: {peak:.0f} MB")
    result = {
        "files": args.files,
        "bytes": size,
        "peak_rss_mb": round(peak, 1),
        "decode_x_realtime": realtime,
        "steps": [
            {
                "step": n,
                "seconds": round(s, 3),
                "files_per_s": round(c / s, 1),
                "mb_per_s": round(b / 1e6 / s, 1) if b else None,
            }
            for n, s, c, b in rows
        ],
    }
    (args.out / "scan_bench.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
