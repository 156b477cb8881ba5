"""Crash campaign: ``phonovault scan``, ``verify`` and ``repair apply --yes`` killed with
SIGKILL at random moments, many times, as real subprocesses on real files.

After every kill: the catalog opens (through the guard, which quick_checks a catalog whose
last run did not close it) and ``PRAGMA integrity_check`` passes; every music file and every
backup copy is hashed and equals what it was, except a file the repair was healing, which is
either its old bytes or the good copy's, never a mix and never missing; the quarantine holds
only complete copies of replaced bytes (a partial one only under its temp name); the journal
and the catalog never claim a write that did not happen. Then a re-run completes, removes
what the killed run left behind, and leaves everything good.

``PHONOVAULT_CRASH_ITERATIONS`` (default 12) sets the kills per command; the default runs the
file in about a minute on the 2-core CI machine. The counts are printed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import audiogen
import pytest

from phonovault.core.backups.repair import apply, plan
from phonovault.core.backups.targets import add_target, verify_target
from phonovault.core.catalog import Catalog
from phonovault.core.catalog import guard as catalog_guard
from phonovault.core.fixity.scan import scan
from phonovault.core.fixity.verify import verify
from phonovault.core.identity.digests import hash_file
from phonovault.core.library.roots import add_root

ITERATIONS = int(os.environ.get("PHONOVAULT_CRASH_ITERATIONS", "12"))
SEED = int(os.environ.get("PHONOVAULT_CRASH_SEED", "20261121"))
LEFTOVER = (".phonovault-tmp-", ".phonovault-qtmp-")


def report(capsys: pytest.CaptureFixture[str], what: str, counts: Counter[str]) -> None:
    with capsys.disabled():
        print(f"\n[crash campaign] {what}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


def digest_tree(*folders: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in folders
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(LEFTOVER)
    }


def leftovers(*folders: Path) -> list[Path]:
    return [p for f in folders if f.exists() for p in f.rglob("*") if p.name.startswith(LEFTOVER)]


def cli(catalog: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "phonovault.core.cli", "--catalog", str(catalog), *args]


def run_and_kill(cmd: list[str], delay: float) -> bool:
    """Start ``cmd``; SIGKILL it after ``delay`` seconds. False when it finished first."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def timed_run(cmd: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.monotonic() - started


def assert_catalog_sound(path: Path) -> None:
    with Catalog(path, create=False) as catalog:  # the guard quick_checks it: -wal was left
        assert catalog.integrity_ok()


def assert_backups_bounded(path: Path) -> None:
    names = os.listdir(catalog_guard.backups_dir(path))
    ours = [n for n in names if n.endswith(".sqlite")]
    assert len(ours) <= catalog_guard.KEEP, names
    assert len(names) <= catalog_guard.KEEP + 2, names  # + the check stamp, + one killed temp


