"""Text that was decoded with the wrong character set ("CafÃ©" for "Café").

The usual accident: a tagger read UTF-8 bytes as Latin-1 or Windows-1252 and saved the result.
That is reversible, so we test it by reversing it: encode the text back to those bytes and
decode them as UTF-8. Real text almost never survives that round trip (a lone "é" is not valid
UTF-8), so a success is a strong sign, and the result is the suggested fix.
"""

from __future__ import annotations

from phonovault.core.plugin_api import Rule, RuleHit, TrackFacts, hookimpl

_FIELDS = ("title", "artist", "album", "albumartist", "genre")
_LOST = "\ufffd"  # what a decoder puts where it gave up: the original character is gone

MOJIBAKE = Rule(
    id="mojibake",
    severity="warning",
    title="Garbled characters (wrong character set)",
    explanation=(
        "Accented and non-Latin letters show up as sequences like 'Ã©' or 'â€™': the text was "
        "once read with the wrong character set and saved that way."
    ),
    fix="Retag the field with the repaired text shown, or look the album up again.",
)


@hookimpl
def phonovault_rules() -> list[Rule]:
    return [MOJIBAKE]


@hookimpl
def phonovault_check_file(track: TrackFacts) -> list[RuleHit]:
    hits = []
    for name in _FIELDS:
        value = getattr(track, name)
        if not value:
            continue
        fixed = repair(value)
        if fixed is not None:
            hits.append(RuleHit(MOJIBAKE.id, (track.file_id,),
                                f"{name} {value!r} looks garbled; it reads {fixed!r} as UTF-8",
                                fields=(name,), fix=f"retag {name} as {fixed!r}"))  # fmt: skip
        elif _LOST in value:
            hits.append(RuleHit(MOJIBAKE.id, (track.file_id,),
                                f"{name} {value!r} has characters that were lost in decoding",
                                fields=(name,)))  # fmt: skip
    return hits


def repair(text: str) -> str | None:
    """The text a UTF-8 -> Latin-1/Windows-1252 misreading produced ``text`` from (undoing
    it up to three times, for text mangled repeatedly), or None if it is not such text."""
    fixed = None
    for _ in range(3):
        candidate = _undo(fixed or text)
        if candidate is None:
            break
        fixed = candidate
    return fixed


def _undo(text: str) -> str | None:
    if text.isascii():
        return None
    try:
        raw = bytes(_byte(c) for c in text)
        decoded = raw.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded if decoded != text else None


def _byte(char: str) -> int:
    """The byte Windows-1252 (else Latin-1, for the C1 codes 1252 leaves undefined) maps to
    ``char``; ValueError if neither has it."""
    try:
        return char.encode("cp1252")[0]
    except UnicodeEncodeError:
        if ord(char) < 256:
            return ord(char)
        raise ValueError(char) from None
