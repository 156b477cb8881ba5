"""``tags-changed`` says what changed, field by field, in ``verify``, ``show`` and ``--json``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import mutagen
from mutagen.flac import FLAC

from phonovault.core.cli.main import main


def cli(*args: str, catalog: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([*args, "--catalog", str(catalog)], stdout=out, stderr=err)
    return code, out.getvalue()


def test_verify_and_show_name_each_changed_field(tmp_path: Path, make_file) -> None:
    root = tmp_path / "Music"
    path = make_file("flac16", "a.flac", root=root)
    cat = tmp_path / "c.sqlite"
    cli("roots", "add", str(root), catalog=cat)
    cli("scan", catalog=cat)
    audio = FLAC(path)
    audio["title"] = ["T flac16", "a second title"]  # metaflac --set-tag adds one like this
    audio["genre"] = ["Ambient"]
    audio["lyrics"] = ["la la"]
    audio.save()
    code, text = cli("verify", catalog=cat)
    assert code == 0
    line = next(x for x in text.splitlines() if x.startswith("tags-changed"))
    assert "'T flac16' -> 'T flac16; a second title'" in line, line
    assert "genre" in line and "'Ambient'" in line, line
    _, doc = cli("verify", "--json", catalog=cat)
    assert json.loads(doc)["results"][0]["state"] == "ok"  # the edit is the new baseline

    mutagen.File(path).delete()
    _, doc = cli("verify", "--json", catalog=cat)
    [result] = json.loads(doc)["results"]
    assert result["state"] == "tags-changed"
    fields = {c["field"]: (c["old"], c["new"]) for c in result["changes"]}
    assert fields["title"] == ("T flac16", None)
    assert fields["lyrics"] == ("la la", None)
    _, shown = cli("show", str(path), "--json", catalog=cat)
    shown_fields = {c["field"]: (c["old"], c["new"]) for c in json.loads(shown)["changes"]}
    assert shown_fields == fields
    _, text = cli("show", str(path), catalog=cat)
    assert "title removed (was 'T flac16')" in text


def test_a_key_rewritten_in_other_case_and_an_mp3_cover_are_said_once(
    tmp_path: Path, make_file
) -> None:
    """kid3 rewrites Vorbis ``encoder`` as ``ENCODER`` (keys are case-blind there: nothing
    changed); an ID3 picture frame named with its description is the cover, listed once."""
    from mutagen.id3 import APIC, ID3

    root = tmp_path / "Music"
    flac = make_file("flac16", "a.flac", root=root)
    mp3 = make_file("mp3", "b.mp3", root=root)
    audio = FLAC(flac)
    audio["encoder"] = ["an encoder"]
    audio.save()
    cat = tmp_path / "c.sqlite"
    cli("roots", "add", str(root), catalog=cat)
    cli("scan", catalog=cat)
    audio = FLAC(flac)
    del audio["encoder"]
    audio["ENCODER"] = ["an encoder"]
    audio["title"] = ["New"]
    audio.save()
    tags = ID3(mp3)
    tags.add(APIC(encoding=3, mime="image/png", type=3, desc="front", data=b"\x89PNG" * 40))
    tags.save()
    _, doc = cli("verify", "--json", catalog=cat)
    fields = {Path(r["path"]).name: [c["field"] for c in r["changes"]]
              for r in json.loads(doc)["results"]}  # fmt: skip
    assert fields["a.flac"] == ["title"], fields
    assert fields["b.mp3"] == ["cover"], fields