@pytest.fixture(scope="module")
def big_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Many small files: per-file work dominates, so a scan or verify lasts long enough to
    be killed between its half-second commits."""
    root = tmp_path_factory.mktemp("crash") / "Music"
    audiogen.make_library(root, 1500, kinds=["flac16", "mp3", "vorbis"], seconds=0.2)
    shutil.rmtree(root.parent / "Music.templates")
    return root


def test_scan_killed_again_and_again(
    tmp_path: Path, big_library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(SEED)
    before = digest_tree(big_library)
    total = len(before)
    cat = tmp_path / "scan.sqlite"
    counts: Counter[str] = Counter()
    with Catalog(cat) as catalog:
        add_root(catalog, big_library)
    span = timed_run(cli(cat, "scan", "--workers", "1"))  # how long a whole first scan takes
    counts["seconds per full scan"] = round(span, 1)  # type: ignore[assignment]
    fresh = True
    while counts["kills"] < ITERATIONS:
        if fresh:  # a first scan each time: start again from an empty catalog
            for p in tmp_path.glob("scan.sqlite*"):
                p.unlink()
            with Catalog(cat) as catalog:
                add_root(catalog, big_library)
        killed = run_and_kill(cli(cat, "scan", "--workers", "1"), rng.uniform(0.3, span))
        counts["kills" if killed else "finished first"] += 1
        assert_catalog_sound(cat)
        with Catalog(cat, create=False) as catalog:
            done = catalog.totals()[0]
        counts["partial"] += 0 < done < total
        assert digest_tree(big_library) == before  # a scan never writes to music
        fresh = not killed or rng.random() < 0.5  # else: the next run resumes this one
    with Catalog(cat, create=False) as catalog:
        result = scan(catalog)
        assert result.failed == [] and result.missing == 0
        assert catalog.totals()[0] == total and catalog.state_counts() == {"ok": total}
    assert digest_tree(big_library) == before
    assert_backups_bounded(cat)
    report(capsys, "scan", counts)
    assert counts["kills"] == ITERATIONS and counts["partial"] >= 1


def test_verify_killed_again_and_again(
    tmp_path: Path, big_library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(SEED + 1)
    before = digest_tree(big_library)
    cat = tmp_path / "verify.sqlite"
    with Catalog(cat) as catalog:
        add_root(catalog, big_library)
        scan(catalog)
    span = timed_run(cli(cat, "verify", "--workers", "1"))
    counts: Counter[str] = Counter()
    while counts["kills"] < ITERATIONS:
        restart = rng.random() < 0.3
        cmd = cli(cat, "verify", "--workers", "1", *(["--restart"] if restart else []))
        killed = run_and_kill(cmd, rng.uniform(0.3, span))
        counts["kills" if killed else "finished first"] += 1
        assert_catalog_sound(cat)
        assert digest_tree(big_library) == before
    with Catalog(cat, create=False) as catalog:
        result = verify(catalog)  # resumes the last interrupted run
        counts["resumed"] += result.resumed
        assert set(result.summary) == {"ok"} and catalog.state_counts() == {"ok": len(before)}
    assert_backups_bounded(cat)
    report(capsys, "verify", counts)


# -- repair -----------------------------------------------------------------------------------


class RepairWorld:
    """A library and its backup, both damaged a little more each round, and what is known to
    be good."""

    def __init__(self, tmp: Path, rng: random.Random) -> None:
        self.rng = rng
        self.root, self.backup, self.q = tmp / "Music", tmp / "Backup", tmp / "quarantine"
        self.cat = tmp / "repair.sqlite"
        audiogen.make_library(self.root, 48, kinds=["flac16", "wav"], seconds=1.0, per_album=6)
        shutil.rmtree(tmp / "Music.templates")
        shutil.copytree(self.root, self.backup)
        with Catalog(self.cat) as catalog:
            add_root(catalog, self.root)
            scan(catalog)
            self.target = add_target(catalog, self.backup, self.root)
            assert verify_target(catalog, self.target).all_good
        self.good = digest_tree(self.root, self.backup)
        self.damaged: dict[str, set[str]] = {}  # every damaged version of each file, by path

    def damage(self) -> list[str]:
        """Rot a few library files and a few copies (never a file and its own copy) and let
        the catalog see it; return the planned destinations."""
        lib = sorted(self.root.rglob("*.*"))
        picked = self.rng.sample(range(len(lib)), 14)
        victims = [lib[i] for i in picked[:9]]
        victims += [self.backup / lib[i].relative_to(self.root) for i in picked[9:]]
        for v in victims:
            audiogen.flip_audio_byte(v)
            self.damaged.setdefault(str(v), set()).add(hashlib.sha256(v.read_bytes()).hexdigest())
        with Catalog(self.cat, create=False) as catalog:
            verify(catalog)
            verify_target(catalog, self.target, full=True)
            dests = [a.dest for a in plan(catalog).actions]
        assert sorted(dests) == sorted(map(str, victims))
        return dests

    def check_after_kill(
        self, before: dict[str, str], dests: list[str], since: float
    ) -> Counter[str]:
        """Everything a kill may and may not leave; counts what it did leave."""
        seen: Counter[str] = Counter()
        now = digest_tree(self.root, self.backup)
        assert set(now) == set(before), "a file appeared or went missing"
        for path, digest in now.items():
            if path in dests and digest != before[path]:
                assert digest == self.good[path], f"{path} is neither its old nor its good bytes"
                seen["healed"] += 1
            else:
                assert digest == before[path], f"{path} changed although it was not healed"
        seen["temp files left"] += len(leftovers(self.root, self.backup))
        seen["quarantine partials left"] += len(leftovers(self.q))
        for kept in self.q.rglob("*"):  # every real quarantine file is a complete old version
            if kept.is_file() and not kept.name.startswith(LEFTOVER):
                rel = "/" + str(kept.relative_to(self.q))  # its path, maybe with ".N" added
                original = rel if rel in self.damaged else rel.rsplit(".", 1)[0]
                digest = hashlib.sha256(kept.read_bytes()).hexdigest()
                assert digest in self.damaged[original], f"partial or foreign {kept}"
        with Catalog(self.cat, create=False) as catalog:
            assert catalog.integrity_ok()
            self._journal_tells_the_truth(catalog, now, since)
            self._catalog_tells_the_truth(catalog)
        return seen

    def _journal_tells_the_truth(self, catalog: Catalog, now: dict[str, str], since: float) -> None:
        for entry in catalog.journal(limit=200):
            if entry.at < since or entry.action not in ("restore", "refresh", "copy"):
                continue
            assert entry.detail
            detail = json.loads(entry.detail)
            if detail["result"] == "done":  # written or found good: it is good now
                assert now[detail["dest"]] == self.good[detail["dest"]], detail
            assert detail["result"] != "unverified", detail

    def _catalog_tells_the_truth(self, catalog: Catalog) -> None:
        root = catalog.roots()[0]
        for k in catalog.known_files(root.id).values():
            if k.state == "ok":
                path = os.path.join(root.path, os.fsdecode(k.relpath))
                assert hash_file(path).file_hash == k.file_hash, f"catalog says ok: {path}"
        for c in catalog.copies(self.target.id).values():
            if c.state == "match":
                path = os.path.join(self.target.path, os.fsdecode(c.relpath))
                assert hash_file(path).file_hash == c.file_hash, f"catalog says match: {path}"

    def finish(self) -> Counter[str]:
        """The re-run after a kill: completes, cleans up, and everything is good again."""
        seen: Counter[str] = Counter()
        with Catalog(self.cat, create=False) as catalog:
            result = apply(catalog, plan(catalog), quarantine_dir=self.q)
            assert result.ok, [(o.action.dest, o.result, o.reason) for o in result.outcomes]
            seen["leftovers removed"] += len(result.cleaned)
            seen["found already healed"] += sum(not o.written for o in result.outcomes)
            assert set(verify(catalog).summary) == {"ok"}
            assert verify_target(catalog, self.target, full=True).all_good
            assert plan(catalog).actions == []
        assert digest_tree(self.root, self.backup) == self.good
        assert leftovers(self.root, self.backup, self.q) == []
        return seen


def test_repair_killed_again_and_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(SEED + 2)
    world = RepairWorld(tmp_path, rng)
    apply_cmd = cli(world.cat, "repair", "apply", "--yes", "--quarantine", str(world.q))
    world.damage()
    span = timed_run(apply_cmd)  # a whole apply, to aim the kills inside it
    counts: Counter[str] = Counter({"seconds per apply": round(span, 1)})  # type: ignore[dict-item]
    world.finish()
    while counts["kills"] < ITERATIONS:
        dests = world.damage()
        before, since = digest_tree(world.root, world.backup), time.time()
        killed = run_and_kill(apply_cmd, rng.uniform(0.3, span))
        counts["kills" if killed else "finished first"] += 1
        counts.update(world.check_after_kill(before, dests, since))
        if rng.random() < 0.5:  # sometimes kill the re-run too, then finish
            before = digest_tree(world.root, world.backup)
            counts["kills"] += run_and_kill(apply_cmd, rng.uniform(0.3, span))
            counts.update(world.check_after_kill(before, dests, since))
        counts.update(world.finish())
    assert_backups_bounded(world.cat)
    report(capsys, "repair apply", counts)
    assert counts["healed"] >= 1
