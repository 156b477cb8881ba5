"""Fixtures for the rule tests (helpers in rulekit.py, importable from here on)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from audiogen import png
from rulekit import Checker, add_flac_cover, retag


@pytest.fixture
def music(tmp_path: Path) -> Path:
    root = tmp_path / "Music"
    root.mkdir()
    return root


@pytest.fixture
def checker(music: Path, tmp_path: Path) -> Iterator[Checker]:
    c = Checker(music, tmp_path / "catalog.sqlite")
    yield c
    c.catalog.close()


@pytest.fixture
def album(make_file: Callable[..., Path], music: Path) -> Callable[..., list[Path]]:
    """A 3-track FLAC album, consistent in every way (same cover, MusicBrainz id, totals),
    with per-track tag changes applied on top: ``album({2: {"DATE": "1999"}})``."""

    def make(changes: dict[int, dict[str, str | None]] | None = None, name: str = "Al") -> (
        list[Path]
    ):  # fmt: skip
        cover = png(600, 600)
        paths = []
        for n in (1, 2, 3):
            path = make_file("flac16", f"Band/{name}/{n:02d}.flac", root=music)
            tags: dict[str, str | None] = dict(
                TITLE=f"Song {n}", ARTIST="Band", ALBUMARTIST="Band", ALBUM=name,
                TRACKNUMBER=str(n), TRACKTOTAL="3", DISCNUMBER="1", DISCTOTAL="1",
                DATE="2001", MUSICBRAINZ_ALBUMID="1c9b3e0a-5d6f-4c2e-8b7a-3e2d1c0b9a02",
            )  # fmt: skip
            tags.update((changes or {}).get(n, {}))
            retag(path, **tags)
            add_flac_cover(path, cover)
            paths.append(path)
        return paths

    return make
