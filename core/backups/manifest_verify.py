"""Checksum manifests found beside music: find them, parse them, verify them (read-only).

Manifests come from strangers (a download, an old rip, another tool), so every line is
untrusted input. An entry that would leave the manifest's folder (``..``, an absolute path, a
drive letter, a NUL byte, a symbolic link pointing outside) is *rejected* and never opened; a
line longer than :data:`MAX_LINE` is rejected without being held in memory; a line we cannot
parse is reported with its number. Only regular files are opened, and without blocking: a FIFO
named ``x.sha256`` or ``01.flac`` would otherwise wait forever for a writer. Nothing here
raises for a bad manifest: only a manifest we cannot open at all is a :class:`ManifestError`.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from phonovault.core.errors import PhonovaultError
from phonovault.core.identity.digests import NOT_REGULAR, open_regular

MAX_LINE = 64 * 1024
_CHUNK = 1 << 20

# suffix -> kind; ".sha256sum" and ".sha256" are the same GNU format.
KINDS = {".sha256": "sha256", ".sha256sum": "sha256", ".md5": "md5", ".sfv": "sfv", ".ffp": "ffp"}
_HEX_LEN = {"sha256": 64, "md5": 32, "sfv": 8, "ffp": 32}
_GNU_LINE = re.compile(rb"^([0-9A-Fa-f]+) [ *](.+)$", re.S)
_BSD_LINE = re.compile(rb"^(?:SHA256|MD5) ?\((.+)\) ?= ?([0-9A-Fa-f]+)$", re.S)
_SFV_LINE = re.compile(rb"^(.+?)\s+([0-9A-Fa-f]{8})$", re.S)
_FFP_LINE = re.compile(rb"^(.+):([0-9A-Fa-f]{32})$", re.S)

Opener = Callable[..., IO[bytes]]


class ManifestError(PhonovaultError):
    """A manifest cannot be written or read at all (one bad line is never this)."""


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One line of a manifest and what checking it found.

    ``state`` is ``ok``, ``mismatch``, ``missing``, ``unreadable`` or ``rejected`` (unsafe
    path, oversized or unparseable line: ``detail`` says which).
    """

    line: int
    path: bytes | None  # as written in the manifest (unescaped), None when unparseable
    state: str
    expected: str | None
    actual: str | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class ManifestReport:
    manifest: str
    kind: str
    entries: tuple[ManifestEntry, ...]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.entries:
            out[e.state] = out.get(e.state, 0) + 1
        return out

    @property
    def ok(self) -> bool:
        return all(e.state == "ok" for e in self.entries)


def gnu_escape(name: bytes) -> tuple[bool, bytes]:
    """GNU coreutils' form for awkward names: ``\\`` -> ``\\\\``, newline -> ``\\n``, CR ->
    ``\\r``; the caller starts the line with a backslash when the first value is True."""
    if not any(c in name for c in b"\\\n\r"):
        return False, name
    return True, name.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").replace(b"\r", b"\\r")


def gnu_unescape(name: bytes) -> bytes | None:
    """The inverse of :func:`gnu_escape`; None for an unknown escape."""
    out, i = bytearray(), 0
    while i < len(name):
        c = name[i : i + 1]
        if c == b"\\":
            nxt = name[i + 1 : i + 2]
            mapped = {b"\\": b"\\", b"n": b"\n", b"r": b"\r"}.get(nxt)
            if mapped is None:
                return None
            out += mapped
            i += 2
        else:
            out += c
            i += 1
    return bytes(out)


def find_manifests(folder: str | os.PathLike[str]) -> list[str]:
    """Every manifest file (by suffix, see :data:`KINDS`) at or below ``folder``, sorted."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(os.fspath(folder)):
        dirnames.sort()
        found.extend(
            path
            for name in sorted(filenames)
            if os.path.splitext(name)[1].lower() in KINDS
            and os.path.isfile(path := os.path.join(dirpath, name))  # not a FIFO or a socket
        )
    return found


def unsafe_reason(path: bytes, *, backslash_is_separator: bool) -> str | None:
    """Why an entry's path must not be followed, or None when it stays in the folder."""
    if b"\0" in path:
        return "contains a NUL byte"
    if not path:
        return "empty path"
    if path.startswith(b"/") or path.startswith(b"\\"):
        return "is an absolute path"
    if re.match(rb"^[A-Za-z]:", path):
        return "starts with a drive letter"
    parts = re.split(rb"[/\\]", path) if backslash_is_separator else path.split(b"/")
    if b".." in parts or (not backslash_is_separator and b".." in re.split(rb"[/\\]", path)):
        return "has a '..' component that leaves the manifest's folder"
    return None


def verify_manifest(
    path: str | os.PathLike[str], *, opener: Opener = open_regular, kind: str | None = None
) -> ManifestReport:
    """Check every entry of one manifest against the files beside it (read-only)."""
    path = os.fspath(path)
    kind = kind or KINDS.get(os.path.splitext(path)[1].lower())
    if kind is None:
        raise ManifestError(f"{path}: not a manifest we know ({', '.join(sorted(KINDS))})")
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fh = open_regular(path)  # the opener is for the files the manifest names
    except OSError as exc:
        raise ManifestError(f"cannot read the manifest {path}: {exc.strerror or exc}") from exc
    entries: list[ManifestEntry] = []
    with fh:
        for number, raw in _lines(fh):
            entry = _check_line(number, raw, kind, folder, opener)
            if entry is not None:
                entries.append(entry)
    return ManifestReport(path, kind, tuple(entries))


