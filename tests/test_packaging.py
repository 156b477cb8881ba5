"""A wheel holds exactly the packages pyproject.toml lists: every package folder must be there
(a plain `pip install .` once shipped a GUI without its models and views)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_folder_is_listed_for_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    folders = {
        "phonovault." + ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("core", "gui", "plugins", "resources")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert folders == listed
