"""Catalog schema 7 -> 8 (audio identity version 2) on catalogs made by the previous release.

The catalogs are not imitations: the previous release's own code (commit :data:`RELEASE`,
whose schema is 7) is checked out from this repository and run as its ``phonovault`` command
in a subprocess, laid out to import as ``phonovault.core`` the way it was installed. It
scans, verifies and files its findings; then the current code opens the catalog (the
migration) and reads the files again. A verdict may not change because of the upgrade: each
verdict of the current code is compared with the one the previous release gives on a copy of
the same catalog over the same files, and with what DESIGN.md's table says it must be.

``bench/migration_bench.py`` builds its 2,000-file catalog with the helpers here.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

import audiogen
import pytest
import tagedits
from needs import unavailable

from phonovault.core.catalog import SCHEMA_VERSION, Catalog
from phonovault.core.catalog.guard import list_backups
from phonovault.core.fixity.judge import same_audio
from phonovault.core.fixity.scan import ScanOptions, scan
from phonovault.core.fixity.verify import verify
from phonovault.core.identity.digests import hash_file
from phonovault.core.identity.legacy import LEGACY_OGG_METHOD
from phonovault.core.identity.parts import IDENTITY_VERSION

RELEASE = "bb11e5d"  # the last release with catalog schema 7 (audio identity version 1)
REPO = Path(__file__).resolve().parents[2]
KINDS = list(audiogen.KINDS)  # make_library cycles these: file n is of kind n % len(KINDS)
OGG_KINDS = ("vorbis", "opus")
NEW_TITLE = "A much longer title than the one before, to move things"  # tagedits.set_title
# Columns schema 8 added; a catalog of the previous release has none of them.
V8_COLUMNS = {
    "files": ("audio_version", "setup_hash", "ctime_ns", "seen_ctime_ns"),
    "copies": ("audio_version",),
}


class ReleaseUnavailable(Exception):
    """The previous release cannot be checked out here (no git, a shallow clone)."""


class ReleaseFailed(Exception):
    """The previous release's command failed (not an AssertionError: an expected failure
    must not pass for one)."""


def check_out_release(dest: Path, commit: str = RELEASE) -> Path:
    """Extract ``commit``'s core/, plugins/ and resources/ under ``dest/phonovault/``: a
    folder that, put on PYTHONPATH, imports as the installed ``phonovault.core`` (the
    editable install's finder only answers for names nothing on sys.path has)."""
    git = shutil.which("git")
    if git is None:
        raise ReleaseUnavailable("git is not installed")
    proc = subprocess.run(
        [git, "-C", str(REPO), "archive", "--format=tar", "--prefix=phonovault/", commit,
         "core", "plugins", "resources"],
        capture_output=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise ReleaseUnavailable(
            f"commit {commit} is not in {REPO} (a shallow clone? git fetch --unshallow): "
            + proc.stderr.decode(errors="replace").strip()
        )
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:  # Python before 3.11.4; the archive is our own repository's
            tar.extractall(dest)
    return dest


class OldRelease:
    """The previous release's command line, run in a subprocess with its own code."""

    # Several commands in one process, each through the release's own entry point (its
    # start-up costs more than a small library's scan).
    _DRIVER = (
        "import io, json, sys\n"
        "from phonovault.core.cli import main  # the old release: a module\n"
        "done = []\n"
        "for argv in json.loads(sys.argv[1]):\n"
        "    out = io.StringIO()\n"
        "    done.append((main(argv, stdout=out), out.getvalue()))\n"
        "json.dump(done, sys.stdout)\n"
    )

    def __init__(self, layout: Path) -> None:
        self.layout = layout
        self.env = dict(os.environ, PYTHONPATH=str(layout), PYTHONDONTWRITEBYTECODE="1")

    def run(self, catalog: Path, *commands: list[str] | tuple[str, ...]) -> list[dict[str, Any]]:
        """``phonovault --catalog CATALOG --json COMMAND`` of the previous release for each
        command in turn, in one process; their JSON documents."""
        argvs = [["--catalog", str(catalog), "--json", *c] for c in commands]
        env = dict(self.env)  # the test's HOME and XDG folders (conftest), not the user's
        for name in ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "BEETSDIR"):
            if name in os.environ:
                env[name] = os.environ[name]
        env.pop("PHONOVAULT_CATALOG", None)
        proc = subprocess.run(
            [sys.executable, "-c", self._DRIVER, json.dumps(argvs)],
            capture_output=True, text=True, check=False, cwd=self.layout, env=env,
        )  # fmt: skip
        if proc.returncode != 0:
            raise ReleaseFailed(f"the old release failed: {proc.stderr}")
        docs = []
        for argv, (code, out) in zip(argvs, json.loads(proc.stdout), strict=True):
            if code not in (0, 1):
                raise ReleaseFailed(f"old release: {argv} exited {code}: {out} {proc.stderr}")
            docs.append(json.loads(out))
        return docs

    def check(self) -> None:
        """Make sure the subprocess imports the release's code, not the working tree's."""
        code = "import phonovault.core.catalog as c; print(c.__file__); print(c.SCHEMA_VERSION)"
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, cwd=self.layout, env=self.env)  # fmt: skip
        where, schema = proc.stdout.split()
        assert Path(where).resolve().is_relative_to(self.layout.resolve()), where
        assert int(schema) == 7, f"{RELEASE} should be the schema 7 release, has {schema}"