def _lines(fh: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line without its end) pairs; None for a line over MAX_LINE, which is
    skipped in bounded reads so a 1 GB "line" never sits in memory."""
    number = 0
    while True:
        line = fh.readline(MAX_LINE + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE:
            while line and not line.endswith(b"\n"):
                line = fh.readline(_CHUNK)
            yield number, None
            continue
        yield number, line.rstrip(b"\n").rstrip(b"\r")


def _rejected(number: int, path: bytes | None, detail: str) -> ManifestEntry:
    return ManifestEntry(number, path, "rejected", None, None, f"line {number}: {detail}")


def _parse(raw: bytes, kind: str) -> tuple[bytes, str] | str:
    """(path, expected hex) or why the line is not an entry."""
    if kind in ("sha256", "md5"):
        escaped = raw.startswith(b"\\")
        body = raw[1:] if escaped else raw
        m = _GNU_LINE.match(body)
        if m:
            name: bytes = m.group(2)
            digest = m.group(1)
        elif (b := _BSD_LINE.match(body)) is not None:
            name, digest = b.group(1), b.group(2)
        else:
            return f"not a {kind}sum line"
        if escaped:
            plain = gnu_unescape(name)
            if plain is None:
                return "unknown backslash escape in the file name"
            name = plain
    elif kind == "sfv":
        m = _SFV_LINE.match(raw.strip())
        if not m:
            return "not an SFV line (NAME CRC32)"
        name, digest = m.group(1), m.group(2)
    else:
        m = _FFP_LINE.match(raw.strip())
        if not m:
            return "not an FFP line (NAME.flac:MD5)"
        name, digest = m.group(1), m.group(2)
    if len(digest) != _HEX_LEN[kind]:
        return f"the checksum has {len(digest)} hex digits, {kind} needs {_HEX_LEN[kind]}"
    return name, digest.decode("ascii").lower()


def _check_line(
    number: int, raw: bytes | None, kind: str, folder: str, opener: Opener
) -> ManifestEntry | None:
    if raw is None:
        return _rejected(number, None, f"longer than {MAX_LINE} bytes; not read")
    if not raw.strip() or raw.lstrip().startswith((b";", b"#")):
        return None  # blank line or comment
    parsed = _parse(raw, kind)
    if isinstance(parsed, str):
        return _rejected(number, None, parsed)
    name, expected = parsed
    windows = kind in ("sfv", "ffp")  # Windows-born formats: "CD1\01.flac"
    reason = unsafe_reason(name, backslash_is_separator=windows)
    if reason is not None:
        shown = name.decode("utf-8", "replace").replace("\0", "\\0")
        return _rejected(number, name, f"{shown!r} {reason}; refused, not opened")
    rel = name.replace(b"\\", b"/") if windows else name
    target = os.path.join(os.fsencode(folder), rel)
    real_folder = os.path.realpath(os.fsencode(folder))
    real = os.path.realpath(target)
    if real != real_folder and not real.startswith(real_folder.rstrip(b"/") + b"/"):
        return _rejected(number, name, "a symbolic link leads outside the manifest's folder")
    if not os.path.lexists(target):
        return ManifestEntry(number, name, "missing", expected, None, None)
    try:
        if not stat.S_ISREG(os.stat(target).st_mode):  # a FIFO would block the read
            return ManifestEntry(number, name, "unreadable", expected, None, NOT_REGULAR)
        actual = _digest(target, kind, opener)
    except OSError as exc:
        return ManifestEntry(number, name, "unreadable", expected, None, exc.strerror or str(exc))
    except NotFlacError as exc:
        return ManifestEntry(number, name, "unreadable", expected, None, f"not FLAC: {exc}")
    state = "ok" if actual == expected else "mismatch"
    return ManifestEntry(number, name, state, expected, actual, None)


def _digest(target: bytes, kind: str, opener: Opener) -> str:
    with opener(target, "rb") as fh:
        if kind == "ffp":
            return flac_fingerprint(fh)
        if kind == "sfv":
            crc = 0
            while chunk := fh.read(_CHUNK):
                crc = zlib.crc32(chunk, crc)
            return f"{crc:08x}"
        h = hashlib.sha256() if kind == "sha256" else hashlib.md5(usedforsecurity=False)
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
        return h.hexdigest()


class NotFlacError(ValueError):
    """The file an FFP line names has no FLAC STREAMINFO where the format puts it."""


def flac_fingerprint(fh: IO[bytes]) -> str:
    """The FLAC fingerprint: the MD5 of the decoded audio the encoder stored in STREAMINFO,
    which names the recording whatever the tags. Read straight from the header (after one
    ID3v2 tag, which some taggers put there): the rest of the file, whose block sizes a
    hostile file may set to gigabytes, is never looked at."""
    head = fh.read(10)
    start = 0
    if head[:3] == b"ID3" and len(head) == 10 and not any(b & 0x80 for b in head[6:]):
        size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
        start = 10 + size + (10 if head[5] & 0x10 else 0)
    fh.seek(start)
    block = fh.read(4 + 4 + 34)
    if block[:4] != b"fLaC":
        raise NotFlacError("no FLAC header at its start")
    if len(block) < 42 or block[4] & 0x7F != 0 or int.from_bytes(block[5:8], "big") < 34:
        raise NotFlacError("its STREAMINFO block is missing or cut short")
    return block[8 + 18 : 8 + 34].hex()
