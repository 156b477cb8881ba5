"""Paths of the files shipped in ``phonovault.resources``."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def icon_path(name: str) -> Path:
    return Path(str(files("phonovault.resources").joinpath(name)))
