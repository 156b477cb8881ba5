"""Scrubbing: re-reading the library a slice at a time, least recently verified first.

A 10 TB library cannot be re-read every night. Like a RAID scrub, each run re-reads the part
whose last full read is oldest, within a budget (a share of the files, a number of bytes, or
minutes), so the whole library is covered over days and every file's last full read stays
recent. The selection itself lives in :mod:`phonovault.core.fixity.verify`; this module holds the
budget language the CLI and the settings share, and the schedule the GUI keeps while open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from phonovault.core.errors import PhonovaultError

__all__ = ["DAY", "Budget", "BudgetError", "parse_budget", "scrub_due"]

DAY = 24 * 3600.0

_SIZE_UNITS = {
    "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
    "k": 10**3, "m": None, "g": 10**9, "t": 10**12,  # "m" alone is minutes, see below
}  # fmt: skip
_TIME_UNITS = {
    "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600,
}  # fmt: skip
_BUDGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$")


class BudgetError(PhonovaultError, ValueError):
    """A budget the user typed that is not a size or a duration."""


@dataclass(frozen=True, slots=True)
class Budget:
    """How much one scrub may read: bytes, or seconds of wall time (one of them)."""

    bytes: int | None = None
    seconds: float | None = None

    def __str__(self) -> str:
        if self.bytes is not None:
            from phonovault.core.jobs import format_size

            return format_size(self.bytes)
        assert self.seconds is not None
        return f"{self.seconds / 60:g} min"


def parse_budget(text: str) -> Budget:
    """``"50GB"``, ``"500 MiB"``, ``"2TB"`` are sizes; ``"30min"``, ``"90m"``, ``"2h"`` are
    durations. A bare number is refused: gigabytes and minutes are both plausible."""
    m = _BUDGET.match(text)
    if not m:
        raise BudgetError(
            f"budget {text!r} is not a size or a duration; write e.g. 50GB, 500MiB, 30min or 2h"
        )
    amount, unit = float(m.group(1)), m.group(2).lower()
    if amount <= 0:
        raise BudgetError(f"budget {text!r} must be more than zero")
    if unit in _TIME_UNITS:
        return Budget(seconds=amount * _TIME_UNITS[unit])
    factor = _SIZE_UNITS.get(unit)
    if factor is None:
        raise BudgetError(
            f"budget {text!r}: unknown unit {m.group(2)!r}; sizes take KB, MB, GB, TB (or KiB, "
            "MiB, GiB, TiB), durations take s, min or h"
        )
    return Budget(bytes=int(amount * factor))


def scrub_due(last_run: float | None, now: float, every: float = DAY) -> bool:
    """Whether a scheduled scrub should start: never ran, or ``every`` seconds have passed.

    A clock that jumped backwards (last run "in the future") counts as due, so a wrong clock
    cannot stop scrubbing for good."""
    return last_run is None or now - last_run >= every or last_run > now + 60
