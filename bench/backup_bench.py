"""Time ``backups verify`` of a backup of a generated library: full read, then incremental.

    python bench/backup_bench.py [--files 2000] [--seconds 1] [--out DIR]

The library is made by the test suite's generator, copied with shutil.copytree, registered
as a backup, and verified through the core API (no process start-up in the numbers).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import audiogen  # noqa: E402

from phonovault.core.backups.targets import add_target, verify_target  # noqa: E402
from phonovault.core.catalog import Catalog  # noqa: E402
from phonovault.core.fixity.scan import scan  # noqa: E402
from phonovault.core.library.roots import add_root  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    base = args.out or Path(tempfile.mkdtemp(prefix="pv-backup-bench-"))
    lib, backup = base / "Music", base / "Backup"
    if not lib.exists():
        audiogen.make_library(lib, args.files, seconds=args.seconds)
    shutil.rmtree(backup, ignore_errors=True)
    shutil.copytree(lib, backup)
    size = sum(p.stat().st_size for p in backup.rglob("*") if p.is_file())
    with Catalog(base / "c.sqlite") as catalog:
        add_root(catalog, lib)
        scan(catalog)
        target = add_target(catalog, backup, lib)
        rows = {}
        for name, full in (("full (first)", True), ("incremental", False), ("full", True)):
            t = time.perf_counter()
            r = verify_target(catalog, target, full=full, workers=args.workers)
            rows[name] = {"seconds": round(time.perf_counter() - t, 3), "read": r.files_read,
                          "bytes": r.bytes_read, "summary": r.summary}  # fmt: skip
    print(json.dumps({"files": args.files, "bytes": size, "runs": rows}, indent=2))


if __name__ == "__main__":
    main()
