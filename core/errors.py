"""One root exception for the package, so callers can catch what is ours.

Errors are sorted the way beets sorts them: *expected* trouble with a user's files (unreadable,
unparseable) is a :class:`FileProblem` that becomes a finding; anything else is a bug and is
logged with its traceback. Only the CLI and the GUI turn these into sentences for people.
"""

from __future__ import annotations

import os


class PhonovaultError(Exception):
    """Root of every error Phonovault raises on purpose."""


class CatalogError(PhonovaultError):
    """The catalog cannot be opened or used (corrupt, locked, newer schema, ...)."""


class CatalogMissingError(CatalogError):
    """No catalog at the path given (a typo must not silently start an empty one)."""


class SchemaTooNewError(CatalogError):
    """The catalog was written by a newer Phonovault; we refuse to touch it."""


class RootError(PhonovaultError):
    """A library root cannot be registered or found."""


class NotInCatalogError(PhonovaultError):
    """A path the user named is not a file the catalog knows."""


class FileProblem(PhonovaultError):
    """Expected trouble with one file: it becomes a finding, never a crash."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class TagReadError(FileProblem):
    """mutagen could not read the file's tags or stream info."""


class BackupError(PhonovaultError):
    """A backup target cannot be registered or used as asked."""
