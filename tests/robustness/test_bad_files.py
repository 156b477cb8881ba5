"""The promise, tested on a generated corpus: "Bad input gets a clear error, never a crash. One
bad file never stops a scan; it becomes a finding the user can read."

Every file of ``badfiles.corpus`` (empty, random, truncated at each structural boundary,
absurd sizes, broken covers, lying extensions, headers only, fake durations, parser-loop
shapes) goes through the real scan, verify and check, and the CLI, in one folder beside a good
file of every kind. Each read runs under a watchdog (a hang detector, not a speed test).
"""

from __future__ import annotations

import io
import json
import os
import tracemalloc
from collections import Counter
from pathlib import Path

import badfiles
import pytest
from badfiles import METHOD, BadFile
from hostile import unreadable, within

from phonovault.core.catalog import Catalog
from phonovault.core.cli.main import main
from phonovault.core.config import Settings
from phonovault.core.fixity.reading import FileReadError, observe
from phonovault.core.fixity.scan import scan
from phonovault.core.fixity.verify import verify
from phonovault.core.identity.digests import hash_file
from phonovault.core.library.roots import add_root
from phonovault.core.plugin_api import load_plugins
from phonovault.core.rules.engine import check

PER_FILE = 10.0  # seconds: far beyond any real read; only a hang reaches it
GOOD = {f"good-{k}{badfiles.SUFFIX[k]}": k for k in badfiles.KINDS}


def test_the_corpus_covers_every_family_and_structure(
    corpus: list[BadFile], templates: dict[str, Path]
) -> None:
    families = Counter(f.family for f in corpus)
    assert families["empty"] == families["random"] / 2 == 34  # one per scanned extension
    assert families["truncated"] > 600 and families["absurd"] > 60
    assert (
        min(families[f] for f in ("cover", "extension", "headers-only", "duration", "loop")) >= 10
    )
    cuts = {f.name for f in corpus if f.family == "truncated"}
    for kind in badfiles.KINDS:  # each kind is cut at each structure the parsers found
        spans = badfiles.structure(templates[kind].read_bytes())
        assert len(spans) >= 6, kind
        for span in spans[:4]:
            assert f"{kind}-cut-{span.start + 1:06d}{badfiles.SUFFIX[kind]}" in cuts
    mp3 = badfiles.structure(templates["mp3"].read_bytes())
    assert [s.what for s in mp3[:2]] == ["id3v2 header", "id3v2 frame b'TIT2'"]
    assert any(s.what == "mp3 frame 0" for s in mp3)


def test_every_bad_file_is_read_cleanly_and_in_time(
    corpus: list[BadFile], corpus_root: Path
) -> None:
    """The unit of work the scanner gives its threads, on each file: a result or a
    FileReadError, never an exception; every reason readable; no file near the time limit."""
    folder = corpus_root / "Bad Album"
    flagged = 0
    for bad in corpus:
        path = str(folder / bad.name)
        try:
            obs = within(PER_FILE, f"reading {bad.name} ({bad.why})",
                         lambda p=path, n=bad.name: observe(p, n.encode()))  # fmt: skip
        except FileReadError as exc:  # not expected for any of them, but it is not a crash
            pytest.fail(f"{bad.name} ({bad.why}) could not be read: {exc.reason}")
        assert obs.digests is not None and obs.digests.size == len(bad.data)
        reasons = [obs.tag_error, obs.digests.fallback_reason]
        for reason in filter(None, reasons):
            assert unreadable(reason) is None, f"{bad.name}: {reason!r}: {unreadable(reason)}"
        flagged += any(reasons)
        if bad.family == "empty":
            assert obs.tag_error == "file is empty" and obs.digests.audio_method == "file"
    assert flagged > len(corpus) * 0.6  # most bad files are recognised as bad, not as music


def test_scan_goes_on_and_every_bad_file_becomes_something_readable(
    corpus: list[BadFile], corpus_root: Path, tmp_path: Path
) -> None:
    with Catalog(tmp_path / "c.sqlite") as catalog:
        add_root(catalog, corpus_root)
        report = within(120, "scanning the whole corpus", lambda: scan(catalog))
        records = {Path(os.fsdecode(r.relpath)).name: r for r in catalog.files()}
        findings = catalog.findings()
    assert report.indexed == len(corpus) + len(GOOD) == len(records)
    assert not report.cancelled and not report.offline_roots and report.missing == 0
    for name, kind in GOOD.items():  # the good files beside them are untouched by it all
        rec = records[name]
        assert (rec.state, rec.tag_error, rec.title) == ("ok", None, f"T {kind}"), name
        assert rec.audio_method == METHOD[kind]
    failed = {Path(f.path).name: f.reason for f in report.failed}
    assert not set(failed) & set(GOOD)
    for bad in corpus:
        rec = records[bad.name]
        assert rec.file_hash and rec.size == len(bad.data) and rec.state == "ok", bad.name
        if rec.tag_error:
            assert failed[bad.name] == f"tags unreadable: {rec.tag_error}"
            assert unreadable(rec.tag_error) is None, (bad.name, rec.tag_error)
        else:  # parsed: mutagen found a stream in it (a cut at the very end, say)
            assert rec.format and bad.name not in failed
    for finding in findings:
        assert unreadable(finding.message) is None, (finding.path, finding.message)
    unparsed = {Path(f.path).name for f in findings if f.kind == "rule:tags-unreadable"}
    assert unparsed == {n for n, r in records.items() if r.tag_error}
    by_family = {bad.name: bad for bad in corpus}
    for name, rec in records.items():
        bad = by_family.get(name)
        if bad is not None and bad.family == "extension":  # the content decides, not the name
            kind = bad.name.removeprefix("liar-").rsplit(".", 1)[0]
            assert rec.audio_method == METHOD[kind], name
            assert rec.tag_error is None or "wrong extension" in rec.tag_error, rec.tag_error
        if bad is not None and bad.family == "cover" and name.startswith(tuple(
                f"cover-{k}." for k in badfiles.KINDS)):  # fmt: skip
            kind = name.removeprefix("cover-").rsplit(".", 1)[0]  # a broken cover loses nothing
            assert (rec.tag_error, rec.title, rec.audio_method) == (None, f"T {kind}", METHOD[kind])
            assert rec.art_count and rec.art_count >= 1


