"""Test helpers for hostile input: is a reason readable, did it hang, a disk that fails.

Shared by the robustness tests (importable as ``hostile``, like ``audiogen`` and
``badfiles``); nothing here is shipped.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

# Python talking instead of the app: tracebacks, reprs, class names, interpreter messages.
_PYTHON = re.compile(
    r"Traceback|File \"|line \d+, in|object at 0x|<[\w.]+ object|\bb'|\bb\"|\\x[0-9a-f]{2}"
    r"|\b[A-Z]\w*(Error|Exception|Warning)\b|\(error\)|^error$|list index|index out of range"
    r"|recursion depth|codec can't|unpack requires|NoneType|has no attribute|subscriptable"
    r"|invalid literal|division by zero|offset-sized|\[Errno|Errno \d"
)


def unreadable(text: str | None) -> str | None:
    """Why ``text`` is not a reason a person can read (a sentence, not Python), or None."""
    if text is None or not text.strip():
        return "it is empty"
    if len(text) > 400:
        return f"it is {len(text)} characters long"
    if not text.isprintable():
        return "it holds control characters"
    leak = _PYTHON.search(text)
    return f"it shows Python internals ({leak.group(0)!r})" if leak else None


_T = TypeVar("_T")


def within(seconds: float, what: str, work: Callable[[], _T]) -> _T:
    """Run ``work`` on a watchdog thread: a hang detector, not a speed test. A ``work`` still
    running after ``seconds`` fails the test with a clear message (the thread is abandoned:
    it is a daemon and cannot be killed); its exception or result is passed through."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed to the test's thread below
            box["error"] = exc

    thread = threading.Thread(target=run, name=f"watchdog: {what}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise AssertionError(f"HANG: {what} still running after {seconds:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def unblock_fifo(path: Path) -> None:
    """Release a reader stuck opening a FIFO (after a hang was detected), so it can finish."""
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


class FailingReader:
    """A binary file whose calls (read, readinto, seek, tell) fail with EIO from the
    ``fail_at``-th on, like a disk with a bad sector, in the manner of mutagen's own
    hypothesis tests. Wraps a real file (so ``fileno`` works) or a BytesIO."""

    def __init__(self, inner: Any, fail_at: int) -> None:
        self._inner = inner
        self.fail_at = fail_at
        self.calls = 0
        self.name = getattr(inner, "name", "")

    def _tick(self) -> None:
        self.calls += 1
        if self.calls >= self.fail_at:
            raise OSError(errno.EIO, "Input/output error")

    def read(self, size: int | None = -1, /) -> bytes:
        self._tick()
        return self._inner.read(size)

    def readinto(self, buffer: Any, /) -> int:
        self._tick()
        return self._inner.readinto(buffer)

    def seek(self, offset: int, whence: int = 0, /) -> int:
        self._tick()
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        self._tick()
        return self._inner.tell()

    def fileno(self) -> int:
        return self._inner.fileno()

    @property
    def closed(self) -> bool:
        return self._inner.closed

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> FailingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
