"""What a tag edit changed, field by field (DESIGN.md, "Fixity classification").

``tags-changed`` is benign, but a user who did not edit the file wants to know what another
program did to it: "title 'Intro' -> 'Intro (Live)'; cover replaced" says it, a new hash does
not. The catalog keeps the last baseline's normalized tags, raw tags and cover summary, so the
comparison needs no old bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from phonovault.core.records import FileRecord
from phonovault.core.tags.reading import TrackInfo

# The normalized fields, with the word a person reads.
_FIELDS = (
    ("title", "title"), ("artist", "artist"), ("album", "album"),
    ("albumartist", "album artist"), ("track", "track"), ("tracktotal", "track total"),
    ("disc", "disc"), ("disctotal", "disc total"), ("date", "date"), ("genre", "genre"),
    ("mb_trackid", "MusicBrainz track id"), ("mb_albumid", "MusicBrainz album id"),
    ("mb_artistid", "MusicBrainz artist id"),
    ("mb_albumartistid", "MusicBrainz album artist id"),
    ("mb_releasegroupid", "MusicBrainz release group id"),
    ("rg_track_gain", "ReplayGain track gain"), ("rg_track_peak", "ReplayGain track peak"),
    ("rg_album_gain", "ReplayGain album gain"), ("rg_album_peak", "ReplayGain album peak"),
)  # fmt: skip
_SHOWN = 60  # characters of a value shown (lyrics and notes can be long)
_LISTED = 8  # changes named in the one-line summary


@dataclass(frozen=True, slots=True)
class TagChange:
    """One field that reads differently: ``old``/``new`` as text, None when absent."""

    field: str
    old: str | None
    new: str | None

    def describe(self) -> str:
        if self.old is None:
            return f"{self.field} added: {_quote(self.new)}"
        if self.new is None:
            return f"{self.field} removed (was {_quote(self.old)})"
        return f"{self.field} {_quote(self.old)} -> {_quote(self.new)}"

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new}


def _quote(value: str | None) -> str:
    text = value or ""
    return repr(text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…")


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def tag_changes(old: FileRecord, new: TrackInfo | None) -> list[TagChange]:
    """Every normalized field, cover and other raw tag that differs between a baseline
    record and a fresh read of the tags (None: they could not be read)."""
    if new is None:
        return [TagChange("tags", "readable", None)]
    changes = [
        TagChange(label, _text(getattr(old, name)), _text(getattr(new, name)))
        for name, label in _FIELDS
        if _text(getattr(old, name)) != _text(getattr(new, name))
    ]
    cover = _cover_change(old, new)
    if cover is not None:
        changes.append(cover)
    changes.extend(_raw_changes(old.raw_tags, new))
    return changes


def _cover_change(old: FileRecord, new: TrackInfo) -> TagChange | None:
    if (old.art_hash or None) == new.art.hash and (old.art_count or 0) == new.art.count:
        return None
    before = _cover(old.art_count or 0, old.art_bytes or 0, old.art_width, old.art_height)
    after = _cover(new.art.count, new.art.total_bytes, new.art.width, new.art.height)
    if before and after and before == after:
        after += " (other bytes)"
    return TagChange("cover", before, after)


def _cover(count: int, size: int, width: int | None, height: int | None) -> str | None:
    if not count:
        return None
    shape = f"{width}x{height}, " if width and height else ""
    plural = "s" if count > 1 else ""
    return f"{count} picture{plural} ({shape}{max(1, round(size / 1024))} KB)"


# Raw keys the normalized fields already speak for (any block), compared case-blind.
_COVERED = {
    "title", "artist", "album", "albumartist", "album artist", "tracknumber", "tracktotal",
    "totaltracks", "discnumber", "disctotal", "totaldiscs", "date", "year", "genre",
    "tit2", "tpe1", "talb", "tpe2", "trck", "tpos", "tdrc", "tcon", "tyer",
    "©nam", "©art", "©alb", "aart", "trkn", "disk", "©day", "©gen",
}  # fmt: skip
# Raw keys the cover comparison speaks for.
_PICTURES = {"metadata_block_picture", "covr", "apic", "cover art (front)"}
_IGNORED = ("musicbrainz", "replaygain", "txxx:m")


def _raw_changes(old_json: str | None, new: TrackInfo) -> list[TagChange]:
    """Other tags (comments, lyrics, custom fields) that were added, removed or changed, and
    the values a normalized field does not show: a second TITLE beside the first (metaflac
    --set-tag adds one) keeps the title the first one says, but it is an edit. Keys are
    compared case-blind: Vorbis comment and APEv2 keys are, and a tagger that rewrites
    ``encoder`` as ``ENCODER`` changed nothing."""
    try:
        old = _folded({k: tuple(v) for k, v in json.loads(old_json or "{}").items()})
    except (ValueError, TypeError, AttributeError):
        old = {}
    fresh = _folded(new.raw)
    out: list[TagChange] = []
    for low in sorted(set(old) | set(fresh)):
        key = (fresh.get(low) or old[low])[0]
        head, _, rest = low.partition(":")
        bare = rest or head
        if head in ("apic", "pic") or bare in _PICTURES or bare.startswith(_IGNORED):
            continue  # the cover comparison speaks for pictures; ids are not shown
        a, b = old.get(low, ("", ()))[1], fresh.get(low, ("", ()))[1]
        if bare in _COVERED and a[:1] != b[:1]:
            continue  # the normalized field says it
        if a != b:
            out.append(TagChange(key, "; ".join(a) or None, "; ".join(b) or None))
    return out


def _folded(raw: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """lower-cased key -> (the key as written, its values); keys that differ only in case
    are one field."""
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for key, values in raw.items():
        low = key.lower()
        if low in out:
            out[low] = (out[low][0], out[low][1] + tuple(values))
        else:
            out[low] = (key, tuple(values))
    return out


def summary(changes: list[TagChange]) -> str:
    """One line for a verdict: the first few changes, and how many more."""
    if not changes:
        return "no field reads differently (padding or a block we do not read changed)"
    shown = "; ".join(c.describe() for c in changes[:_LISTED])
    more = len(changes) - _LISTED
    return shown + (f"; and {more} more" if more > 0 else "")
