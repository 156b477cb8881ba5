"""Loading plugins through entry points, and keeping a broken plugin from breaking a check."""

from __future__ import annotations

import shutil
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import mutagen
import pytest

from phonovault.core.catalog import Catalog, FileRecord
from phonovault.core.fixity.scan import scan
from phonovault.core.library.roots import add_root
from phonovault.core.plugin_api import (
    API_VERSION,
    Exporter,
    Rule,
    RuleHit,
    TrackFacts,
    hookimpl,
    load_plugins,
)
from phonovault.core.rules.engine import check

EXAMPLE = Path(__file__).parents[1] / "fixtures" / "example_plugin"
BUILTINS = {
    "album-consistency", "beets-mediafile", "cover-art", "essential-tags", "legacy-id3",
    "mojibake", "musicbrainz", "tag-blocks", "track-numbers", "unreadable-tags",
}  # fmt: skip


def install_dist(site: Path, name: str, version: str, entry_points: dict[str, str]) -> None:
    """What pip leaves behind for a distribution, minus the files: a ``.dist-info`` folder
    with METADATA and entry_points.txt, which importlib.metadata discovers on sys.path."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = "".join(f"{k} = {v}\n" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[phonovault.plugins]\n{lines}")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private site-packages on sys.path; modules imported from it are forgotten after."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    before = set(sys.modules)
    yield folder
    for name in set(sys.modules) - before:
        if name.startswith("phonovault_"):
            del sys.modules[name]


@pytest.fixture
def example_installed(site: Path) -> Path:
    """The example plugin installed from its pyproject.toml, the way pip would register it."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    shutil.copy(EXAMPLE / "phonovault_example_plugin.py", site)
    install_dist(site, project["name"], project["version"],
                 project["entry-points"]["phonovault.plugins"])  # fmt: skip
    return site


@pytest.fixture
def catalog(tmp_path: Path, make_file) -> Iterator[Catalog]:
    root = tmp_path / "Music"
    loud = make_file("flac16", "A/B/01.flac", root=root)
    f = mutagen.File(loud)
    f["title"] = "LOUD SONG"
    f.save()
    make_file("flac16", "A/B/02.flac", root=root)
    make_file("mp3", "A/B/03.mp3", root=root)
    with Catalog(tmp_path / "c.sqlite") as cat:
        add_root(cat, root)
        scan(cat)
        yield cat


def test_builtins_load_through_our_own_entry_points() -> None:
    plugins = load_plugins()
    assert set(plugins.names()) == BUILTINS and plugins.problems == []
    assert plugins.info("mojibake").distribution == "phonovault"
    assert {r.id for _, r in plugins.rules()} >= {"tags-unreadable", "mediafile-differs"}


def test_a_third_party_plugin_installed_through_an_entry_point_runs(
    example_installed: Path, catalog: Catalog
) -> None:
    plugins = load_plugins()
    assert "title-all-caps" in plugins.names()
    assert plugins.info("title-all-caps").distribution == "phonovault-example-plugin"
    report = check(catalog, plugins=plugins, rules={"title-all-caps"})
    assert [(h.rule_id, Path(h.paths[0]).name, h.fix) for h in report.hits] == [
        ("title-all-caps", "01.flac", "retag the title as 'Loud Song'")]  # fmt: skip
    [finding] = catalog.findings(min_severity="info")
    assert (finding.kind, finding.severity) == ("rule:title-all-caps", "info")


class Boom:
    """A plugin with a bug: it raises on every file."""

    calls = 0

    @hookimpl
    def phonovault_rules(self) -> list[Rule]:
        return [Rule("boom", "warning", "Never fires", "It only crashes.")]

    @hookimpl
    def phonovault_check_file(self, track: TrackFacts) -> list[RuleHit]:
        Boom.calls += 1
        raise RuntimeError("boom")


