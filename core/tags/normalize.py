"""One vocabulary from every tag family: TrackInfo's tag fields picked from a block's lookup.

Every family names the same facts differently (Vorbis ``TRACKNUMBER=3/12``, ID3 ``TRCK``, MP4
``trkn`` tuples, APEv2 ``Track``, ASF ``WM/TrackNumber``), so each has a key table: normalized
field -> case-folded lookup keys, best first. Names follow beets' MediaFile and Picard, so
files tagged by either read back the way their users expect. Junk values (a track "A1", a gain
of "1" * 400) become None rather than a wrong number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from phonovault.core.tags.families import Block

__all__ = ["normalize"]

_MB = "musicbrainz_"
_ITUNES = "----:com.apple.itunes:"
# Per tag family: normalized field -> lookup keys (case-folded), best first. Vorbis comments and
# APEv2 share one table: their names overlap and both are case-insensitive.
_TEXTLIKE: dict[str, tuple[str, ...]] = {
    "title": ("title",), "artist": ("artist",), "album": ("album",),
    "albumartist": ("albumartist", "album artist", "album_artist"),
    "track": ("tracknumber", "track"), "tracktotal": ("tracktotal", "totaltracks", "trackc"),
    "disc": ("discnumber", "disc"), "disctotal": ("disctotal", "totaldiscs", "discc"),
    "date": ("date", "year"), "genre": ("genre",),
    "mb_trackid": (_MB + "trackid",), "mb_albumid": (_MB + "albumid",),
    "mb_artistid": (_MB + "artistid",), "mb_albumartistid": (_MB + "albumartistid",),
    "mb_releasegroupid": (_MB + "releasegroupid",),
}  # fmt: skip
_ID3: dict[str, tuple[str, ...]] = {
    "title": ("tit2",), "artist": ("tpe1",), "album": ("talb",),
    "albumartist": ("tpe2", "txxx:albumartist", "txxx:album artist"),
    "track": ("trck",), "tracktotal": ("txxx:tracktotal", "txxx:totaltracks"),
    "disc": ("tpos",), "disctotal": ("txxx:disctotal", "txxx:totaldiscs"),
    "date": ("tdrc", "tyer", "tdrl"), "genre": ("tcon",),
    "mb_trackid": ("ufid:http://musicbrainz.org", "txxx:musicbrainz track id"),
    "mb_albumid": ("txxx:musicbrainz album id",), "mb_artistid": ("txxx:musicbrainz artist id",),
    "mb_albumartistid": ("txxx:musicbrainz album artist id",),
    "mb_releasegroupid": ("txxx:musicbrainz release group id",),
}  # fmt: skip
_MP4: dict[str, tuple[str, ...]] = {
    "title": ("\xa9nam",), "artist": ("\xa9art",), "album": ("\xa9alb",),
    "albumartist": ("aart",), "track": ("trkn",), "disc": ("disk",), "date": ("\xa9day",),
    "genre": ("\xa9gen",),
    "mb_trackid": (_ITUNES + "musicbrainz track id",),
    "mb_albumid": (_ITUNES + "musicbrainz album id",),
    "mb_artistid": (_ITUNES + "musicbrainz artist id",),
    "mb_albumartistid": (_ITUNES + "musicbrainz album artist id",),
    "mb_releasegroupid": (_ITUNES + "musicbrainz release group id",),
}  # fmt: skip
_ASF: dict[str, tuple[str, ...]] = {
    "title": ("title",), "artist": ("author",), "album": ("wm/albumtitle",),
    "albumartist": ("wm/albumartist",), "track": ("wm/tracknumber", "wm/track+1"),
    "tracktotal": ("totaltracks", "wm/totaltracks"), "disc": ("wm/partofset",),
    "disctotal": ("totaldiscs", "wm/totaldiscs"), "date": ("wm/year",), "genre": ("wm/genre",),
    "mb_trackid": ("musicbrainz/track id",), "mb_albumid": ("musicbrainz/album id",),
    "mb_artistid": ("musicbrainz/artist id",),
    "mb_albumartistid": ("musicbrainz/album artist id",),
    "mb_releasegroupid": ("musicbrainz/release group id",),
}  # fmt: skip
# ReplayGain keys are the same words everywhere, behind a family-specific prefix.
_RG_FIELDS = ("rg_track_gain", "rg_track_peak", "rg_album_gain", "rg_album_peak")
_RG_PREFIX = {"vorbis": "", "apev2": "", "id3": "txxx:", "mp4": _ITUNES, "asf": ""}
_TABLES = {"vorbis": _TEXTLIKE, "apev2": _TEXTLIKE, "id3": _ID3, "mp4": _MP4, "asf": _ASF}
_TEXT_FIELDS = ("title", "artist", "album", "albumartist", "date", "genre", "mb_trackid",
                "mb_albumid", "mb_artistid", "mb_albumartistid", "mb_releasegroupid")  # fmt: skip

_NUMBER_PAIR = re.compile(r"\s*([0-9]+)?\s*(?:/\s*([0-9]+)?\s*)?", re.ASCII)
_DECIBELS = re.compile(r"\s*([+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+))\s*(?:db)?\s*", re.I)
_MAX_DIGITS = 5  # longer track/disc numbers are junk (and could overflow SQLite)


def normalize(block: Block) -> dict[str, Any]:
    """The normalized fields from a block's lookup, per the family's key table."""
    table = _TABLES[block.family]
    get = block.lookup.get
    out: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        out[name] = _first(v for key in table[name] for v in get(key, ()))
    for number, total in (("track", "tracktotal"), ("disc", "disctotal")):
        n, slash_total = _number_pair(_first(v for k in table[number] for v in get(k, ())))
        explicit = _first(v for k in table.get(total, ()) for v in get(k, ()))
        out[number] = n
        out[total] = _number_pair(explicit)[0] if explicit else slash_total
    prefix = _RG_PREFIX[block.family]
    for name in _RG_FIELDS:  # ID3's RVA2 frames are the pre-TXXX way to store the same
        text = _first([*get(prefix + "replaygain" + name[2:], ()), *get("rva2:" + name[3:], ())])
        out[name] = _decibels(text)
    return out


def _first(values: Iterable[str]) -> str | None:
    """The first value that is not empty (or a placeholder for binary data)."""
    return next((v for v in values if v.strip() and not v.startswith("<binary ")), None)


def _number_pair(text: str | None) -> tuple[int | None, int | None]:
    """Read "3/12" as (3, 12), "3" as (3, None), and junk such as "A1" or "" as (None, None)."""
    match = _NUMBER_PAIR.fullmatch(text or "")
    if not match:
        return None, None
    # Length first: int() refuses digit strings over 4,300 characters with a ValueError.
    n, total = (int(g) if g and len(g) <= _MAX_DIGITS else None for g in match.groups())
    return n, total or None


def _decibels(text: str | None) -> float | None:
    match = _DECIBELS.fullmatch(text or "")
    value = float(match.group(1).replace(",", ".")) if match else math.nan
    return value if math.isfinite(value) else None  # "1" * 400 parses as inf
