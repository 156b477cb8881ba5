"""Time a 10 % scrub of a 2,000-file library, by checksum alone and with decode checks.

    python bench/scrub_bench.py [--files 2000] [--seconds 30] [--out DIR]

Decode verdicts are cached per audio content, so a library of copies of a few templates
(what scan_bench generates) would decode only those few. This library has distinct audio in
every file (a numpy tone-and-noise generator, encoded by PyAV in the ten formats), so the
scrub decodes every file it reads. The real CLI runs it: `verify --oldest 10` then
`verify --oldest 10 --decode` (the next least recently verified tenth), warm page cache.
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

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import audiogen  # noqa: E402
from scan_bench import run as run_cli  # noqa: E402  (beside this file)


def _pcm(seconds: float, rate: int, freq: float, seed: int) -> bytes:
    """Stereo s16: a tone plus seeded noise, as audiogen makes it, but vectorised."""
    n = int(seconds * rate)
    t = np.arange(n)
    noise = np.random.default_rng(seed).integers(-1000, 1001, n)
    v = (12000 * np.sin(2 * np.pi * freq * t / rate)).astype(np.int32) + noise
    return np.stack([v, -v], axis=1).astype("<i2").tobytes()


def make_library(root: Path, files: int, seconds: float) -> None:
    audiogen._pcm = _pcm  # type: ignore[assignment]  # same encoder, faster samples
    kinds = list(audiogen.KINDS)
    for n in range(files):
        kind = kinds[n % len(kinds)]
        album, track = divmod(n, 10)
        path = root / f"Artist {album // 3:03d}" / f"Album {album:04d}"
        path = path / f"{track + 1:02d} Song {n}{audiogen.KINDS[kind].suffix}"
        audiogen.make_track(path, kind, title=f"Song {n}", track=track + 1, seconds=seconds,
                            seed=n)  # fmt: skip


def run(catalog: Path, *args: str) -> tuple[float, dict]:
    return run_cli([sys.executable, "-m", "phonovault.core.cli"], catalog, *args)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=30.0, help="duration of each track")
    ap.add_argument("--out", type=Path, default=HERE / "out")
    args = ap.parse_args()
    lib = args.out / f"scrub-lib-{args.files}-{args.seconds:g}s"
    if not lib.exists():
        started = time.perf_counter()
        tmp = lib.with_suffix(".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        make_library(tmp, args.files, args.seconds)
        tmp.rename(lib)
        print(f"generated {args.files} files in {time.perf_counter() - started:.0f} s")
    size = sum(p.stat().st_size for p in lib.rglob("*") if p.is_file())
    catalog = args.out / "scrub-catalog.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{catalog}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(args.out / "backups", ignore_errors=True)
    run(catalog, "roots", "add", str(lib))
    run(catalog, "scan")
    for p in lib.rglob("*"):  # warm the page cache for both scrubs alike
        if p.is_file():
            p.read_bytes()
    plain_s, plain = run(catalog, "verify", "--oldest", "10")
    decode_s, decoded = run(catalog, "verify", "--oldest", "10", "--decode")
    d = decoded["decode"]
    audio = d["checked"] * args.seconds
    print(f"\n{args.files} files of {args.seconds:g} s, {size / 1e9:.2f} GB, distinct audio, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, warm cache")  # fmt: skip
    print(f"10% scrub, checksums only:  {plain_s:6.2f} s  ({len(plain['results'])} files, "
          f"{plain['bytes_read'] / 1e6:.0f} MB)")  # fmt: skip
    print(f"10% scrub with --decode:    {decode_s:6.2f} s  ({d['checked']} files decoded, "
          f"{audio / 60:.0f} min of audio, {audio / decode_s:.0f}x realtime overall)")  # fmt: skip
    result = {
        "files": args.files, "seconds_per_track": args.seconds, "bytes": size,
        "scrub_10pct_s": round(plain_s, 2), "scrub_10pct_decode_s": round(decode_s, 2),
        "decoded": d["checked"], "decode_problems": len(d["problems"]),
        "x_realtime_overall": round(audio / decode_s),
    }  # fmt: skip
    (args.out / "scrub_bench.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
