"""Time a rescan and a backup verify after a FAT/exFAT drive is unplugged and plugged back in.

    sudo python bench/drive_bench.py [--files 1000] [--kinds fat,exfat,ext4]

Needs root and FUSE with Debian's fusefat, exfat-fuse and fuse2fs (``make test`` installs
them). For each file system a real image is formatted, filled with a generated library (the
test suite's real FLAC/MP3/Ogg/... files) and a backup of it, scanned and verified; then the
drive is unmounted and mounted again (for FAT, on a machine five hours away: local-time
mtimes shift) and the rescan and the backup verify are timed. Before issue 13, FAT and exFAT
renumbered every inode at each mount, so this re-read every byte; now it is a stat walk.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import audiogen  # noqa: E402
import fusefs  # noqa: E402

from phonovault.core.backups.targets import add_target, verify_target  # noqa: E402
from phonovault.core.catalog import Catalog  # noqa: E402
from phonovault.core.fixity.scan import scan  # noqa: E402
from phonovault.core.library.roots import add_root  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def bench(kind: str, files: int, seconds: float, work: Path) -> dict[str, float]:
    size = max(64 << 20, files * int(seconds * 260_000) * 2 + (32 << 20))
    fusefs.KINDS[kind] = (size, *fusefs.KINDS[kind][1:])
    drive = fusefs.drive(kind, work)
    try:
        src = work / "src" / "Music"  # made on the local disk: fusefat cannot truncate
        audiogen.make_library(src, files, seconds=seconds)
        lib = drive.mountpoint / "Music"
        backup = drive.mountpoint / "Backup"
        for dest in (lib, backup):  # bytes only: FAT has no permission bits to copy
            for p in src.rglob("*"):
                if p.is_file():
                    (dest / p.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
                    (dest / p.relative_to(src)).write_bytes(p.read_bytes())
        mb = sum(p.stat().st_size for p in lib.rglob("*") if p.is_file()) / 1e6
        with Catalog(work / f"{kind}.sqlite") as catalog:
            add_root(catalog, lib)
            first, _ = timed(lambda: scan(catalog))
            target = add_target(catalog, backup, lib)
            verify_first, _ = timed(lambda: verify_target(catalog, target))
            drive.unmount()
            drive.mount(tz="EST5")
            rescan, report = timed(lambda: scan(catalog))
            reverify, breport = timed(lambda: verify_target(catalog, target))
        return {
            "files": files, "MB": mb, "first scan s": first, "first backup verify s": verify_first,
            "rescan after remount s": rescan, "re-read files": report.updated,
            "re-read bytes": report.bytes_read, "backup verify after remount s": reverify,
            "backup copies re-read": breport.files_read,
        }  # fmt: skip
    finally:
        drive.unmount()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=2.0, help="length of each track")
    ap.add_argument("--kinds", default="fat,exfat,ext4")
    args = ap.parse_args()
    for kind in args.kinds.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            figures = bench(kind, args.files, args.seconds, Path(tmp))
        print(f"{kind}:")
        for key, value in figures.items():
            shown = f"{value:.2f}" if isinstance(value, float) else str(value)
            print(f"  {key:32} {shown}")


if __name__ == "__main__":
    main()
