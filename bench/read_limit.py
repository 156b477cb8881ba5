"""The machine's limit for fixity work: read every file once and BLAKE3 it, nothing else.

    python bench/read_limit.py [--threads 1] ROOT

No tags, no catalog, no payload parsing: ``readinto`` a reused 1 MiB buffer and feed it to
``blake3(max_threads=1)``. With ``--threads 1`` (the default) this is what one reader can reach
on this disk and CPU; with more, each thread hashes whole files of its own (as Phonovault's
workers do). Prints one JSON line: files, bytes, seconds (the loop alone, no start-up).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import blake3


def hash_one(path: str, size: int = 1 << 20) -> int:
    buf = bytearray(size)
    view = memoryview(buf)
    h = blake3.blake3(max_threads=1)
    total = 0
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
            total += n
    h.hexdigest()
    return total


def files_under(root: str) -> list[str]:
    found = []
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        found += [os.path.join(folder, n) for n in sorted(names) if not n.startswith(".")]
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    started = time.perf_counter()
    paths = files_under(args.root)
    if args.threads == 1:
        total = sum(hash_one(p) for p in paths)
    else:  # each thread takes every Nth file: no per-file hand-off, as in a reader loop
        with ThreadPoolExecutor(args.threads) as pool:
            shares = [paths[i :: args.threads] for i in range(args.threads)]
            total = sum(pool.map(lambda share: sum(map(hash_one, share)), shares))
    seconds = time.perf_counter() - started
    print(json.dumps({"files": len(paths), "bytes": total, "seconds": round(seconds, 4),
                      "threads": args.threads, "blake3": blake3.__version__}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
