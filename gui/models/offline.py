"""Which library folders are offline now, as the views need to know it: by root and by path.

A file in an offline folder is not judged (DESIGN.md: "nothing is judged, nothing is
forgotten"), so its catalog state stays whatever the last check found, often ``ok``. Showing
that green tick for a drive that is not even plugged in is the worst thing a preservation tool
can do, so every view shows such a file as **Offline** instead: :meth:`OfflineRoots.state`
turns a stored state into the one to show. Views that have the file's root id (a file
record) ask :meth:`OfflineRoots.covers_root`; table rows, which carry the full display path
(root path, ``/``, relative path, as :meth:`Catalog.library_rows` joins them), ask
:meth:`OfflineRoots.covers`, a ``str.startswith`` per row.

Plain Python, no Qt: :class:`~phonovault.gui.models.library_model.LibraryModel` holds one, and
the albums page may use the same value (``LibraryModel.offline_roots()``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

OFFLINE = "offline"


def display_prefix(root_path: str) -> str:
    """How a root's files' display paths begin: its path in the catalog's printable form
    (undecodable bytes as U+FFFD, like ``path_text``) and a slash."""
    return os.fsencode(root_path).decode("utf-8", "replace") + "/"


@dataclass(frozen=True, slots=True)
class OfflineFolder:
    """One library root that is offline, and why (``offline_reason``'s words)."""

    id: int
    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class OfflineRoots:
    """The library roots offline at the last check (empty: every root is there)."""

    folders: tuple[OfflineFolder, ...] = ()
    _prefixes: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _ids: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_prefixes", tuple(display_prefix(f.path) for f in self.folders))
        object.__setattr__(self, "_ids", frozenset(f.id for f in self.folders))

    def __bool__(self) -> bool:
        return bool(self.folders)

    def __iter__(self) -> Iterator[OfflineFolder]:
        return iter(self.folders)

    def __len__(self) -> int:
        return len(self.folders)

    @property
    def ids(self) -> frozenset[int]:
        return self._ids

    def covers(self, path: str) -> bool:
        """Whether a display path (a library row's) lies in an offline root."""
        return bool(self._prefixes) and path.startswith(self._prefixes)

    def covers_root(self, root_id: int) -> bool:
        return root_id in self._ids

    def folder_of(self, path: str) -> OfflineFolder | None:
        """The offline root a display path lies in, if any."""
        for folder, prefix in zip(self.folders, self._prefixes, strict=True):
            if path.startswith(prefix):
                return folder
        return None

    def state(self, state: str, path: str) -> str:
        """The state to show for a file whose catalog state is ``state``."""
        return OFFLINE if self.covers(path) else state
