"""Time the catalog upgrade 7 -> 8 (audio identity version 2) on a library the previous
release catalogued.

    python bench/migration_bench.py [--files 2000] [--seconds 3] [--small] [--out DIR]

The library is made by the test suite's generator (every kind: FLAC, MP3, Ogg Vorbis, Opus,
AAC, ALAC, WAV, AIFF, WavPack) under --out (default bench/out) and kept for the next run.
The schema 7 catalog is made by the previous release itself (commit bb11e5d, checked out
into --out and run as its own ``phonovault`` command: roots add, scan, verify), the way
tests/core/test_migration.py makes its catalogs. Then the current code, in this process,
with the command line's default worker counts:

1. opens the catalog: the schema migration (with the backup the guard takes before it);
2. scans: the files are unchanged, so this should be a stat walk;
3. verifies: the first verify after the upgrade, which gives every file its version 2
   identity (a verify re-reads every byte anyway);
4. verifies again, and scans again: the catalog is all version 2 now.

Prints a table (warm page cache: the library was just read) and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import sys
import time
from contextlib import closing
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent / "tests" / "core")]

import audiogen  # noqa: E402
from test_migration import RELEASE, OldRelease, check_out_release  # noqa: E402

from phonovault.core.catalog import MIGRATIONS, Catalog  # noqa: E402
from phonovault.core.config import default_workers  # noqa: E402
from phonovault.core.fixity.scan import ScanOptions, scan  # noqa: E402
from phonovault.core.fixity.verify import verify  # noqa: E402


def versions(catalog: Path) -> dict[int, int]:
    """How many files carry each audio identity version."""
    with closing(sqlite3.connect(catalog)) as db:
        return dict(db.execute("SELECT audio_version, count(*) FROM files GROUP BY 1"))


def migration_sql_alone(catalog: Path, work: Path) -> float:
    """Seconds for migration 8's statements on a copy of the schema 7 catalog, in one
    transaction as Catalog._migrate runs them (no guard, no backup)."""
    copy = work / "sql-alone.sqlite"
    shutil.copyfile(catalog, copy)
    with closing(sqlite3.connect(copy, isolation_level=None)) as db:
        start = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        for statement in MIGRATIONS[7].split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute("PRAGMA user_version = 8")
        db.execute("COMMIT")
        return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=3.0, help="duration of each track")
    ap.add_argument("--small", action="store_true", help="100 short files: a CI smoke run")
    ap.add_argument("--out", type=Path, default=HERE / "out")
    args = ap.parse_args()
    if args.small:
        args.files, args.seconds = 100, 0.5
    out = args.out.resolve()
    lib = out / f"lib-{args.files}-{args.seconds:g}s"
    if not lib.exists():
        t = time.perf_counter()
        tmp = lib.with_suffix(".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        audiogen.make_library(tmp, args.files, seconds=args.seconds)
        tmp.rename(lib)
        print(f"generated {args.files} files in {time.perf_counter() - t:.1f} s", flush=True)
    files = [p for p in lib.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    if len(files) != args.files:
        raise SystemExit(f"{lib} holds {len(files)} files, not {args.files}: delete it")

    work = out / "migration"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    home = work / "home"  # the old release's crash log and config stay in here
    dirs = {"HOME": "", "XDG_DATA_HOME": ".local/share", "XDG_CONFIG_HOME": ".config",
            "XDG_STATE_HOME": ".local/state"}  # fmt: skip
    for name, sub in dirs.items():
        os.environ[name] = str(home / sub)
    old = OldRelease(check_out_release(work / "release"))
    old.check()
    catalog = work / "catalog" / "phonovault.sqlite"
    t = time.perf_counter()
    _, scanned, verified = old.run(catalog, ("roots", "add", str(lib)), ("scan",), ("verify",))
    print(f"the previous release ({RELEASE}) catalogued it in {time.perf_counter() - t:.1f} s",
          flush=True)  # fmt: skip
    if scanned["indexed"] != args.files or verified["summary"] != {"ok": args.files}:
        raise SystemExit(f"the previous release did not catalogue every file: {verified}")
    with closing(sqlite3.connect(catalog)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 7
    catalog_mb = catalog.stat().st_size / 1e6

    rows: list[tuple[str, float, int, int, str]] = [
        (f"{RELEASE}: scan (schema 7)", scanned["seconds"], args.files, scanned["bytes_read"],
         ""),
        (f"{RELEASE}: verify", verified["seconds"], args.files, verified["bytes_read"], ""),
    ]  # fmt: skip
    sql_alone = migration_sql_alone(catalog, work)
    t = time.perf_counter()
    Catalog(catalog).close()
    opened = time.perf_counter() - t
    rows.append(("open: migration 7 -> 8 (+ backup)", opened, args.files, 0, "no file read"))
    rows.append(("  migration SQL alone (a copy)", sql_alone, args.files, 0, ""))
    t = time.perf_counter()
    Catalog(catalog).close()
    rows.append(("  a second open (nothing to do)", time.perf_counter() - t, args.files, 0, ""))

    scan_options = ScanOptions(workers=default_workers(tags=True))
    verify_workers = default_workers(tags=False)

    def do_scan(name: str) -> None:
        with Catalog(catalog) as c:
            r = scan(c, options=scan_options)
        note = f"{r.updated + r.indexed} files read, {r.unchanged} unchanged; {versions(catalog)}"
        rows.append((name, r.seconds, args.files, r.bytes_read, note))

    def do_verify(name: str) -> None:
        with Catalog(catalog) as c:
            r = verify(c, workers=verify_workers)
        if r.summary != {"ok": args.files}:
            raise SystemExit(f"{name}: verdicts changed: {r.summary}")
        rows.append((name, r.seconds, args.files, r.bytes_read, f"{versions(catalog)}"))

    do_scan("first scan after the upgrade")
    do_verify("first verify after the upgrade")
    do_verify("verify, catalog already v8")
    do_scan("scan, catalog already v8")

    print(
        f"\n{args.files} files, {size / 1e6:.0f} MB, catalog {catalog_mb:.1f} MB, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, warm page cache; "
        f"scan workers {scan_options.workers}, verify workers {verify_workers}"
    )
    print(f"{'step':36} {'seconds':>8} {'files/s':>9} {'MB/s':>7}  notes (identity versions)")
    for name, secs, n, nbytes, note in rows:
        mbs = f"{nbytes / 1e6 / secs:7.0f}" if nbytes else f"{'-':>7}"
        print(f"{name:36} {secs:8.3f} {n / secs:9.0f} {mbs}  {note}")
    result = {
        "files": args.files,
        "bytes": size,
        "catalog_bytes": int(catalog_mb * 1e6),
        "release": RELEASE,
        "steps": [
            {
                "step": name.strip(),
                "seconds": round(secs, 4),
                "files_per_s": round(n / secs, 1),
                "mb_per_s": round(nbytes / 1e6 / secs, 1) if nbytes else None,
                "bytes_read": nbytes,
                "notes": note,
            }
            for name, secs, n, nbytes, note in rows
        ],
    }
    (out / "migration_bench.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
