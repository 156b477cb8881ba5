"""What the Albums page offers to mute and unmute on one album, read from the catalog.

The mutes themselves are :func:`phonovault.core.rules.engine.mute` and ``unmute`` with
``album=`` (what ``phonovault mute --album`` calls); this module only answers, for one album
as the albums view groups it, which rules have findings on its files and which album-wide
mutes apply to it. A mute is matched the way the engine applies it: album artist and title
compared without regard to case, Unicode form or runs of spaces.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from phonovault.core.catalog import Catalog, Mute
from phonovault.core.rules.engine import RULE_PREFIX, _album_key, album_of

__all__ = ["AlbumRules", "album_rules"]


@dataclass(frozen=True, slots=True)
class AlbumRules:
    """One album's rule findings and mutes."""

    album: tuple[str, str] | None  # what mute(album=...) takes; None: the files have no album
    file_ids: tuple[int, ...] = ()
    findings: dict[str, int] = field(default_factory=dict)  # rule id -> files it flags
    mutes: tuple[Mute, ...] = ()  # album mutes first, then those of single files


def album_rules(
    catalog: Catalog, albumartist: str, album: str, file_ids: Sequence[int] | None = None
) -> AlbumRules:
    """The rules with findings on the files of ``(albumartist, album)`` (an ``AlbumRow``'s
    names; ``file_ids`` when the caller has read them already) and the mutes that apply
    there: the album's own, and those of single files of it. Reads the catalog only: a
    loader thread may call it."""
    ids = list(catalog.album_file_ids(albumartist, album) if file_ids is None else file_ids)
    named = next((a for a in map(album_of, catalog.files_by_ids(ids)) if a is not None), None)
    if named is None:
        return AlbumRules(None, tuple(ids))
    counts: Counter[str] = Counter()
    for file_id in ids:
        kinds = {f.kind for f in catalog.findings_for_file(file_id)}
        counts.update(k[len(RULE_PREFIX) :] for k in kinds if k.startswith(RULE_PREFIX))
    key, files = _album_key(named[0], None, named[1]), set(ids)

    def applies(m: Mute) -> bool:
        if m.file_id is not None:
            return m.file_id in files
        return _album_key(m.albumartist, None, m.album) == key

    mutes = sorted((m for m in catalog.mutes() if applies(m)), key=lambda m: m.file_id is not None)
    return AlbumRules(named, tuple(ids), dict(sorted(counts.items())), tuple(mutes))
