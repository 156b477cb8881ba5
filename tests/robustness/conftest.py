"""The bad-file corpus, generated once per session from the real templates (see badfiles)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import badfiles
import pytest

# Helpers shared by these tests live beside them; make them importable as `hostile`.
sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(scope="session")
def corpus(templates: dict[str, Path]) -> list[badfiles.BadFile]:
    return badfiles.corpus(templates)


@pytest.fixture(scope="session")
def corpus_root(
    tmp_path_factory: pytest.TempPathFactory, corpus: list[badfiles.BadFile], templates
) -> Path:
    """One folder holding every bad file and, beside them, one good file of each kind.
    Read-only: tests that change files make their own."""
    root = tmp_path_factory.mktemp("corpus") / "Music"
    folder = root / "Bad Album"
    folder.mkdir(parents=True)
    for bad in corpus:
        bad.write(folder)
    for kind in badfiles.KINDS:
        (folder / f"good-{kind}{badfiles.SUFFIX[kind]}").write_bytes(templates[kind].read_bytes())
    return root
