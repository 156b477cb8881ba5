"""Helpers for the rule tests: real files, a real scan into a real catalog, a real check."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import mutagen
from mutagen.flac import FLAC, Picture

from phonovault.core.catalog import Catalog
from phonovault.core.config import Settings
from phonovault.core.fixity.scan import scan
from phonovault.core.library.roots import add_root
from phonovault.core.plugin_api import Plugins, load_plugins
from phonovault.core.rules.engine import CheckReport, check

Hits = dict[str, set[str]]  # rule id -> names of the files it flagged
ALBUM_RULES = {
    "album-artist-mixed", "album-title-variants", "album-year-mixed", "album-totals-mixed",
    "album-cover-mixed", "track-duplicates", "track-gaps", "disc-numbering",
    "musicbrainz-album-mixed",
}  # fmt: skip


def retag(path: Path, **tags: str | None) -> None:
    """Set (or, with None, delete) Vorbis comments of a FLAC/Ogg file."""
    f = mutagen.File(path)
    for key, value in tags.items():
        if value is None:
            if key in f.tags:
                del f.tags[key]
        else:
            f.tags[key] = [value]
    f.save()


def add_flac_cover(path: Path, data: bytes) -> None:
    f = FLAC(path)
    pic = Picture()
    pic.data, pic.type, pic.mime = data, 3, "image/png"
    f.clear_pictures()
    f.add_picture(pic)
    f.save()


class Checker:
    """Scan a folder into a catalog and run rules over it, as the CLI does."""

    def __init__(self, root: Path, catalog_path: Path) -> None:
        self.root = root
        self.catalog = Catalog(catalog_path)
        self.plugins: Plugins | None = None

    def run(
        self,
        settings: Settings | None = None,
        rules: set[str] | None = None,
        plugins: Plugins | None = None,
        **kwargs: Any,
    ) -> tuple[CheckReport, Hits]:
        add_root(self.catalog, self.root)
        scan(self.catalog)
        report = self.run_only(settings, rules, plugins, **kwargs)
        return report, by_rule(report)

    def run_only(
        self,
        settings: Settings | None = None,
        rules: set[str] | None = None,
        plugins: Plugins | None = None,
        **kwargs: Any,
    ) -> CheckReport:
        """Check what the catalog holds, without scanning first."""
        self.plugins = plugins or load_plugins()
        return check(self.catalog, plugins=self.plugins, settings=settings, rules=rules, **kwargs)


def by_rule(report: CheckReport) -> Hits:
    out: Hits = defaultdict(set)
    for hit in report.hits:
        out[hit.rule_id].update(Path(p).name for p in hit.paths)
    return dict(out)