@pytest.fixture(scope="module")
def old(tmp_path_factory: pytest.TempPathFactory) -> OldRelease:
    try:
        layout = check_out_release(tmp_path_factory.mktemp("release"))
    except ReleaseUnavailable as exc:
        unavailable(f"the previous release is needed to make a schema 7 catalog: {exc}")
    release = OldRelease(layout)
    release.check()
    return release


# -- helpers ----------------------------------------------------------------------------------


def make_v7_library(lib: Path, files: int, seconds: float = 0.5) -> list[Path]:
    """``files`` files cycling through every kind the generator makes (file ``n`` is of kind
    ``n % len(KINDS)``), then one whose structure no parser knows (its audio identity is
    its file hash: the "file" fallback)."""
    paths = audiogen.make_library(lib, files, kinds=KINDS, seconds=seconds)
    odd = lib / "Odd" / "no audio chunk.wav"
    odd.parent.mkdir(parents=True)
    odd.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(100))
    return [*paths, odd]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """One library to copy from (encoding is the slow part of making one)."""
    lib = tmp_path_factory.mktemp("pristine").resolve() / "lib"
    return lib, make_v7_library(lib, 4 * len(KINDS))


@pytest.fixture
def library(pristine: tuple[Path, list[Path]], tmp_path: Path):
    """``library(per_kind)``: a fresh library under tmp_path/lib with ``per_kind`` files of
    every kind and the fallback file; returns its files, in :func:`make_v7_library` order."""
    src, every = pristine

    def _make(per_kind: int) -> list[Path]:
        out = []
        for p in [*every[: per_kind * len(KINDS)], every[-1]]:
            dest = tmp_path.resolve() / "lib" / p.relative_to(src)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dest)
            out.append(dest)
        return out

    return _make


def kind_of(paths: list[Path], path: Path) -> str:
    return KINDS[paths.index(path) % len(KINDS)]


def group(paths: list[Path], g: int) -> dict[str, Path]:
    """The ``g``-th file of every kind, by kind."""
    n = len(KINDS)
    return {KINDS[i]: paths[g * n + i] for i in range(n)}


def replace_audio(path: Path, kind: str) -> None:
    """Another recording of the same kind and tags over the file (a re-encode)."""
    audiogen.make_track(path.with_suffix(".new" + path.suffix), kind, seconds=0.6, seed=99)
    path.with_suffix(".new" + path.suffix).replace(path)


def columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]


