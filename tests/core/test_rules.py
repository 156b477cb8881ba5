"""The rules engine over a real catalog: settings, mutes, stale findings, selection, the CLI."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import mutagen
import pytest

from phonovault.core.catalog import MIGRATIONS, SCHEMA_VERSION, Catalog
from phonovault.core.cli.main import main
from phonovault.core.config import Settings
from phonovault.core.errors import PhonovaultError
from phonovault.core.fixity.scan import scan
from phonovault.core.jobs import CancelToken
from phonovault.core.library.roots import add_root, locate
from phonovault.core.plugin_api import load_plugins
from phonovault.core.rules.engine import album_of, check, finding_details, list_rules, mute, unmute


def set_tags(path: Path, **tags: str) -> None:
    f = mutagen.File(path)
    for key, value in tags.items():
        f[key] = [value]
    f.save()


@pytest.fixture
def root(tmp_path: Path, make_file) -> Path:
    """Two albums of two FLAC files, one with mojibake in a title, none with cover art."""
    music = tmp_path / "Music"
    for album in ("One", "Two"):
        for n in (1, 2):
            path = make_file("flac16", f"Band/{album}/{n:02d}.flac", root=music)
            set_tags(path, album=album, tracknumber=f"{n}/2", title=f"Song {n}")
    set_tags(music / "Band/One/01.flac", title="CafÃ©")
    return music


@pytest.fixture
def cat(root: Path, tmp_path: Path) -> Iterator[Catalog]:
    with Catalog(tmp_path / "c.sqlite") as catalog:
        add_root(catalog, root)
        scan(catalog)
        yield catalog


def kinds(catalog: Catalog) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in catalog.findings(min_severity="info"):
        out.setdefault(f.kind, set()).add(f.path.split("/Music/", 1)[-1])
    return out


def test_findings_are_stored_by_rule_and_stale_ones_go(cat: Catalog, root: Path) -> None:
    plugins = load_plugins()
    report = check(cat, plugins=plugins)
    assert report.files == 4 and report.albums == 2
    assert kinds(cat) == {
        "rule:mojibake": {"Band/One/01.flac"},
        "rule:cover-missing": {"Band/One/01.flac", "Band/One/02.flac", "Band/Two/01.flac",
                               "Band/Two/02.flac"},
    }  # fmt: skip
    first_seen = {f.file_id: f.created for f in cat.findings() if f.kind == "rule:cover-missing"}
    set_tags(root / "Band/One/01.flac", title="Café")
    scan(cat)
    check(cat, plugins=plugins)
    assert "rule:mojibake" not in kinds(cat)
    # a finding that is still true keeps the time it was first seen
    again = {f.file_id: f.created for f in cat.findings() if f.kind == "rule:cover-missing"}
    assert again == first_seen


def test_severity_override_disable_and_bad_settings(cat: Catalog) -> None:
    plugins = load_plugins()
    check(cat, plugins=plugins)
    settings = Settings(rules={
        "mojibake": {"severity": "error"},
        "cover-missing": {"enabled": False},
        "cover-small": {"min_size": "big", "colour": "red", "severity": "loud"},
    })  # fmt: skip
    report = check(cat, plugins=plugins, settings=settings)
    assert [(f.kind, f.severity) for f in cat.findings()] == [("rule:mojibake", "error")]
    assert report.notes == [
        "settings: rules.cover-small.severity must be one of ('error', 'warning', 'info')",
        "settings: rules.cover-small.min_size must be int; using 500",
        "settings: rules.cover-small.colour: the rule has no such option",
    ]
    infos = {i.rule.id: i for i in list_rules(plugins, settings)}
    assert not infos["cover-missing"].enabled and infos["mojibake"].severity == "error"
    assert infos["cover-small"].options == {"min_size": 500}


def test_settings_file_with_rules_loads_tolerantly(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"workers": 2, "rules": {"cover-small": {"min_size": 300},
                                                         "junk": 5}}))  # fmt: skip
    settings = Settings.load(path)
    assert settings.rules == {"cover-small": {"min_size": 300}} and settings.workers == 2
    changed = settings.with_rule("mojibake", enabled=False).with_rule("cover-small", min_size=None)
    assert changed.rules == {"mojibake": {"enabled": False}}
    changed.save(path)
    assert Settings.load(path) == changed
    path.write_text(json.dumps({"rules": ["not", "a", "dict"]}))
    assert Settings.load(path).rules == {}


def test_mute_a_file_and_an_album_with_a_reason(cat: Catalog, root: Path) -> None:
    plugins = load_plugins()
    check(cat, plugins=plugins)
    _, rec = locate(cat, root / "Band/One/01.flac")
    with pytest.raises(PhonovaultError, match="reason"):
        mute(cat, "mojibake", "  ", file_id=rec.id)
    assert mute(cat, "mojibake", "the band spells it so", file_id=rec.id) == 1
    _, two = locate(cat, root / "Band/Two/01.flac")
    assert album_of(two) == ("Artist", "Two")
    assert mute(cat, "cover-missing", "covers live in folder.jpg", album=("ARTIST", "two")) == 2
    assert "rule:mojibake" not in kinds(cat)  # gone at once, not at the next check
    report = check(cat, plugins=plugins)
    assert report.muted == 3
    assert kinds(cat) == {"rule:cover-missing": {"Band/One/01.flac", "Band/One/02.flac"}}
    assert [(m.rule_id, m.file_id is None, m.reason) for m in cat.mutes()] == [
        ("cover-missing", True, "covers live in folder.jpg"),
        ("mojibake", False, "the band spells it so"),
    ]
    assert unmute(cat, "mojibake", file_id=rec.id) and not unmute(cat, "mojibake", file_id=rec.id)
    check(cat, plugins=plugins)
    assert "rule:mojibake" in kinds(cat)


def test_a_full_check_drops_rule_findings_of_files_that_are_gone(cat: Catalog, root: Path):
    plugins = load_plugins()
    check(cat, plugins=plugins)
    (root / "Band/One/01.flac").unlink()
    scan(cat)
    check(cat, plugins=plugins)
    found = kinds(cat)
    assert found["missing"] == {"Band/One/01.flac"} and "rule:mojibake" not in found
    assert "Band/One/01.flac" not in found["rule:cover-missing"]


def test_checking_a_path_checks_its_whole_album_only(cat: Catalog, root: Path) -> None:
    plugins = load_plugins()
    report = check(cat, plugins=plugins, paths=[str(root / "Band/Two/02.flac")])
    assert report.files == 2 and report.albums == 1
    assert kinds(cat) == {"rule:cover-missing": {"Band/Two/01.flac", "Band/Two/02.flac"}}
    with pytest.raises(PhonovaultError):
        check(cat, plugins=plugins, paths=[str(root.parent)])


def test_narrowing_to_some_rules_keeps_the_others_findings(cat: Catalog) -> None:
    plugins = load_plugins()
    check(cat, plugins=plugins)
    before = kinds(cat)
    report = check(cat, plugins=plugins, rules={"mojibake"})
    assert {h.rule_id for h in report.hits} == {"mojibake"} and kinds(cat) == before
    with pytest.raises(PhonovaultError, match="no such rule: nope"):
        check(cat, plugins=plugins, rules={"nope"})


def test_finding_details_for_the_tags_tab(cat: Catalog, root: Path) -> None:
    check(cat, plugins=load_plugins())
    _, rec = locate(cat, root / "Band/One/01.flac")
    details = finding_details(cat, rec.id)
    assert details["mojibake"].fields == ("title",)
    assert details["mojibake"].fix == "retag title as 'Café'"
    assert details["cover-missing"].fields == ("art",)


def test_a_cancelled_check_stores_nothing_more(cat: Catalog) -> None:
    token = CancelToken()
    token.cancel()
    report = check(cat, plugins=load_plugins(), cancel=token)
    assert report.cancelled and report.files == 0 and kinds(cat) == {}


def test_a_version_2_catalog_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:2]:
        db.executescript(script)
    db.execute("PRAGMA user_version = 2")
    db.close()
    with Catalog(path) as catalog:
        assert catalog.mutes() == []
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert "detail" in {r[1] for r in db.execute("PRAGMA table_info(findings)")}


# -- the command line --------------------------------------------------------------------------


def cli(*args: str, catalog: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([*args, "--catalog", str(catalog)], stdout=out, stderr=err)
    return code, out.getvalue() + err.getvalue()


def test_cli_check_rules_mute_and_findings_filters(root: Path, tmp_path: Path) -> None:
    db = tmp_path / "cli.sqlite"
    cli("roots", "add", str(root), catalog=db)
    cli("scan", catalog=db)
    code, out = cli("check", "--json", catalog=db)
    doc = json.loads(out)
    assert code == 1 and doc["files"] == 4 and doc["counts"] == {"warning": 5}
    assert {h["rule"] for h in doc["hits"]} == {"mojibake", "cover-missing"}
    code, out = cli("check", "--skip", "cover-missing", catalog=db)
    assert code == 1 and "warning mojibake: Garbled characters" in out
    assert "fix: retag title as 'Café'" in out and "checked 4 files in 2 albums" in out
    code, out = cli("findings", "--rule", "mojibake", "--json", catalog=db)
    assert [f["kind"] for f in json.loads(out)["findings"]] == ["rule:mojibake"]
    code, out = cli("findings", "--severity", "error", catalog=db)
    assert code == 0 and out.strip() == "0 finding(s)"
    code, out = cli("rules", "list", "--json", catalog=db)
    rules = {r["id"]: r for r in json.loads(out)["rules"]}
    assert rules["cover-small"]["options"] == {"min_size": 500} and len(rules) == 18
    code, out = cli("rules", "show", "track-gaps", catalog=db)
    assert code == 0 and "option min_files = 2" in out
    target = str(root / "Band/One/01.flac")
    code, out = cli("mute", "mojibake", target, catalog=db)
    assert code == 2  # --reason is required
    code, out = cli("mute", "mojibake", target, "--reason", "on purpose", catalog=db)
    assert code == 0
    code, out = cli("mute", "cover-missing", str(root / "Band"), "--album", "--reason", "ok",
                    catalog=db)  # fmt: skip
    assert code == 0
    code, out = cli("check", catalog=db)
    assert code == 0 and "no problems, 5 muted" in out
    code, out = cli("mutes", "--json", catalog=db)
    assert len(json.loads(out)["mutes"]) == 3
    code, out = cli("unmute", "mojibake", target, catalog=db)
    assert code == 0 and "unmuted mojibake" in out
    code, out = cli("mute", "no-such-rule", target, "--reason", "x", catalog=db)
    assert code == 2 and "no such rule" in out


def test_check_accepts_a_root_folder_itself(tmp_path, make_file) -> None:
    """`phonovault check ~/Music` where ~/Music is the registered root checks everything."""
    import io

    from phonovault.core.cli.main import main

    root = tmp_path / "Music"
    make_file("flac16", "A/x.flac", root=root)
    cat = str(tmp_path / "root-check.sqlite")
    main(["roots", "add", str(root), "--catalog", cat], io.StringIO(), io.StringIO())
    main(["scan", "--catalog", cat], io.StringIO(), io.StringIO())
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", str(root), "--catalog", cat, "--json"], out, err)
    assert code in (0, 1), err.getvalue()
    assert "not under any registered root" not in err.getvalue()
