"""One file, several tag blocks, different answers (ID3v2 vs ID3v1 vs APEv2).

An MP3 can carry a leading ID3v2 tag, a trailing APEv2 tag and a trailing ID3v1 tag at once.
Each player reads the one it prefers, so when they disagree the same file shows a different
title on the car stereo than on the laptop. The catalog keeps the other blocks' raw keys with
a prefix ("ID3v1:TIT2", "APEv2:Title"); we compare them with the main block's values.
"""

from __future__ import annotations

from phonovault.core.plugin_api import Rule, RuleHit, TrackFacts, hookimpl

CONFLICT = Rule(
    id="tag-blocks-conflict",
    severity="warning",
    title="Tag blocks in one file disagree",
    explanation=(
        "The file holds more than one tag block (ID3v2, APEv2, ID3v1) and they give different "
        "values, so different players show different tags for the same file."
    ),
    fix=(
        "Keep one block: remove the stale ID3v1/APEv2 tag (Mp3tag, 'mid3v2 --delete-v1', "
        "'beet write'), or rewrite all blocks from the main one."
    ),
)

# field -> its key in each secondary block (APEv2 keys are compared case-insensitively)
_KEYS = {
    "title": {"ID3v1": "TIT2", "APEv2": "title"},
    "artist": {"ID3v1": "TPE1", "APEv2": "artist"},
    "album": {"ID3v1": "TALB", "APEv2": "album"},
    "track": {"ID3v1": "TRCK", "APEv2": "track"},
}
_V1_WIDTH = 30  # ID3v1 text fields hold 30 bytes: a longer value is cut, not a conflict


@hookimpl
def phonovault_rules() -> list[Rule]:
    return [CONFLICT]


@hookimpl
def phonovault_check_file(track: TrackFacts) -> list[RuleHit]:
    main = _main_label(track)
    blocks = _secondary_blocks(track)
    hits = []
    for block, values in blocks.items():
        if block == main:
            continue
        for name, keys in _KEYS.items():
            theirs = values.get(keys[block])
            ours = getattr(track, name)
            if theirs is None or _agree(name, block, ours, theirs):
                continue
            said = "nothing" if ours in (None, "") else repr(str(ours))
            hits.append(RuleHit(CONFLICT.id, (track.file_id,),
                                f"{name}: {block} says {theirs!r}, {main} says {said}",
                                fields=(name,)))  # fmt: skip
    return hits


def _main_label(track: TrackFacts) -> str:
    """The block the normalized values came from, as people call it: a format's own block
    (Vorbis comments, MP4 atoms) before a foreign ID3v2, then APEv2, then ID3v1."""
    formats = track.tag_formats
    native = [f for f in formats if not f.startswith(("id3", "apev2"))]
    if native:
        return native[0]
    v2 = [f for f in formats if f.startswith("id3v2")]
    if v2:
        return "ID3" + v2[0][3:]
    return "APEv2" if "apev2" in formats else "ID3v1"


def _secondary_blocks(track: TrackFacts) -> dict[str, dict[str, str]]:
    """Prefix -> {key (APEv2 keys lowercased): first value} of the prefixed raw keys."""
    out: dict[str, dict[str, str]] = {}
    for key, values in track.raw.items():
        prefix, sep, name = key.partition(":")
        if not sep or prefix not in ("ID3v1", "APEv2") or not values:
            continue
        value = values[0].strip()
        if value:
            out.setdefault(prefix, {})[name.lower() if prefix == "APEv2" else name] = value
    return out


def _agree(name: str, block: str, ours: object, theirs: str) -> bool:
    if name == "track":
        number = theirs.partition("/")[0].strip()
        return number.isdigit() and int(number) == ours
    text = str(ours or "").strip()
    if block == "ID3v1":
        try:
            text.encode("latin-1")
        except UnicodeEncodeError:
            return True  # ID3v1 cannot hold this text at all; what it has is a stand-in
        text = text[:_V1_WIDTH].strip()
    return text == theirs
