"""The command line as a script would use it: real files, a real catalog, JSON on stdout."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import audiogen
import mutagen
import pytest

from phonovault.core.catalog import SCHEMA_VERSION, Catalog
from phonovault.core.cli.main import main
from phonovault.core.errors import SchemaTooNewError


def cli(*args: str, catalog: Path | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    argv = list(args) + (["--catalog", str(catalog)] if catalog else [])
    code = main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def cli_json(*args: str, catalog: Path) -> tuple[int, dict]:
    code, out, _err = cli(*args, "--json", catalog=catalog)
    return code, json.loads(out)


@pytest.fixture
def lib(tmp_path: Path, make_file) -> Path:
    root = tmp_path / "Music"
    for i, kind in enumerate(["flac24", "opus", "alac", "aiff", "wavpack"]):
        make_file(kind, f"A/B/{i:02d}{audiogen.KINDS[kind].suffix}", root=root)
    return root


def test_full_workflow_as_json(lib: Path, tmp_path: Path) -> None:
    cat = tmp_path / "c.sqlite"
    assert cli_json("roots", "add", str(lib), catalog=cat)[0] == 0
    (lib / "junk.flac").write_bytes(b"not audio at all")
    code, doc = cli_json("scan", catalog=cat)
    assert code == 1  # the junk file is a finding
    assert doc["indexed"] == 6 and doc["failed"] == 1 and doc["skipped"] == 0
    assert doc["failures"][0]["path"] == str(lib / "junk.flac")
    assert "tags unreadable" in doc["failures"][0]["reason"]
    (lib / "junk.flac").unlink()
    target = lib / "A/B/00.flac"
    st = target.stat()
    f = mutagen.File(target)
    f["title"] = ["edited"]
    f.save()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    code, doc = cli_json("verify", catalog=cat)
    states = {Path(r["path"]).name: r["state"] for r in doc["results"]}
    assert states == {
        "00.flac": "tags-changed",
        "01.opus": "ok",
        "02.m4a": "ok",
        "03.aiff": "ok",
        "04.wv": "ok",
        "junk.flac": "missing",
    }
    assert doc["summary"] == {"ok": 4, "tags-changed": 1, "missing": 1}
    assert code == 1
    code, doc = cli_json("status", catalog=cat)
    assert code == 1 and doc["files"] == 6 and doc["states"]["missing"] == 1
    code, doc = cli_json("findings", catalog=cat)
    assert [f["kind"] for f in doc["findings"]][:1] == ["missing"]
    code, doc = cli_json("show", str(target), catalog=cat)
    assert code == 0 and doc["title"] == "edited" and doc["bit_depth"] == 24
    assert [h["state"] for h in doc["history"]] == ["ok", "tags-changed"]


def test_moved_json_has_from(lib: Path, tmp_path: Path) -> None:
    cat = tmp_path / "c.sqlite"
    cli("roots", "add", str(lib), catalog=cat)
    cli("scan", catalog=cat)
    (lib / "A/B/01.opus").rename(lib / "A/renamed.opus")
    code, doc = cli_json("verify", catalog=cat)
    moved = [r for r in doc["results"] if r["state"] == "moved"]
    assert moved == [
        {"path": str(lib / "A/renamed.opus"), "state": "moved", "from": str(lib / "A/B/01.opus")}
    ]
    assert code == 0  # a move is information, not damage


def test_status_exit_codes_and_human_output(lib: Path, tmp_path: Path) -> None:
    cat = tmp_path / "c.sqlite"
    cli("roots", "add", str(lib), catalog=cat)
    code, out, _ = cli("status", catalog=cat)
    assert code == 0 and "0 files" in out
    code, out, _ = cli("scan", catalog=cat)
    assert code == 0 and "5 new" in out and "\x1b[" not in out  # no colour off a terminal
    code, out, _ = cli("verify", catalog=cat)
    assert code == 0 and "5 ok" in out
    assert cli("status", catalog=cat)[0] == 0


def test_errors_are_sentences_with_exit_2(tmp_path: Path) -> None:
    cat = tmp_path / "c.sqlite"
    code, _out, err = cli("roots", "add", str(tmp_path / "nope"), catalog=cat)
    assert code == 2 and "is not a folder" in err and "Traceback" not in err
    assert not cat.exists()  # a failed 'roots add' starts no catalog
    code, _, err = cli("scan", catalog=cat)
    assert code == 2 and "no catalog at" in err and "roots add" in err and not cat.exists()
    Catalog(cat, create=True).close()
    code, _, err = cli("show", str(tmp_path / "x.flac"), catalog=cat)
    assert code == 2 and "not under any registered root" in err
    code, _, err = cli("scan", catalog=cat)
    assert code == 2 and "no library roots" in err
    assert cli("frobnicate")[0] == 2


def test_catalog_env_var_and_default_location(
    lib: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHONOVAULT_CATALOG", str(tmp_path / "env.sqlite"))
    assert cli("roots", "add", str(lib))[0] == 0
    assert (tmp_path / "env.sqlite").exists()
    monkeypatch.delenv("PHONOVAULT_CATALOG")
    assert cli("roots", "add", str(lib))[0] == 0
    data_home = Path(os.environ["XDG_DATA_HOME"])
    assert (data_home / "phonovault" / "catalog.sqlite").exists()


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    cat = tmp_path / "c.sqlite"
    Catalog(cat).close()
    db = sqlite3.connect(cat)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    before = cat.read_bytes()
    with pytest.raises(SchemaTooNewError, match="newer Phonovault"):
        Catalog(cat)
    code, _, err = cli("status", catalog=cat)
    assert code == 2 and "newer Phonovault" in err
    assert cat.read_bytes() == before


def test_garbage_catalog_is_a_clear_error(tmp_path: Path) -> None:
    cat = tmp_path / "c.sqlite"
    cat.write_bytes(b"this is not a database" * 100)
    code, _, err = cli("status", catalog=cat)
    assert code == 2 and "cannot open the catalog" in err


def test_console_script_runs(tmp_path: Path) -> None:
    Catalog(tmp_path / "c.sqlite").close()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "phonovault.core.cli",
            "--catalog",
            str(tmp_path / "c.sqlite"),
            "status",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["files"] == 0


def test_schema_4_catalog_merges_the_old_unreadable_tags_findings(tmp_path: Path) -> None:
    """Migration 5: the scan's old 'unreadable-tags' findings become the rule's one."""
    cat = tmp_path / "old.sqlite"
    Catalog(cat).close()
    db = sqlite3.connect(cat)
    db.execute("INSERT INTO roots (path, path_text, added) VALUES (x'2f6d', '/m', 0)")
    for n in (1, 2):
        db.execute(
            "INSERT INTO files (root_id, relpath, path_text, size, mtime_ns, inode, first_seen) "
            "VALUES (1, ?, ?, 0, 0, 0, 0)",
            (f"{n}.mp3".encode(), f"{n}.mp3"),
        )
    db.execute(
        "INSERT INTO findings (file_id, kind, severity, message, created) "
        "VALUES (1, 'unreadable-tags', 'warning', 'old', 0)"
    )
    db.execute(
        "INSERT INTO findings (file_id, kind, severity, message, created) "
        "VALUES (2, 'unreadable-tags', 'warning', 'old', 0)"
    )
    db.execute(
        "INSERT INTO findings (file_id, kind, severity, message, created) "
        "VALUES (2, 'rule:tags-unreadable', 'error', 'new', 1)"
    )
    for table, column in [("files", "audio_version"), ("files", "setup_hash"),
                          ("files", "ctime_ns"), ("files", "seen_ctime_ns"),
                          ("copies", "audio_version")]:  # fmt: skip
        db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # schema 8
    db.execute("DROP TABLE decode_checks")  # schema 6 and later: wind back to 4
    db.execute("ALTER TABLE files DROP COLUMN audio_fallback")
    db.execute("PRAGMA user_version = 4")
    db.commit()
    db.close()
    with Catalog(cat) as catalog:
        found = sorted((f.file_id, f.kind, f.severity) for f in catalog.findings())
    assert found == [(1, "rule:tags-unreadable", "error"), (2, "rule:tags-unreadable", "error")]


def test_show_says_why_the_audio_hash_is_the_whole_file(tmp_path: Path, lib: Path) -> None:
    odd = lib / "odd.wav"
    odd.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + b"\x00" * 100)  # no data chunk
    cat = tmp_path / "c.sqlite"
    cli("roots", "add", str(lib), catalog=cat)
    cli("scan", catalog=cat)
    code, out, _ = cli("show", str(odd), catalog=cat)
    assert code == 0 and "audio_fallback" in out and "no audio chunk" in out
    _, doc = cli_json("show", str(odd), catalog=cat)
    assert doc["audio_method"] == "file" and "no audio chunk" in doc["audio_fallback"]