def test_a_plugin_that_raises_is_reported_disabled_and_the_check_completes(
    catalog: Catalog,
) -> None:
    Boom.calls = 0
    report = check(catalog, plugins=load_plugins(extra=[Boom()]))
    assert Boom.calls == 1  # disabled after its first failure
    [problem] = report.problems
    assert (problem.plugin, problem.hook, problem.error) == (
        "Boom", "phonovault_check_file", "RuntimeError: boom")  # fmt: skip
    assert "Traceback" in problem.details
    assert report.files == 3 and {h.rule_id for h in report.hits} >= {"cover-missing"}
    # the problem is a finding about no file in particular, and is not piled up on re-runs
    check(catalog, plugins=load_plugins(extra=[Boom()]))
    found = [f for f in catalog.findings() if f.kind.startswith("plugin:")]
    assert [(f.kind, f.file_id, f.path) for f in found] == [("plugin:Boom", None, "")]
    assert "disabled for this run" in found[0].message
    check(catalog, plugins=load_plugins())  # fixed (here: removed): the problem goes
    assert not [f for f in catalog.findings() if f.kind.startswith("plugin:")]


def test_findings_of_a_plugin_that_failed_are_kept_not_forgotten(catalog: Catalog) -> None:
    class Flaky:
        fail = False

        @hookimpl
        def phonovault_rules(self) -> list[Rule]:
            return [Rule("flaky", "warning", "Flags everything", "For the test.")]

        @hookimpl
        def phonovault_check_file(self, track: TrackFacts) -> list[RuleHit]:
            if Flaky.fail:
                raise OSError("network down")
            return [RuleHit("flaky", (track.file_id,), "flagged")]

    check(catalog, plugins=load_plugins(extra=[Flaky()]), rules={"flaky"})
    assert len([f for f in catalog.findings() if f.kind == "rule:flaky"]) == 3
    Flaky.fail = True
    check(catalog, plugins=load_plugins(extra=[Flaky()]), rules={"flaky"})
    assert len([f for f in catalog.findings() if f.kind == "rule:flaky"]) == 3


def test_misbehaving_answers_disable_the_plugin(catalog: Catalog) -> None:
    class Liar:
        @hookimpl
        def phonovault_rules(self) -> list[Rule]:
            return [Rule("mine", "info", "Mine", "Mine.")]

        @hookimpl
        def phonovault_check_file(self, track: TrackFacts) -> list[RuleHit]:
            return [RuleHit("cover-missing", (track.file_id,), "not my rule")]

    class Sloppy:
        @hookimpl
        def phonovault_rules(self) -> list[Rule]:
            return ["not a rule"]  # type: ignore[list-item]

    report = check(catalog, plugins=load_plugins(extra=[Liar(), Sloppy()]), rules={"mine"})
    errors = {p.plugin: p.error for p in report.problems}
    assert errors == {
        "Liar": "reported rule 'cover-missing', which it does not offer in phonovault_rules",
        "Sloppy": "did not return a list of Rule values",
    }
    assert {p.plugin: p.hook for p in report.problems}["Liar"] == "phonovault_check_file"


def test_a_hit_of_the_wrong_shape_disables_the_plugin_not_the_check(catalog: Catalog) -> None:
    class Careless:
        @hookimpl
        def phonovault_rules(self) -> list[Rule]:
            return [Rule("careless", "info", "Careless", "Careless.")]

        @hookimpl
        def phonovault_check_file(self, track: TrackFacts) -> list[RuleHit]:
            return [RuleHit("careless", track.file_id, "an int, not a tuple")]  # type: ignore[arg-type]

    report = check(catalog, plugins=load_plugins(extra=[Careless()]))
    assert [p.plugin for p in report.problems] == ["Careless"] and report.files == 3


