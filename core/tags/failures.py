"""Why a parser gave up on a file, in plain words for the reason of a :class:`TagReadError`.

mutagen's parsers let Python's own errors escape on hostile bytes, and their messages describe
the parser ("list index out of range"), not the file. This module names which errors to expect
from a parse and turns one into a short phrase: mutagen's message when it is plain words, else
what the Python error means, with a hint when the suffix lies about the content.
"""

from __future__ import annotations

import errno
import os
import re
import struct
from typing import IO

import mutagen

from phonovault.core.tags.formats import SUFFIX_FORMATS

__all__ = ["ANY_PARSE_FAILURE", "PARSER_LEAKS", "describe_failure"]

# What mutagen's parsers are known to let escape on hostile input besides MutagenError.
PARSER_LEAKS: tuple[type[Exception], ...] = (
    struct.error, ValueError, IndexError, KeyError, EOFError, OverflowError, TypeError,
    ZeroDivisionError, AssertionError, AttributeError, RecursionError,
)  # fmt: skip

ANY_PARSE_FAILURE: tuple[type[BaseException], ...] = (mutagen.MutagenError, MemoryError,
                                                     *PARSER_LEAKS)  # fmt: skip


def describe_failure(fh: IO[bytes], name: str, head: bytes, exc: BaseException | None) -> str:
    """Plain words for why mutagen gave up, with a hint when the suffix lies about the content."""
    try:
        empty = os.fstat(fh.fileno()).st_size == 0
    except OSError:
        empty = False
    if empty:
        return "file is empty"
    expected = SUFFIX_FORMATS.get(os.path.splitext(name)[1].lower())
    actual = _sniff(head)
    if actual and expected and actual != _CONTAINERS.get(expected, expected):
        return f"not a valid {expected} file: the content looks like {actual} (wrong extension?)"
    if exc is None:
        return "not a recognised audio file"
    return f"truncated or corrupt {expected or 'audio'} file ({_failure_detail(exc, name)})"


# What Python's own errors mean when a parser meets hostile bytes, in words for people;
# the first matching class wins (UnicodeDecodeError is a ValueError, RecursionError a
# RuntimeError).
_LEAK_WORDS: tuple[tuple[type[BaseException], str], ...] = (
    (RecursionError, "its structure is nested too deeply"),
    (MemoryError, "a header claims an impossible size"),
    (OverflowError, "a size or position field is impossibly large"),
    (ZeroDivisionError, "a header field that must not be zero is zero"),
    (UnicodeError, "a field that should be text holds binary data"),
    (struct.error, "the data ends too early"),
    (EOFError, "the data ends too early"),
)
# A parser message that is not plain words: a bytes repr, an escape, a control character.
_NOT_WORDS = re.compile(r"""b'|b"|\\|[^\x20-\x7e]""")
_CLASS_NAME = re.compile(r"\b[A-Za-z]*(Error|Exception|Chunk)\b|^error$")


def _failure_detail(exc: BaseException, name: str) -> str:
    """A short phrase for why a parser gave up: mutagen's message when it is plain words,
    else what the Python error means; never a repr, a class name or a traceback."""
    cause = exc.args[0] if isinstance(exc, mutagen.MutagenError) and exc.args else exc
    if isinstance(cause, OSError):
        if cause.errno == errno.EINVAL:
            return "a header points outside the file"
        if cause.errno is None:  # mutagen's bare IOError: the data ran out
            return "the data ends too early"
    if isinstance(cause, BaseException) and not isinstance(cause, mutagen.MutagenError):
        for kind, words in _LEAK_WORDS:
            if isinstance(cause, kind):
                return words
    # Only mutagen's own messages are meant to be read; Python's ("list index out of
    # range") describe our parser, not the file. Of those, keep the leading clauses that
    # are plain words: "unable to read full header; got b'OggS..." -> "unable to read
    # full header"; "'Title\\x02T' is not a valid APEv2 key" has none.
    if isinstance(exc, mutagen.MutagenError | OSError):
        text = str(cause).replace(name, "")
        clauses = re.split(r"(?<=[;,]) ", text)
        clean = "".join(c + " " for c in clauses[: _first_unclean(clauses)]).strip(" ;,:")
        if len(clean) >= 4 and " " in clean and not _CLASS_NAME.search(clean):
            return clean[:120]
    return "its structure is inconsistent"


def _first_unclean(clauses: list[str]) -> int:
    return next((i for i, c in enumerate(clauses) if _NOT_WORDS.search(c)), len(clauses))


# What _sniff() calls the formats that share a container or a frame syncword.
_CONTAINERS = {"Ogg Vorbis": "Ogg", "Opus": "Ogg", "Speex": "Ogg", "MP2": "MP3", "MP1": "MP3",
               "E-AC-3": "AC-3"}  # fmt: skip
_MAGIC = ((b"fLaC", "FLAC"), (b"OggS", "Ogg"), (b"ID3", "MP3"), (b"wvpk", "WavPack"),
          (b"\x0b\x77", "AC-3"), (b"MAC ", "APE"), (b"MPCK", "Musepack"), (b"MP+", "Musepack"),
          (b"DSD ", "DSF"), (b"FRM8", "DFF"), (b"TTA1", "TrueAudio"), (b"OFR ", "OptimFROG"),
          (b"tBaK", "TAK"), (b"FORM", "AIFF"),
          (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "WMA"))  # fmt: skip


def _sniff(head: bytes) -> str | None:
    """Name the format the first bytes belong to, for error messages only."""
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    if head[:4] == b"RIFF":
        return "WAV" if head[8:12] == b"WAVE" else None
    if head[4:8] == b"ftyp":
        return "MP4"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "AAC (ADTS)" if head[1] & 0x06 == 0 else "MP3"
    return None
