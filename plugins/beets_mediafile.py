"""Files whose tags beets would read differently from Phonovault (a per-file analyzer).

Phonovault reads tags with mutagen; beets reads them through its MediaFile layer, which picks
its own keys per format. When the two disagree, beets imports or shows other values than
the ones you see here, and 'beet write' may overwrite what another player relies on. This
plugin opens each file with ``mediafile.MediaFile`` and compares the common fields, after
folding differences that mean nothing (absent vs empty vs zero, surrounding spaces).
"""

from __future__ import annotations

import os
from typing import Any

from phonovault.core.plugin_api import Rule, RuleHit, TrackFacts, hookimpl, open_audio

DIFFERS = Rule(
    id="mediafile-differs",
    severity="warning",
    title="beets reads these tags differently",
    explanation=(
        "beets' MediaFile finds other values in this file than Phonovault does, usually "
        "because a tag sits under a key or in a block beets does not look at. beets (and its "
        "'beet write') will work from its own reading."
    ),
    fix="Save the tags again with beets ('beet write') or Picard, so one clean block remains.",
)

_FIELDS = ("title", "artist", "album", "track", "disc", "year")


@hookimpl
def phonovault_rules() -> list[Rule]:
    return [DIFFERS]


@hookimpl
def phonovault_analyze_file(path: str, track: TrackFacts) -> list[RuleHit]:
    if track.tag_error:  # mutagen could not read it either: the unreadable-tags rule says so
        return []
    if not os.path.isfile(path):  # gone since the scan: that is for scan and verify to say
        return []
    import mediafile  # here, not at the top: only a check that runs this rule pays for it

    # Through Phonovault's reader, not a path: mutagen reads as many bytes as a header
    # declares, and a WAV 'fmt ' chunk claiming 4 GB would otherwise cost a 4 GB allocation.
    try:
        with open_audio(path) as fh:
            mf = mediafile.MediaFile(fh)
    except mediafile.FileTypeError:
        return []  # a format beets does not handle: nothing to compare
    except OSError:
        return []  # unreadable since the scan: that is for scan and verify to say
    except Exception as exc:  # MediaFile's own errors and whatever mutagen lets escape
        return [RuleHit(DIFFERS.id, (track.file_id,), f"beets cannot read this file ({exc})")]
    hits = []
    for name in _FIELDS:
        ours, theirs = _fold(getattr(track, name)), _fold(getattr(mf, name, None))
        if ours != theirs:
            message = f"{name}: beets reads {_show(theirs)}, Phonovault {_show(ours)}"
            hits.append(RuleHit(DIFFERS.id, (track.file_id,), message, fields=(name,)))
    return hits


def _fold(value: Any) -> Any:
    """None, "", 0 and spaces all mean "no value" to a reader; numbers stay numbers."""
    if isinstance(value, str):
        value = value.strip()
    return value or None


def _show(value: Any) -> str:
    return "nothing" if value is None else repr(value)
