"""Backup coverage: how many verified good copies each file and album has (DESIGN.md,
"Backups"). Read-only over what the last verification of each target stored; nothing here
touches a disk, so the GUI can ask it as often as it likes.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

from phonovault.core.backups.targets import GOOD
from phonovault.core.catalog import Catalog

__all__ = ["AlbumCoverage", "CopyAge", "CoverageReport", "FileCoverage", "coverage"]


@dataclass(frozen=True, slots=True)
class CopyAge:
    target_id: int
    state: str
    verified_at: float | None
    age: float | None  # seconds since that verification


@dataclass(frozen=True, slots=True)
class FileCoverage:
    file_id: int
    path: str
    albumartist: str  # album artist, else artist (as the albums view groups)
    album: str
    good: int  # copies verified match or tags-differ
    copies: tuple[CopyAge, ...]


@dataclass(frozen=True, slots=True)
class AlbumCoverage:
    albumartist: str
    album: str
    tracks: int
    min_good: int  # the album is only as covered as its least covered file
    under: int  # files with fewer than the wanted number of good copies


@dataclass(slots=True)
class CoverageReport:
    min_copies: int
    targets: int
    files: list[FileCoverage] = field(default_factory=list)
    albums: list[AlbumCoverage] = field(default_factory=list)

    @property
    def under_covered(self) -> list[FileCoverage]:
        return [f for f in self.files if f.good < self.min_copies]

    @property
    def histogram(self) -> dict[int, int]:
        """Number of files per count of good copies."""
        out: dict[int, int] = defaultdict(int)
        for f in self.files:
            out[f.good] += 1
        return dict(sorted(out.items()))


def coverage(catalog: Catalog, min_copies: int = 2, *, now: float | None = None) -> CoverageReport:
    """Good copies per present library file and per album, and which files have fewer than
    ``min_copies``. Only copies a verification judged ``match`` or ``tags-differ`` count."""
    now = time.time() if now is None else now
    by_file: dict[int, list[CopyAge]] = defaultdict(list)
    for c in catalog.copy_states():
        age = now - c.verified_at if c.verified_at is not None else None
        by_file[c.file_id].append(CopyAge(c.target_id, c.state, c.verified_at, age))
    report = CoverageReport(min_copies, len(catalog.targets()))
    albums: dict[tuple[str, str], list[FileCoverage]] = defaultdict(list)
    for f in catalog.coverage_files():
        copies = tuple(sorted(by_file.get(f.id, ()), key=lambda c: c.target_id))
        artist = f.albumartist or f.artist or "Unknown artist"
        entry = FileCoverage(f.id, f.path, artist, f.album or "Unknown album",
                             sum(c.state in GOOD for c in copies), copies)  # fmt: skip
        report.files.append(entry)
        albums[(entry.albumartist, entry.album)].append(entry)
    for (artist, album), members in sorted(albums.items(), key=lambda kv: kv[0]):
        report.albums.append(
            AlbumCoverage(
                artist,
                album,
                len(members),
                min(m.good for m in members),
                sum(m.good < min_copies for m in members),
            )
        )
    return report
