"""Decode-check throughput, in "x realtime" (seconds of audio checked per second of wall time).

    python bench/decode_bench.py [--seconds 210] [--copies 4] [--kinds flac16,mp3] [--out DIR]

One track of each kind is generated with the test suite's generator (realistic length: 3.5 min
by default) under --out (default bench/out), then checked by :func:`decode_check` in this
process (single core), and by a :class:`DecodePool` (one worker per core) over ``--copies``
copies of every track. Prints a table and writes JSON beside the files.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import audiogen  # noqa: E402

from phonovault.core.integrity.checks import DECODER_VERSION, DecodePool, decode_check  # noqa: E402


def generate(out: Path, kinds: list[str], seconds: float) -> dict[str, Path]:
    folder = out / f"decode-{seconds:g}s"
    folder.mkdir(parents=True, exist_ok=True)
    tracks = {}
    for kind in kinds:
        path = folder / f"{kind}{audiogen.KINDS[kind].suffix}"
        if not path.exists():
            tmp = path.with_name("partial-" + path.name)
            audiogen.make_track(tmp, kind, seconds=seconds)
            tmp.rename(path)
        tracks[kind] = path
    return tracks


def single(tracks: dict[str, Path], seconds: float, repeat: int) -> dict[str, dict[str, float]]:
    """Best of ``repeat`` runs per kind, in this process."""
    rows = {}
    for kind, path in tracks.items():
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            result = decode_check(path)
            best = min(best, time.perf_counter() - start)
            if not result.ok:
                raise SystemExit(f"{kind}: clean track judged {result.problems}")
        rows[kind] = {
            "seconds": best,
            "realtime": seconds / best,
            "mb_per_s": path.stat().st_size / best / 1e6,
        }
    return rows


def pooled(tracks: dict[str, Path], seconds: float, copies: int, workers: int | None) -> dict:
    """Every track ``copies`` times through one pool (started before the clock runs)."""
    jobs = [
        (f"{kind}#{i}", str(path), seconds) for kind, path in tracks.items() for i in range(copies)
    ]
    with DecodePool(workers) as pool:
        for _ in pool.run(jobs[: pool.workers]):  # start-up is paid once per run, not per file
            pass
        start = time.perf_counter()
        bad = [
            key
            for key, result in pool.run(jobs)
            if isinstance(result, BaseException) or not result.ok
        ]
        elapsed = time.perf_counter() - start
        if bad:
            raise SystemExit(f"clean tracks judged bad in the pool: {bad}")
        return {
            "workers": pool.workers,
            "files": len(jobs),
            "seconds": elapsed,
            "realtime": seconds * len(jobs) / elapsed,
        }


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seconds", type=float, default=210.0, help="duration of each track")
    ap.add_argument("--copies", type=int, default=4, help="copies of each track for the pool")
    ap.add_argument("--kinds", default=",".join(audiogen.KINDS), help="comma-separated kinds")
    ap.add_argument("--repeat", type=int, default=3, help="single-process runs per kind (best)")
    ap.add_argument("--workers", type=int, default=None, help="pool size (default: one per core)")
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--clean", action="store_true", help="delete the generated tracks after")
    args = ap.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    t = time.perf_counter()
    tracks = generate(args.out, kinds, args.seconds)
    print(f"tracks ready in {time.perf_counter() - t:.1f} s ({args.seconds:g} s each)", flush=True)
    print(DECODER_VERSION)
    rows = single(tracks, args.seconds, args.repeat)
    print(f"{'kind':10} {'size MB':>8} {'ms/track':>9} {'x realtime':>11} {'MB/s':>7}")
    for kind, row in rows.items():
        size = tracks[kind].stat().st_size / 1e6
        print(
            f"{kind:10} {size:8.1f} {row['seconds'] * 1000:9.0f} "
            f"{row['realtime']:11.0f} {row['mb_per_s']:7.1f}"
        )
    pool = pooled(tracks, args.seconds, args.copies, args.workers)
    print(
        f"pool: {pool['files']} tracks, {pool['workers']} workers: {pool['seconds']:.2f} s, "
        f"{pool['realtime']:.0f} x realtime overall"
    )
    report = {
        "decoder": DECODER_VERSION,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "track_seconds": args.seconds,
        "single": rows,
        "pool": pool,
    }
    (args.out / "decode_bench.json").write_text(json.dumps(report, indent=2))
    if args.clean:
        shutil.rmtree(tracks[kinds[0]].parent)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
