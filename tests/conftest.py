"""Shared fixtures: real audio files made by PyAV and mutagen, in temporary folders."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The generator lives beside the tests (it is not shipped); make it importable as `audiogen`.
sys.path.insert(0, os.path.dirname(__file__))

import audiogen


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Keep every test away from the real user's data dir, config and beets."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local/state"))
    monkeypatch.setenv("BEETSDIR", str(home / "beets"))
    monkeypatch.delenv("PHONOVAULT_CATALOG", raising=False)
    yield


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One freshly encoded, tagged file per supported kind (read-only: copy before editing)."""
    base = tmp_path_factory.mktemp("templates")
    return {
        name: audiogen.make_track(base / f"{name}{kind.suffix}", name, title=f"T {name}")
        for name, kind in audiogen.KINDS.items()
    }


@pytest.fixture
def make_file(tmp_path: Path, templates: dict[str, Path]):
    """Copy a template of the given kind to a fresh path and return it."""

    def _make(kind: str, relpath: str | None = None, root: Path | None = None) -> Path:
        dest = (root or tmp_path) / (relpath or f"{kind}{audiogen.KINDS[kind].suffix}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(templates[kind].read_bytes())
        return dest

    return _make
