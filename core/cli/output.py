"""What every command prints with: where and how (:class:`Out`), progress on stderr, the exit
codes, and Ctrl-C handling. The bottom layer of the command line: it imports no command.

Exit codes: 0 all is well, 1 there are findings, 2 an error (bad arguments, catalog trouble).
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any, TextIO

from phonovault.core.encoding import json_safe, printable
from phonovault.core.jobs import CancelToken, Progress, format_duration, format_size

__all__ = [
    "BAD_STATES",
    "EXIT_ERROR",
    "EXIT_FINDINGS",
    "EXIT_OK",
    "Out",
    "ProgressBar",
    "interruptible",
    "printable",
    "when",
]

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
BAD_STATES = {"corrupt", "audio-changed", "missing", "unreadable"}


@dataclass(frozen=True, slots=True)
class Out:
    """Where and how to print: colour only on a terminal (and never with NO_COLOR)."""

    stream: TextIO
    err: TextIO
    json: bool
    colour: bool

    def line(self, text: str = "") -> None:
        print(printable(text), file=self.stream)

    def paint(self, text: str, state: str) -> str:
        if not self.colour:
            return text
        code = {
            "ok": "32",
            "corrupt": "31;1",
            "missing": "31",
            "unreadable": "31",
            "audio-changed": "33",
            "tags-changed": "36",
            "moved": "36",
            "offline": "90",
            "error": "31",
            "warning": "33",
            "info": "36",
        }.get(state)
        return f"\x1b[{code}m{text}\x1b[0m" if code else text

    def dump(self, doc: dict[str, Any]) -> None:
        json.dump(json_safe(doc), self.stream, indent=2, ensure_ascii=False, default=str)
        self.stream.write("\n")


class ProgressBar:
    """A one-line progress display on stderr: files, bytes, rate, ETA."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.enabled = err.isatty()
        self._width = 0

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        eta = "--:--" if p.eta is None else format_duration(p.eta)
        text = (
            f"{p.phase}: {p.done}/{p.total} files  {format_size(p.bytes_done)}/"
            f"{format_size(p.bytes_total)}  {format_size(p.bytes_rate)}/s  ETA {eta}"
        )
        self._width = max(self._width, len(text))
        self.err.write("\r" + text.ljust(self._width))
        self.err.flush()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.enabled and self._width:
            self.err.write("\r" + " " * self._width + "\r")
            self.err.flush()


def when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "never"


def interruptible() -> CancelToken:
    """A token that the first Ctrl-C sets (work stops cleanly, committed work is kept and a
    re-run resumes); a second Ctrl-C interrupts at once."""
    import signal

    token = CancelToken()

    def on_sigint(signum: int, frame: object) -> None:
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()

    # Outside the main thread (embedded use) there is no signal handling to install.
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGINT, on_sigint)
    return token
