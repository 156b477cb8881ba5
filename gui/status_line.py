"""The status line's figures (read off the UI thread) and the sentence they make.

Files in an offline folder are not checked, so they are neither "healthy" nor verified
recently, whatever their last check found: while a folder is offline the line says so, naming
it, instead of counting its files as healthy (issue 15).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from phonovault.core.catalog import Catalog
from phonovault.core.jobs import format_size
from phonovault.core.report.health import ATTENTION_STATES
from phonovault.gui.models.offline import OfflineRoots


def plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


@dataclass(frozen=True, slots=True)
class Summary:
    files: int
    size: int
    oldest: float | None  # the oldest last verification (None: some file never verified)
    albums: int
    problems: int  # findings at warning or worse (the sidebar's count)
    attention: int  # files that need attention (a state or an error finding)
    offline_ids: frozenset[int]  # the roots counted as offline below
    offline_files: int  # files in those roots
    # Of them, files whose last known state needs attention (by state: one that needs it
    # only for an error finding still counts among ``attention``).
    offline_attention: int


def summary_reader(offline_ids: frozenset[int]) -> Callable[[Catalog], Summary]:
    """The read behind the status line, with the files of ``offline_ids`` counted apart."""

    def read(catalog: Catalog) -> Summary:
        with catalog.read_snapshot():  # a job writing meanwhile must not skew the sums
            files, size, oldest, _states, albums, problems = catalog.summary_counts()
            attention = catalog.worst_counts(ATTENTION_STATES)[2]
            offline_files = offline_attention = 0
            if offline_ids:
                totals = catalog.root_totals()
                offline_files = sum(totals.get(i, (0, 0, 0))[0] for i in offline_ids)
                states = catalog.state_counts(sorted(offline_ids))
                offline_attention = sum(states.get(s, 0) for s in ATTENTION_STATES)
        return Summary(files, size, oldest, albums, problems, attention, offline_ids,
                       offline_files, offline_attention)  # fmt: skip

    return read


def offline_phrase(offline: OfflineRoots) -> str:
    """``Music folder “/media/m/Music” offline``, or ``2 music folders offline (A, B)``."""
    folders = list(offline)
    if len(folders) == 1:
        return f"Music folder “{folders[0].path}” offline"
    names = ", ".join(os.path.basename(f.path.rstrip(os.sep)) or f.path for f in folders)
    return f"{len(folders)} music folders offline ({names})"


def summary_text(s: Summary, offline: OfflineRoots) -> str:
    """The status line: files, albums, size, then health, or what is offline instead."""
    if not s.files:
        return "No files in the catalog yet"
    head = f"{plural(s.files, 'file')} · {plural(s.albums, 'album')} · {format_size(s.size)}"
    if not s.offline_ids or not offline:
        healthy = s.files - s.attention
        since = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.oldest)) if s.oldest else "never"
        return (
            f"{head} · {healthy:,} healthy · {s.attention:,} need attention · "
            f"every file verified since {since}"
        )
    not_checked = f"{offline_phrase(offline)}: not checked"
    if s.offline_files >= s.files:
        return f"{head} · {not_checked}"
    online_attention = max(s.attention - s.offline_attention, 0)
    healthy = max(s.files - s.offline_files - online_attention, 0)
    return (
        f"{head} · {not_checked} ({plural(s.offline_files, 'file')}) · {healthy:,} healthy · "
        f"{online_attention:,} need attention"
    )
