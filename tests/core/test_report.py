"""The health report from a real, damaged library: the page parses, escapes, loads nothing
from outside; the JSON carries the same numbers; the CLI's exit codes and refusals."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import time
from html.parser import HTMLParser
from pathlib import Path

import audiogen
import mutagen
import pytest
from audiogen import flip_audio_byte

from phonovault.core.backups.targets import add_target, verify_target
from phonovault.core.catalog import Catalog
from phonovault.core.cli.main import main
from phonovault.core.fixity.scan import scan
from phonovault.core.fixity.verify import verify
from phonovault.core.library.roots import add_root, locate
from phonovault.core.plugin_api import load_plugins
from phonovault.core.report.health import DAY, ReportError, build_report
from phonovault.core.report.output import render_html, render_json, write_report
from phonovault.core.rules.engine import check, mute

# A "/" cannot be in a file name: the path is a folder "<script>alert(1)<" holding
# "script>.flac", so the full path spells the attack.
EVIL = "<script>alert(1)</script>.flac"
RAW_NAME = b"caf\xe9 \xff.flac"  # Latin-1 bytes: not UTF-8


def cli(*args: str, catalog: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([*args, "--catalog", str(catalog)], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


class StrictParser(HTMLParser):
    """html.parser never raises; this one records what a careless page gets wrong: end tags
    that close nothing open, elements left open, and every start tag seen."""

    VOID = frozenset({"meta", "br", "rect", "img", "link", "input", "hr", "path", "circle"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> StrictParser:
    parser = StrictParser()
    parser.feed(page)
    parser.close()
    assert parser.errors == []
    assert parser.stack == []
    return parser


@pytest.fixture
def music(tmp_path: Path) -> tuple[Path, list[Path]]:
    root = tmp_path / "Music"
    paths = audiogen.make_library(root, 6, kinds=["flac16", "mp3", "vorbis"], per_album=3)
    evil = root / "Artist 000" / "Album 0000" / EVIL
    evil.parent.mkdir(parents=True)
    shutil.copy(paths[0], evil)
    shutil.copy(paths[3], os.fsencode(root / "Artist 000") + b"/" + RAW_NAME)
    return root, paths


@pytest.fixture
def damaged(tmp_path: Path, music) -> tuple[Path, Path, list[Path]]:
    """A scanned library with one corrupt file, one missing, tag rules run: (catalog, root,
    paths)."""
    root, paths = music
    cat = tmp_path / "c.sqlite"
    with Catalog(cat) as catalog:
        add_root(catalog, root)
        scan(catalog)
        flip_audio_byte(paths[1])
        paths[2].unlink()
        verify(catalog)
        check(catalog, plugins=load_plugins())
    return cat, root, paths


def test_html_parses_lists_findings_and_escapes_every_name(damaged) -> None:
    cat, root, paths = damaged
    with Catalog(cat) as catalog:
        page = render_html(build_report(catalog))
    parser = parse(page)
    text = "".join(parser.text)
    assert "script" not in parser.tags  # the file name is text, not markup
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;.flac" in page
    assert str(root / "Artist 000" / "Album 0000" / EVIL) in text
    assert str(paths[1]) in text and str(paths[2]) in text  # corrupt, missing
    assert "Corrupt (bit rot)" in text and "Missing" in text
    assert "No embedded cover art" in text  # a rule finding, named by its rule
    assert "caf\ufffd \ufffd.flac" in text  # undecodable bytes shown as U+FFFD
    assert "Needs attention" in text
    assert {"svg", "rect", "table", "details"} <= set(parser.tags)


def test_html_loads_nothing_from_anywhere(damaged) -> None:
    cat, _root, _paths = damaged
    with Catalog(cat) as catalog:
        page = render_html(build_report(catalog)).lower()
    for needle in ('src="http', "href=\"http", "@import", "url(", "://", "<script", "<link",
                   "<img", "<iframe", "<object", "<embed", "src="):  # fmt: skip
        assert needle not in page, needle
    assert "prefers-color-scheme: dark" in page and "@media print" in page


def test_json_has_the_counts_and_exact_bytes_of_odd_names(damaged) -> None:
    cat, root, paths = damaged
    with Catalog(cat) as catalog:
        report = build_report(catalog)
        doc = json.loads(render_json(report))
    assert doc["report_version"] == 1 and doc["healthy"] is False
    assert doc["summary"]["files"] == 8 and doc["summary"]["albums"] == 2
    states = doc["summary"]["states"]
    assert (states["corrupt"], states["missing"], states["ok"]) == (1, 1, 6)
    assert doc["summary"]["need_attention"] == 2
    s = doc["summary"]
    assert s["healthy"] + s["warnings_only"] + s["need_attention"] == s["files"]
    kinds = {k["kind"]: k for k in doc["findings"]["kinds"]}
    assert kinds["corrupt"]["count"] == 1 and kinds["corrupt"]["severity"] == "error"
    assert kinds["corrupt"]["files"][0]["path"] == str(paths[1])
    assert kinds["missing"]["files"][0]["path"] == str(paths[2])
    assert doc["findings"]["counts"]["error"] == 2
    assert doc["findings"]["counts"] == report.severity_counts()
    odd = [f for k in kinds.values() for f in k["files"] if "path_b64" in f]
    assert odd and all(f["path"].endswith("caf\ufffd \ufffd.flac") for f in odd)
    exact = os.fsencode(root / "Artist 000") + b"/" + RAW_NAME
    assert base64.b64decode(odd[0]["path_b64"]) == exact
    assert doc["verification"]["ages"]["7d"] == 7  # every present file, just verified
    assert doc["verification"]["scrub_coverage"] == 1.0
    assert [r["path"] for r in doc["roots"]] == [str(root)] and doc["roots"][0]["online"]
    assert doc["roots"][0]["gone"] == 1


def test_freshness_buckets_age_with_time(damaged) -> None:
    cat, _root, _paths = damaged
    with Catalog(cat) as catalog:
        later = build_report(catalog, now=time.time() + 40 * DAY)
        much_later = build_report(catalog, now=time.time() + 400 * DAY)
    ages = {b.key: b.files for b in later.freshness.buckets}
    assert ages == {"never": 0, "7d": 0, "30d": 0, "90d": 7, "1y": 0, "older": 0}
    assert later.freshness.coverage == 0.0 and later.freshness.oldest is not None
    assert {b.key: b.files for b in much_later.freshness.buckets}["older"] == 7
    page = render_html(later)
    assert "0.0 %" in page and "40 days ago" in page


def test_lists_are_capped_per_kind_and_say_how_many_more(damaged) -> None:
    cat, _root, _paths = damaged
    with Catalog(cat) as catalog:
        report = build_report(catalog, per_kind=2)
    cover = next(g for g in report.findings if g.kind == "rule:cover-missing")
    assert cover.count == 7 and len(cover.items) == 2 and cover.more == 5
    assert [i.path for i in cover.items] == sorted(i.path for i in cover.items)
    page = render_html(report)
    parse(page)
    assert "… and 5 more" in page and "phonovault findings --all --kind rule:cover-missing" in page


def test_decode_findings_and_mutes_are_reported(damaged) -> None:
    cat, _root, paths = damaged
    with Catalog(cat) as catalog:
        file_id = locate(catalog, paths[0])[1].id
        with catalog.transaction():  # what the decode check stores: an ordinary finding
            catalog.set_finding(file_id, "truncated", "decoded 0.4 s of 1.0 s", time.time())
        mute(catalog, "cover-missing", "covers live in folder.jpg", file_id=file_id)
        report = build_report(catalog)
    truncated = next(g for g in report.findings if g.kind == "truncated")
    assert truncated.title == "Truncated" and truncated.fix
    assert [i.path for i in truncated.items] == [str(paths[0])]
    cover = next(g for g in report.findings if g.kind == "rule:cover-missing")
    assert str(paths[0]) not in [i.path for i in cover.items]  # muted: left out
    assert [(m.rule, m.target, m.reason) for m in report.mutes] == [
        ("cover-missing", str(paths[0]), "covers live in folder.jpg")
    ]
    page = render_html(report)
    assert "covers live in folder.jpg" in page and "decoded 0.4 s of 1.0 s" in page


def test_backups_coverage_and_targets(tmp_path: Path, music) -> None:
    root, _paths = music
    backup = tmp_path / "Backup"
    shutil.copytree(root, backup)
    (backup / "Artist 000" / "Album 0000" / "01 Song 0.flac").unlink()
    with Catalog(tmp_path / "c.sqlite") as catalog:
        add_root(catalog, root)
        scan(catalog)
        verify_target(catalog, add_target(catalog, backup, root))
        report = build_report(catalog)
    assert report.backups.bands == (1, 7, 0)
    (target,) = report.backups.targets
    assert target.online and target.root == str(root)
    assert target.copies == {"match": 7, "missing": 1}
    doc = json.loads(render_json(report))
    assert doc["backups"]["files_without_good_copy"] == 1
    assert doc["backups"]["good_copies"] == {"0": 1, "1": 7}
    page = render_html(report)
    parse(page)
    assert "no good copy: 1 (12.5 %)" in page
    assert not report.needs_attention  # backups inform; they do not fail the report


def test_write_report_is_atomic_and_refuses_music_and_the_catalog(damaged, tmp_path) -> None:
    cat, _root, paths = damaged
    out = tmp_path / "out"
    out.mkdir()
    with Catalog(cat) as catalog:
        report = write_report(catalog, out / "health.json")
        assert json.loads((out / "health.json").read_text())["summary"]["files"] == 8
        (out / "old.html").write_text("an older report")
        write_report(catalog, out / "old.html")
        assert (out / "old.html").read_text().startswith("<!DOCTYPE html>")
        write_report(catalog, out / "report.txt", "json")  # the format given wins
        json.loads((out / "report.txt").read_text())
        for bad in (out / "x.flac", out / "x.MP3", cat, paths[0], out):
            with pytest.raises(ReportError):
                write_report(catalog, bad)
        with pytest.raises(ReportError):
            write_report(catalog, out / "x.html", "pdf")
        with pytest.raises(ReportError, match="cannot write"):
            write_report(catalog, tmp_path / "no" / "such" / "folder.html")
    assert report.needs_attention
    assert sorted(p.name for p in out.iterdir()) == ["health.json", "old.html", "report.txt"]
    assert paths[0].read_bytes()[:4] == b"fLaC"  # the music was not touched


def test_cli_exit_codes_stdout_and_json(damaged, tmp_path: Path) -> None:
    cat, _root, _paths = damaged
    code, out, err = cli("report", str(tmp_path / "r.html"), catalog=cat)
    assert code == 1, err
    assert "wrote the health report" in out and (tmp_path / "r.html").exists()
    code, out, _err = cli("report", "-", catalog=cat)
    assert code == 1 and out.startswith("<!DOCTYPE html>")
    parse(out)
    code, out, _err = cli("report", "-", "--format", "json", catalog=cat)
    assert code == 1 and json.loads(out)["summary"]["files"] == 8
    code, out, _err = cli("report", "--json", str(tmp_path / "r.json"), catalog=cat)
    doc = json.loads(out)
    assert code == 1 and doc["format"] == "json" and doc["healthy"] is False
    assert doc["written"] == str(tmp_path / "r.json") and doc["bytes"] > 0
    assert json.loads((tmp_path / "r.json").read_text())["healthy"] is False
    code, out, _err = cli("report", "--json", "-", catalog=cat)  # the report is the document
    assert code == 1 and json.loads(out)["report_version"] == 1
    code, out, err = cli("report", "--json", "-", "--format", "html", catalog=cat)
    assert code == 2 and json.loads(out)["error"]


def test_cli_refuses_music_names_and_missing_catalogs(damaged, tmp_path: Path) -> None:
    cat, _root, _paths = damaged
    code, _out, err = cli("report", str(tmp_path / "oops.flac"), catalog=cat)
    assert code == 2 and "music file" in err and not (tmp_path / "oops.flac").exists()
    code, _out, err = cli("report", str(tmp_path / "r.html"), catalog=tmp_path / "none.sqlite")
    assert code == 2 and "no catalog" in err
    code, _out, _err = cli("report", "-", "--format", "pdf", catalog=cat)
    assert code == 2


def test_healthy_library_exits_0_and_says_so(tmp_path: Path, make_file) -> None:
    root = tmp_path / "Music"
    for i, kind in enumerate(["flac16", "mp3"]):
        path = make_file(kind, f"A/B/{i:02d}{audiogen.KINDS[kind].suffix}", root=root)
        tags = mutagen.File(path, easy=True)
        tags["title"] = [f"Song {i}"]
        tags.save()
    cat = tmp_path / "c.sqlite"
    assert cli("roots", "add", str(root), catalog=cat)[0] == 0
    assert cli("scan", catalog=cat)[0] == 0
    code, out, _err = cli("report", str(tmp_path / "r.html"), catalog=cat)
    assert code == 0 and "healthy" in out
    page = (tmp_path / "r.html").read_text()
    parse(page)
    assert "Healthy" in page and "No backup drive is registered" in page


def test_an_offline_root_needs_attention(tmp_path: Path, music) -> None:
    root, _paths = music
    with Catalog(tmp_path / "c.sqlite") as catalog:
        add_root(catalog, root)
        scan(catalog)
        root.rename(tmp_path / "Unplugged")
        report = build_report(catalog)
    assert report.needs_attention and not report.roots[0].online
    assert report.severity_counts() == {"error": 0, "warning": 0, "info": 0}
    assert "offline: folder not found" in render_html(report)


def test_an_empty_catalog_still_makes_a_page(tmp_path: Path) -> None:
    with Catalog(tmp_path / "c.sqlite") as catalog:
        report = build_report(catalog)
    assert not report.needs_attention and report.summary.files == 0
    parse(render_html(report))
    assert json.loads(render_json(report))["verification"]["scrub_coverage"] == 0.0


def test_the_report_reads_one_snapshot_while_another_connection_writes(damaged) -> None:
    cat, _root, paths = damaged
    with Catalog(cat) as reader, Catalog(cat) as writer:
        file_id = locate(writer, paths[0])[1].id
        with reader.read_snapshot():
            before = reader.finding_kind_counts()
            with writer.transaction():
                writer.set_finding(file_id, "decode-error", "frame 12: CRC mismatch", time.time())
            assert reader.finding_kind_counts() == before  # the snapshot holds
        assert ("decode-error", "error", 1) in reader.finding_kind_counts()
        build_report(reader)
        reader.add_root(cat.parent)  # no transaction was left open: writes still work