def test_load_problems_are_reported_not_raised(site: Path) -> None:
    (site / "phonovault_broken.py").write_text("raise ImportError('needs libfoo')\n")
    (site / "phonovault_typo.py").write_text(
        "from phonovault.core.plugin_api import hookimpl\n"
        "@hookimpl\ndef phonovault_chek_file(track):\n    return []\n"
    )
    (site / "phonovault_future.py").write_text(f"PHONOVAULT_API_VERSION = {API_VERSION + 1}\n")
    (site / "phonovault_badargs.py").write_text(
        "from phonovault.core.plugin_api import hookimpl\n"
        "@hookimpl\ndef phonovault_check_file(song):\n    return []\n"
    )
    install_dist(site, "phonovault-junk", "0.1", {
        "broken": "phonovault_broken", "missing": "phonovault_nowhere",
        "typo": "phonovault_typo", "future": "phonovault_future",
        "badargs": "phonovault_badargs", "mojibake": "phonovault_future",
    })  # fmt: skip
    plugins = load_plugins()
    problems = {p.plugin: p.error for p in plugins.problems}
    assert problems["broken"] == "ImportError: needs libfoo"
    assert problems["missing"].startswith("ModuleNotFoundError")
    assert problems["typo"] == "implements unknown hooks: phonovault_chek_file"
    assert problems["future"].startswith(f"needs plugin API version {API_VERSION + 1}")
    assert "song" in problems["badargs"]
    assert all(p.hook == "load" for p in plugins.problems) and len(problems) == 6
    # a third party cannot replace a built-in by taking its name
    assert set(plugins.names()) == BUILTINS
    assert plugins.info("mojibake").distribution == "phonovault"
    assert "mojibake" not in plugins.disabled
    assert problems["mojibake (phonovault-junk)"].startswith("the name 'mojibake' is taken")


def test_plugins_in_the_current_directory_are_not_loaded(
    site: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Running Phonovault from inside a downloaded album must not run code from it."""
    album = tmp_path / "Downloaded album"
    album.mkdir()
    (album / "phonovault_evil.py").write_text("raise SystemExit('pwned')\n")
    install_dist(album, "phonovault-evil", "1.0", {"evil": "phonovault_evil"})
    monkeypatch.chdir(album)
    monkeypatch.syspath_prepend(str(album))
    monkeypatch.syspath_prepend("")
    plugins = load_plugins()
    assert "evil" not in plugins.names() and plugins.problems == []


def test_track_facts_from_a_record_are_read_only(catalog: Catalog) -> None:
    record: FileRecord = next(r for r in catalog.files() if r.relpath.endswith(b".mp3"))
    facts = TrackFacts.from_record(record, "/music")
    assert facts.path == "/music/A/B/03.mp3" and facts.year == 2001
    assert facts.tag_formats == ("id3v2.4",) and facts.raw["TIT2"] == ("T mp3",)
    assert (facts.track, facts.tracktotal, facts.art_count) == (1, 10, 0)
    with pytest.raises(TypeError):
        facts.raw["TIT2"] = ("x",)  # type: ignore[index]
    assert TrackFacts(1, "x", date="1999-03-01").year == 1999
    assert TrackFacts(1, "x", date="unknown").year is None


def test_hits_only_for_the_files_a_hook_was_given(catalog: Catalog) -> None:
    class Greedy:
        @hookimpl
        def phonovault_rules(self) -> list[Rule]:
            return [Rule("greedy", "warning", "Greedy", "Flags other files too.")]

        @hookimpl
        def phonovault_check_file(self, track: TrackFacts) -> list[RuleHit]:
            return [RuleHit("greedy", (track.file_id, 9999), "mine and not mine")]

    report = check(catalog, plugins=load_plugins(extra=[Greedy()]), rules={"greedy"})
    assert all(9999 not in h.file_ids for h in report.hits) and len(report.hits) == 3


def test_exporters_are_collected_and_a_bad_answer_is_a_problem(tmp_path: Path) -> None:
    def write(tracks, out_path: Path) -> None:
        out_path.write_text("".join(t.path + "\n" for t in tracks))

    class Playlist:
        @hookimpl
        def phonovault_exporters(self) -> list[Exporter]:
            return [Exporter("m3u8", "Playlist (M3U8)", ".m3u8", write)]

    class Broken:
        @hookimpl
        def phonovault_exporters(self) -> list[Exporter]:
            return [{"id": "csv"}]  # type: ignore[list-item]

    plugins = load_plugins(extra=[Playlist(), Broken()], discover=False)
    [(name, exporter)] = plugins.exporters()
    assert name == "Playlist" and exporter.suffix == ".m3u8"
    exporter.write([TrackFacts(1, "/m/a.flac")], tmp_path / "out.m3u8")
    assert (tmp_path / "out.m3u8").read_text() == "/m/a.flac\n"
    assert [p.plugin for p in plugins.problems] == ["Broken"]
