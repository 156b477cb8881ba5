"""Paths and values written out as text and JSON, whatever bytes a file name holds.

File names that are not UTF-8 travel through the core as surrogate escapes; a terminal, a
report or a JSON document cannot carry those as they are. Used by every face (the command
line, the report, the GUI's exports).
"""

from __future__ import annotations

import base64
from typing import Any


def printable(text: str) -> str:
    """Text safe for any terminal: bytes of a file name that are not UTF-8 (carried as
    surrogate escapes) are shown as U+FFFD instead of crashing the write."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def json_safe(value: Any) -> Any:
    """JSON cannot carry file names that are not UTF-8. Such a string is given in printable
    form, and beside it ``<key>_b64`` holds the exact bytes (base64) for scripts."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, str) and printable(item) != item:
                raw = item.encode("utf-8", "surrogateescape")
                out[key] = printable(item)
                out[f"{key}_b64"] = base64.b64encode(raw).decode("ascii")
            else:
                out[key] = json_safe(item)
        return out
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, str):
        return printable(value)
    return value
