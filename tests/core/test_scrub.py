"""Scrubbing: budgets (share, bytes, minutes), least recently verified first, resumable, and
decode checks riding along with a verify, cached per audio."""

from __future__ import annotations

import io
import json
import shutil
import time
from pathlib import Path

import audiogen
import pytest
from damage import truncate_at

from phonovault.core import cli
from phonovault.core.catalog import Catalog
from phonovault.core.fixity.scan import scan
from phonovault.core.fixity.verify import verify
from phonovault.core.integrity.scrub import Budget, BudgetError, parse_budget, scrub_due
from phonovault.core.library.roots import add_root


@pytest.mark.parametrize(
    ("text", "budget"),
    [
        ("50GB", Budget(bytes=50 * 10**9)),
        ("500 MiB", Budget(bytes=500 * 2**20)),
        ("1.5tb", Budget(bytes=int(1.5 * 10**12))),
        ("30min", Budget(seconds=1800)),
        ("90m", Budget(seconds=5400)),
        ("2h", Budget(seconds=7200)),
        ("45 s", Budget(seconds=45)),
    ],
)
def test_budgets_read_as_people_write_them(text: str, budget: Budget) -> None:
    assert parse_budget(text) == budget


@pytest.mark.parametrize("text", ["50", "", "ten GB", "5 parsecs", "0GB", "-3h"])
def test_a_budget_that_is_neither_size_nor_time_is_refused_plainly(text: str) -> None:
    with pytest.raises(BudgetError, match="budget"):
        parse_budget(text)


def test_scrub_is_due_once_a_day() -> None:
    now = 1_000_000.0
    assert scrub_due(None, now)
    assert not scrub_due(now - 3600, now)
    assert scrub_due(now - 25 * 3600, now)
    assert scrub_due(now + 7200, now)  # a clock that jumped back does not stop scrubbing


@pytest.fixture
def lib(tmp_path: Path, make_file) -> tuple[Catalog, list[Path]]:
    root = tmp_path / "Music"
    paths = [
        make_file(kind, f"A/{i:02d}{audiogen.KINDS[kind].suffix}", root=root)
        for i, kind in enumerate(["flac16", "wav", "flac24", "aiff", "mp3", "wavpack"])
    ]
    catalog = Catalog(tmp_path / "c.sqlite")
    add_root(catalog, root)
    scan(catalog)
    yield catalog, paths
    catalog.close()


def test_a_byte_budget_reads_the_oldest_files_until_it_is_spent(lib) -> None:
    catalog, paths = lib
    sizes = {str(p): p.stat().st_size for p in paths}
    budget = Budget(bytes=sorted(sizes.values())[-1] + 1)  # room for one file, maybe two
    seen: list[str] = []
    for _ in range(12):
        report = verify(catalog, budget=budget)
        assert len(report.results) >= 1
        assert sum(sizes[r.path] for r in report.results) <= budget.bytes
        seen.extend(r.path for r in report.results)
        time.sleep(0.01)  # distinct last-verified times
    assert set(seen) == set(sizes)  # least recently verified first: everything comes round


def test_a_budget_smaller_than_any_file_still_moves_on(lib) -> None:
    catalog, _paths = lib
    first = verify(catalog, budget=Budget(bytes=1))
    second = verify(catalog, budget=Budget(bytes=1))
    assert len(first.results) == len(second.results) == 1
    assert first.results[0].path != second.results[0].path


def test_a_time_budget_stops_reading_and_the_next_run_goes_on(lib) -> None:
    catalog, paths = lib
    spent = verify(catalog, budget=Budget(seconds=1e-9))
    assert spent.out_of_time and not spent.cancelled
    assert len(spent.results) < len(paths)
    assert catalog.last_job_finished("verify") is not None  # a finished scrub, not a crash
    full = verify(catalog, budget=Budget(seconds=3600))
    assert not full.out_of_time and len(full.results) == len(paths)


def test_verify_with_decode_files_problems_and_caches_verdicts(lib, tmp_path: Path) -> None:
    catalog, paths = lib
    flac = paths[0]
    truncate_at(flac, 0.6)  # damage a scan has never seen as healthy...
    accepted = cli.main(["--catalog", str(tmp_path / "c.sqlite"), "accept", str(flac)],
                        stdout=io.StringIO(), stderr=io.StringIO())  # fmt: skip
    assert accepted == 0  # ...because it was already cut short when it arrived
    first = verify(catalog, decode=True)
    assert first.decode is not None
    assert {r.state for r in first.results} == {"ok"}  # the checksums see nothing wrong
    assert first.decode.checked == len(paths) and first.decode.cached == 0
    kinds = {(Path(path).name, p.kind) for path, p in first.decode.problems}
    assert ("00.flac", "truncated") in kinds
    found = {(f.kind, Path(f.path).name) for f in catalog.findings()}
    assert ("truncated", "00.flac") in found
    again = verify(catalog, decode=True)
    assert again.decode is not None
    assert again.decode.checked == 0 and again.decode.cached == len(paths)
    assert {p.kind for _, p in again.decode.problems} == {p.kind for _, p in first.decode.problems}
    checked, clean, oldest = catalog.decode_summary()
    assert checked == len(paths) and clean == checked - 1 and oldest is not None


def test_a_copy_of_the_same_audio_is_not_decoded_twice(lib, tmp_path: Path) -> None:
    catalog, paths = lib
    verify(catalog, decode=True)
    root = paths[0].parent
    shutil.copy2(paths[0], root / "copy.flac")
    scan(catalog)
    report = verify(catalog, decode=True)
    assert report.decode is not None
    assert report.decode.checked == 0 and report.decode.cached == len(paths) + 1


def test_cli_verify_decode_and_budget(lib, tmp_path: Path) -> None:
    _catalog, paths = lib
    truncate_at(paths[2], 0.5)  # flac24: read as changed audio by verify and cut short
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(
        ["--catalog", str(tmp_path / "c.sqlite"), "--json", "verify", "--decode",
         "--budget", "1TB"],
        stdout=out, stderr=err,
    )  # fmt: skip
    doc = json.loads(out.getvalue())
    assert code == 1
    assert doc["decode"]["checked"] == len(paths)
    assert any(p["kind"] == "truncated" and p["path"].endswith("02.flac")
               for p in doc["decode"]["problems"])  # fmt: skip
    shown = io.StringIO()
    cli.main(["--catalog", str(tmp_path / "c.sqlite"), "show", str(paths[0])], stdout=shown,
             stderr=io.StringIO())  # fmt: skip
    assert "decode check" in shown.getvalue() and "plays cleanly" in shown.getvalue()
    bad = io.StringIO()
    assert cli.main(["--catalog", str(tmp_path / "c.sqlite"), "verify", "--budget", "7"],
                    stdout=io.StringIO(), stderr=bad) == 2  # fmt: skip
    assert "not a size or a duration" in bad.getvalue()