def dump(path: Path, only: dict[str, list[str]] | None = None) -> dict[str, list[tuple]]:
    """Every row of every table (of ``only``'s tables and columns, when given)."""
    with closing(sqlite3.connect(path)) as db:
        tables = only or {
            t: columns(db, t)
            for (t,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        }
        return {
            t: db.execute(
                "SELECT " + ", ".join(f'"{c}"' for c in cols) + f' FROM "{t}" ORDER BY rowid'
            ).fetchall()
            for t, cols in tables.items()
        }


def schema_of(path: Path) -> dict[str, list[str]]:
    with closing(sqlite3.connect(path)) as db:
        names = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        return {t: columns(db, t) for (t,) in names}


def user_version(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def rows(path: Path, sql: str, *params: object) -> list[tuple]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute(sql, params).fetchall()


def states(path: Path) -> dict[str, tuple[int, str]]:
    """Each catalogued file's (present, state), by absolute path."""
    return {
        os.path.join(root, rel): (present, state)
        for root, rel, present, state in rows(
            path,
            "SELECT r.path_text, f.path_text, f.present, f.state FROM files f "
            "JOIN roots r ON r.id = f.root_id",
        )
    }


def identities(path: Path) -> dict[str, tuple[str, str, int, str | None]]:
    """Each file's (audio_hash, audio_method, audio_version, setup_hash), by absolute path."""
    return {
        os.path.join(root, rel): (audio, method, version, setup)
        for root, rel, audio, method, version, setup in rows(
            path,
            "SELECT r.path_text, f.path_text, f.audio_hash, f.audio_method, f.audio_version, "
            "f.setup_hash FROM files f JOIN roots r ON r.id = f.root_id",
        )
    }


def findings(path: Path) -> set[tuple[str, str]]:
    """(absolute path, kind) of every finding."""
    return {
        (os.path.join(root, rel), kind)
        for root, rel, kind in rows(
            path,
            "SELECT r.path_text, f.path_text, x.kind FROM findings x "
            "JOIN files f ON f.id = x.file_id JOIN roots r ON r.id = f.root_id",
        )
    }


def copy_catalog(src: Path, dest: Path) -> Path:
    """A copy of a closed catalog (and of its -wal, should one be left) in another folder."""
    dest.mkdir(parents=True)
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{src}{suffix}").exists():
            shutil.copy2(f"{src}{suffix}", dest / (src.name + suffix))
    return dest / src.name


def assert_is_schema_7(cat: Path, paths: list[Path]) -> None:
    """What the previous release wrote: schema 7, without the columns schema 8 adds, and
    identities of version 1 (Ogg's made page by page)."""
    assert user_version(cat) == 7
    schema = schema_of(cat)
    for table, added in V8_COLUMNS.items():
        assert not set(added) & set(schema[table]), (table, schema[table])
    methods = {p: m for p, (_, m) in identities_v7(cat).items()}
    assert set(methods) == {str(p) for p in paths}
    for p in paths:
        want = {".ogg": LEGACY_OGG_METHOD, ".opus": LEGACY_OGG_METHOD, ".flac": "flac",
                ".m4a": "mp4-mdat", ".wav": "riff-data", ".aiff": "aiff-ssnd",
                ".mp3": "stream", ".wv": "stream"}[p.suffix]  # fmt: skip
        assert methods[str(p)] == ("file" if "Odd" in p.parts else want), p


def recognised(cat: Path) -> dict[str, bool]:
    """Whether this code takes each file's bytes now for its baseline's audio (the test a
    version 1 baseline meets when the file hash changed), by absolute path."""
    out = {}
    with Catalog(cat) as catalog:
        root = catalog.roots()[0]
        for k in catalog.known_files(root.id).values():
            path = os.path.join(root.path, os.fsdecode(k.relpath))
            out[path] = same_audio(k, hash_file(path), path)
    return out


def identities_v7(cat: Path) -> dict[str, tuple[str, str]]:
    return {
        os.path.join(root, rel): (audio, method)
        for root, rel, audio, method in rows(
            cat,
            "SELECT r.path_text, f.path_text, f.audio_hash, f.audio_method FROM files f "
            "JOIN roots r ON r.id = f.root_id",
        )
    }


def by_path(results: Iterable[Any]) -> dict[str, str]:
    return {str(r.path): r.state for r in results}


def assert_current_identity(cat: Path, p: Path) -> None:
    """The stored baseline is this code's identity of the file as it is now."""
    d = hash_file(p)
    audio, method, version, setup = identities(cat)[str(p)]
    assert (audio, method, version, setup) == (
        d.audio_hash, d.audio_method, IDENTITY_VERSION, d.setup_hash
    ), p  # fmt: skip


# -- the tests --------------------------------------------------------------------------------


def test_a_release_catalog_with_findings_upgrades_without_a_verdict_changing(
    old: OldRelease, library, tmp_path: Path
) -> None:
    """The previous release scans, verifies, and finds a tag edit, bit rot and an audio
    change (with decode checks cached). The upgrade keeps every row; the next verify gives
    every file the verdict the previous release gives it, and every file whose bytes are its
    baseline's now carries an identity of version 2."""
    tmp_path = tmp_path.resolve()  # roots are stored as real paths
    lib, cat = tmp_path / "lib", tmp_path / "catalog" / "phonovault.sqlite"
    paths = library(3)
    _, scanned, verified = old.run(cat, ("roots", "add", str(lib)), ("scan",), ("verify",))
    assert (scanned["indexed"], verified["summary"]) == (len(paths), {"ok": len(paths)})
    edited = list(group(paths, 1).values())
    for p in edited:
        tagedits.set_title(p, "")
    third = group(paths, 2)
    rotted = [third[k] for k in ("flac16", "vorbis", "mp3", "aac")]
    for p in rotted:
        audiogen.flip_audio_byte(p)
    replaced = [third[k] for k in ("opus", "wav")]
    for p in replaced:
        replace_audio(p, kind_of(paths, p))
    (doc,) = old.run(cat, ("verify", "--decode"))
    v7 = {r["path"]: r["state"] for r in doc["results"]}
    expected_v7 = {str(p): "ok" for p in paths}
    expected_v7 |= {str(p): "tags-changed" for p in edited}
    expected_v7 |= {str(p): "corrupt" for p in rotted}
    expected_v7 |= {str(p): "audio-changed" for p in replaced}
    assert v7 == expected_v7
    assert_is_schema_7(cat, paths)
    v7_ids = identities_v7(cat)
    schema7 = schema_of(cat)
    before = dump(cat)
    assert before["decode_checks"] and before["findings"] and before["history"]
    backups_before = {b.path for b in list_backups(cat)}

    # What the previous release says at its next verify, on a copy of its catalog.
    ref = copy_catalog(cat, tmp_path / "reference")
    old.run(ref, ("verify",))

    with Catalog(cat):
        pass
    assert user_version(cat) == SCHEMA_VERSION == 8
    # Nothing lost, no verdict changed, not one column rewritten; decode verdicts were
    # filed under version 1 identities: dropped (the findings they made stay).
    assert dump(cat, schema7) == before | {"decode_checks": []}
    assert {r for (r,) in rows(cat, "SELECT DISTINCT audio_version FROM files")} == {1}
    assert rows(cat, "SELECT count(*) FROM files WHERE setup_hash IS NOT NULL "
                "OR ctime_ns IS NOT NULL OR seen_ctime_ns IS NOT NULL") == [(0,)]  # fmt: skip
    # The migration was preceded by a backup of the schema 7 catalog, which it left intact.
    (backup,) = {b.path for b in list_backups(cat)} - backups_before
    assert user_version(backup) == 7
    assert dump(backup) == before
    # How this code knows a version 1 baseline's audio (a tag edit would ask): every file
    # whose bytes are the baseline's passes, damage does not (the fallback's identity is its
    # file hash: a changed file hash is changed audio).
    damaged = [*rotted, *replaced, paths[-1]]
    assert recognised(cat) == {str(p): p not in damaged for p in paths}

    with Catalog(cat) as catalog:
        report = verify(catalog)
    now, reference = by_path(report.results), states(ref)
    assert now == {p: s for p, (_, s) in reference.items()}
    expected = {str(p): "ok" for p in paths}  # a tag edit already judged is the baseline
    expected |= {str(p): "corrupt" for p in rotted}
    expected |= {str(p): "audio-changed" for p in replaced}
    assert now == expected
    assert states(cat) == reference
    assert findings(cat) == findings(ref)
    kinds = {kind for _, kind in findings(cat)}
    assert "tags-changed" not in kinds and kinds >= {"corrupt", "audio-changed"}
    history = rows(cat, "SELECT count(*) FROM history")[0][0]
    assert history == len(before["history"]) + len(paths)
    assert history == rows(ref, "SELECT count(*) FROM history")[0][0]
    # Unchanged bytes: a version 2 identity now. Damage keeps its version 1 baseline until
    # the user accepts or repairs the file.
    for p in paths:
        if p in rotted or p in replaced:
            assert identities(cat)[str(p)][2] == 1
            assert identities(cat)[str(p)][:2] == v7_ids[str(p)]
        else:
            assert_current_identity(cat, p)
    assert identities(cat)[str(group(paths, 0)["vorbis"])][1] == "ogg-packets"


def test_a_second_open_changes_nothing(old: OldRelease, library, tmp_path: Path) -> None:
    tmp_path = tmp_path.resolve()  # roots are stored as real paths
    lib, cat = tmp_path / "lib", tmp_path / "catalog" / "phonovault.sqlite"
    paths = library(1)
    old.run(cat, ("roots", "add", str(lib)), ("scan",))
    assert user_version(cat) == 7
    with Catalog(cat):
        pass
    first, backups = dump(cat), list_backups(cat)
    schema = rows(cat, "SELECT type, name, sql FROM sqlite_master ORDER BY name")
    assert user_version(cat) == 8
    for _ in range(2):
        with Catalog(cat):
            pass
        assert dump(cat) == first
        assert rows(cat, "SELECT type, name, sql FROM sqlite_master ORDER BY name") == schema
        assert user_version(cat) == 8
        assert list_backups(cat) == backups  # no migration: no backup before one
    with Catalog(cat) as catalog:
        assert by_path(verify(catalog).results) == {str(p): "ok" for p in paths}
    upgraded = dump(cat)
    assert {v for (v,) in rows(cat, "SELECT audio_version FROM files")} == {IDENTITY_VERSION}
    with Catalog(cat):
        pass
    assert dump(cat) == upgraded


@pytest.mark.parametrize("reader", ["verify", "scan"])
def test_files_changed_since_the_release_last_read_them_are_judged_as_it_would(
    old: OldRelease, library, tmp_path: Path, reader: str
) -> None:
    """Baselines of version 1, files changed since: tag edits of every kind (Ogg's cover
    re-paginates its header pages), bit rot, re-encodes, a touch, a rename. The first read
    after the upgrade (a verify, or a scan with worker processes) judges each one as the
    previous release does, and as DESIGN.md's table says."""
    tmp_path = tmp_path.resolve()  # roots are stored as real paths
    lib, cat = tmp_path / "lib", tmp_path / "catalog" / "phonovault.sqlite"
    paths = library(4)
    _, _, verified = old.run(cat, ("roots", "add", str(lib)), ("scan",), ("verify",))
    assert verified["summary"] == {"ok": len(paths)}
    assert_is_schema_7(cat, paths)
    v7_ids = identities_v7(cat)
    titled, covered = group(paths, 0), group(paths, 1)
    for kind, p in titled.items():
        tagedits.set_title(p, kind)
    for kind, p in covered.items():
        tagedits.add_cover(p, kind)
    rotted, replaced = [], []
    for i, (kind, p) in enumerate(group(paths, 2).items()):
        if i % 2 == 0 or kind in OGG_KINDS:
            audiogen.flip_audio_byte(p)
            rotted.append(p)
        else:
            replace_audio(p, kind)
            replaced.append(p)
    touched, renamed = group(paths, 3)["flac24"], group(paths, 3)["opus"]
    st = touched.stat()
    os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    moved = renamed.with_name("renamed " + renamed.name)
    renamed.rename(moved)
    edited = [*titled.values(), *covered.values()]
    assert {kind_of(paths, p) for p in rotted} >= set(OGG_KINDS)

    ref = copy_catalog(cat, tmp_path / "reference")
    old.run(ref, (reader,))
    with Catalog(cat) as catalog:
        if reader == "verify":
            report: Any = verify(catalog)
        else:  # more than one worker: the reads happen in worker processes
            report = scan(catalog, options=ScanOptions(workers=2, readers="processes"))
    reference = states(ref)
    assert states(cat) == reference
    expected = {str(p): (1, "ok") for p in paths if p != renamed}
    expected |= {str(p): (1, "tags-changed") for p in edited}
    expected |= {str(p): (1, "audio-changed") for p in replaced}
    expected[str(moved)] = (1, "moved")
    if reader == "verify":
        expected |= {str(p): (1, "corrupt") for p in rotted}
        assert len(report.results) == len(paths)
    else:  # a scan reads what was written to; rot wrote nothing: not read, judged later
        changed = [*edited, *replaced, touched, moved]
        assert (report.updated, report.indexed) == (len(changed) - 1, 0)
        assert report.unchanged == len(paths) - len(changed)
        assert report.bytes_read == sum(p.stat().st_size for p in changed)
    assert states(cat) == expected
    changes = {
        p: json.loads(d) for p, d in rows(cat, "SELECT f.path_text, x.detail FROM findings x "
                                          "JOIN files f ON f.id = x.file_id "
                                          "WHERE x.kind = 'tags-changed'")
    }  # fmt: skip
    assert len(changes) == len(edited)
    for p in titled.values():
        said = changes[str(p.relative_to(lib))]["changes"]
        assert {"field": "title", "old": p.stem.split(" ", 1)[1], "new": NEW_TITLE} in said
    for p in [*edited, touched, moved]:
        assert_current_identity(cat, p)
    for p in [*rotted, *replaced]:
        assert identities(cat)[str(p)][:3] == (*v7_ids[str(p)], 1)
    if reader == "scan":  # the stat walk did not read them: version 1 until a read
        assert identities(cat)[str(group(paths, 3)["mp3"])][2] == 1

    # The next verify: edits are the baseline now, damage stays damage (Ogg's version 1
    # hash is computed again), and everything read is of version 2.
    with Catalog(cat) as catalog:
        final = by_path(verify(catalog).results)
    settled = {str(p): "ok" for p in [*paths, moved] if p != renamed}
    settled |= {str(p): "corrupt" for p in rotted} | {str(p): "audio-changed" for p in replaced}
    assert final == settled
    for p in paths:
        if p not in rotted and p not in replaced:
            assert_current_identity(cat, moved if p == renamed else p)


def test_a_file_renamed_and_retagged_after_the_release_is_moved(
    old: OldRelease, library, tmp_path: Path
) -> None:
    tmp_path = tmp_path.resolve()  # roots are stored as real paths
    lib, cat = tmp_path / "lib", tmp_path / "catalog" / "phonovault.sqlite"
    paths = library(1)
    old.run(cat, ("roots", "add", str(lib)), ("scan",))
    flac, ogg = group(paths, 0)["flac16"], group(paths, 0)["vorbis"]
    moves = {}
    for p in (flac, ogg):
        moves[str(p)] = str(p.with_name("retagged " + p.name))
        p.rename(moves[str(p)])
        tagedits.set_title(Path(moves[str(p)]), "")
    ref = copy_catalog(cat, tmp_path / "reference")
    (doc,) = old.run(ref, ("verify",))
    got = {r["path"]: (r["state"], r.get("from")) for r in doc["results"]}
    if {got.get(new) for new in moves.values()} != {("moved", old_) for old_ in moves}:
        pytest.fail(f"the previous release does not call them moved: {got}")
    with Catalog(cat) as catalog:
        now = {r.path: (r.state, r.moved_from) for r in verify(catalog).results}
    assert {now.get(new) for new in moves.values()} == {("moved", old_) for old_ in moves}


def test_the_upgrade_keeps_stored_sha256_and_parses_no_tags(
    old: OldRelease, library, tmp_path: Path
) -> None:
    """A release catalog scanned with ``--sha256``: the verify that upgrades each identity
    (without ``--sha256``) keeps every stored SHA-256 and the baseline's tags as they were."""
    tmp_path = tmp_path.resolve()
    lib, cat = tmp_path / "lib", tmp_path / "catalog" / "phonovault.sqlite"
    library(1)
    old.run(cat, ("roots", "add", str(lib)), ("scan", "--sha256"))
    before = rows(cat, "SELECT relpath, sha256, raw_tags, title FROM files ORDER BY relpath")
    assert before and all(r[1] for r in before)
    with Catalog(cat) as catalog:
        assert set(by_path(verify(catalog).results).values()) == {"ok"}
    after = rows(cat, "SELECT relpath, sha256, raw_tags, title FROM files ORDER BY relpath")
    assert after == before
    assert {v for (v,) in rows(cat, "SELECT audio_version FROM files")} == {2}
