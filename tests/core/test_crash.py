"""A scan killed with SIGKILL at arbitrary moments leaves a sound catalog that a re-run
completes, and never touches a music file."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import audiogen

from phonovault.core.catalog import Catalog
from phonovault.core.fixity.scan import scan
from phonovault.core.library.roots import add_root


def digest_tree(root: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def committed(cat_path: Path) -> int:
    """Files the catalog holds now, read beside the running scan (WAL lets a reader in)."""
    db = sqlite3.connect(f"file:{cat_path}?mode=ro", uri=True, timeout=10)
    try:
        return int(db.execute("SELECT COUNT(*) FROM files").fetchone()[0])
    finally:
        db.close()


def test_kill_minus_nine_during_scan_then_resume(tmp_path: Path) -> None:
    root = tmp_path / "Music"
    # Many small files: per-file work dominates, so a scan lasts long enough to be killed
    # after some of its half-second commits and before its end.
    total = 3000
    audiogen.make_library(root, total, seconds=0.3)
    before = digest_tree(root)
    cat_path = tmp_path / "c.sqlite"
    with Catalog(cat_path) as catalog:
        add_root(catalog, root)
    rng = random.Random(1234)
    cmd = [
        sys.executable,
        "-m",
        "phonovault.core.cli",
        "--catalog",
        str(cat_path),
        "scan",
        "--workers",
        "1",
    ]
    kills, partial = 0, 0
    for _ in range(20):
        before_run = committed(cat_path)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Kill once this run has committed work (an event, however busy the machine is),
        # at a random moment inside its next batch.
        deadline = time.monotonic() + 120
        while proc.poll() is None and committed(cat_path) <= before_run:
            assert time.monotonic() < deadline, "the scan committed nothing in two minutes"
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.5))
        if proc.poll() is not None:
            break  # it finished on its own: the library is complete
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
        with Catalog(cat_path) as catalog:  # opens after every kill ...
            assert catalog.integrity_ok()  # ... and is sound
            partial += 0 < catalog.totals()[0] < total
    assert kills >= 1 and partial >= 1, (kills, partial)
    with Catalog(cat_path) as catalog:
        report = scan(catalog)
        assert report.failed == [] and report.missing == 0
        assert report.indexed + report.unchanged == total
        assert catalog.totals()[0] == total  # every file exactly once
        assert catalog.state_counts() == {"ok": total}
    assert digest_tree(root) == before