def test_verify_and_check_after_the_scan_do_not_crash(corpus_root: Path, tmp_path: Path) -> None:
    with Catalog(tmp_path / "c.sqlite") as catalog:
        add_root(catalog, corpus_root)
        scan(catalog)
        report = within(120, "verifying the corpus", lambda: verify(catalog))
        assert report.summary == {"ok": catalog.totals()[0]}  # nothing changed since the scan
        plugins = load_plugins()
        checked = within(60, "checking the tags", lambda: check(catalog, plugins=plugins))
        assert checked.files == catalog.totals()[0] and not checked.cancelled
        assert checked.problems == []  # no rule plugin raised on a hostile file
        for hit in checked.hits:
            assert unreadable(hit.message) is None, (hit.rule_id, hit.message)


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = within(120, f"phonovault {' '.join(argv[:2])}", lambda: main(list(argv), out, err))
    return code, out.getvalue(), err.getvalue()


def test_the_command_line_on_bad_files(corpus: list[BadFile], tmp_path: Path) -> None:
    """Every CLI command a user would run on such a library: exit 1 (findings), never 2."""
    root = tmp_path / "Music"
    root.mkdir()
    picked = [b for i, b in enumerate(corpus) if b.family != "truncated" or i % 9 == 0]
    for bad in picked:
        bad.write(root)
    cat = ["--catalog", str(tmp_path / "c.sqlite")]
    assert cli("roots", "add", str(root), *cat)[0] == 0
    code, out, err = cli("scan", "--json", *cat)
    doc = json.loads(out)
    assert code == 1, err
    assert doc["indexed"] == len(picked) and doc["failures"]
    for failure in doc["failures"]:
        assert unreadable(failure["reason"]) is None, failure
    for command in (["verify"], ["status"], ["findings", "--all"], ["check"], ["roots", "list"]):
        code, out, err = cli(*command, "--json", *cat)
        assert code in (0, 1), (command, err)
        json.loads(out)
    for bad in picked:
        if bad.family in ("absurd", "duration", "loop", "empty", "cover"):
            code, out, err = cli("show", str(root / bad.name), *cat)
            assert code == 0 and bad.name in out, err
    state = Path(os.environ["XDG_STATE_HOME"]) / "phonovault" / "crash.log"
    assert not state.exists(), state.read_text()


MEMORY_FAMILIES = ("absurd", "duration", "cover")


def _peak_mb(work) -> float:  # type: ignore[no-untyped-def]
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def test_absurd_sizes_never_become_allocations(corpus: list[BadFile], tmp_path: Path) -> None:
    """A header that declares 4 GB must not cost 4 GB: ``read(n)`` allocates n bytes before
    it reads, so every layer must cap what it asks for at what the file holds."""
    root = tmp_path / "Music"
    root.mkdir()
    biggest = 0
    for bad in corpus:
        if bad.family in MEMORY_FAMILIES:
            bad.write(root)
            biggest = max(biggest, len(bad.data))
    for path in sorted(root.iterdir()):  # one at a time: the culprit is named
        peak = _peak_mb(lambda p=path: observe(str(p), p.name.encode()))
        assert peak < 32, f"reading {path.name} allocated {peak:.0f} MB"
    assert biggest < 4_000_000  # so 32 MB is already far more than any file here
    with Catalog(tmp_path / "c.sqlite") as catalog:
        add_root(catalog, root)
        peak = _peak_mb(lambda: scan(catalog))
        assert peak < 64, f"scanning {len(os.listdir(root))} files allocated {peak:.0f} MB"
        assert catalog.totals()[0] == len(os.listdir(root))


def test_check_never_allocates_what_a_header_claims(corpus: list[BadFile], tmp_path: Path) -> None:
    root = tmp_path / "Music"
    root.mkdir()
    for bad in corpus:
        if bad.name in ("absurd-wav-fmt-4gb.wav", "absurd-aiff-comm-4gb.aiff"):
            bad.write(root)
    with Catalog(tmp_path / "c.sqlite") as catalog:
        add_root(catalog, root)
        scan(catalog)
        assert [r.tag_error for r in catalog.files()] == [None, None]  # mutagen reads them
        plugins = load_plugins()
        peak = _peak_mb(lambda: check(catalog, plugins=plugins, settings=Settings()))
    assert peak < 64, f"check allocated {peak:.0f} MB"


def test_hashing_alone_reads_every_bad_file_in_one_bounded_pass(corpus: list[BadFile]) -> None:
    """The payload walk looks at a few bytes per structure and gives up after MAX_STEPS: the
    whole corpus in memory, hashed with a tiny chunk size, stays consistent with a large one."""
    for bad in corpus[:: max(1, len(corpus) // 200)]:
        small = hash_file(bad.name, opener=lambda *_a, d=bad.data: io.BytesIO(d), chunk_size=61)
        large = hash_file(bad.name, opener=lambda *_a, d=bad.data: io.BytesIO(d))
        assert small == large, bad.name
