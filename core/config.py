"""Where Phonovault keeps things, and the user's settings.

Locations come from platformdirs, so the catalog lands where each desktop expects data
(``~/.local/share/phonovault`` on Linux). Nothing here is global: callers build a
:class:`Settings` and pass it on.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from phonovault.core.durable import atomic_file

APP_NAME = "phonovault"
CATALOG_ENV = "PHONOVAULT_CATALOG"
CATALOG_FILENAME = "catalog.sqlite"


def data_dir() -> Path:
    """The per-user data folder that holds the embedded catalog."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """The per-user folder that holds ``settings.json``."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_catalog_path() -> Path:
    """``$PHONOVAULT_CATALOG`` if set, else the embedded catalog in the user's data dir."""
    env = os.environ.get(CATALOG_ENV)
    if env:
        return Path(env).expanduser()
    return data_dir() / CATALOG_FILENAME


def default_workers(*, tags: bool = True) -> int:
    """Files read at once. A scan also parses tags (CPU-bound; a large scan reads in worker
    processes): one per core, at most four. A verify only reads and hashes (both release
    the GIL): four threads at least, which keeps an SSD's queue busy on a cold cache
    (measured: 20 % faster than two) and costs a little on a warm one. A spinning disk
    wants 1 (a setting)."""
    cores = os.cpu_count() or 1
    return max(1, min(4, cores)) if tags else max(4, min(8, cores))


@dataclass(frozen=True, slots=True)
class Settings:
    """User settings. Unknown keys in the file are ignored, so old versions can read new files."""

    workers: int = 0  # 0 means "choose": default_workers(); 1 suits a spinning disk
    with_sha256: bool = False  # also store SHA-256 of every file, for sha256sum/BagIt exports
    # Tag rules by id: {"enabled": bool, "severity": "error"|"warning"|"info", and the rule's
    # own options, e.g. "min_size": 500}. Only what differs from a rule's defaults is needed;
    # phonovault.core.rules.engine checks the values (a wrong type is ignored, not fatal).
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The scrub the GUI runs while open: once a day, re-read this share of the library (%),
    # least recently verified first; 0 switches it off. Headless: a timer running
    # `phonovault verify --oldest N` (README). ``scrub_decode`` decode-checks what it reads.
    scrub_percent: int = 0
    scrub_decode: bool = False

    @property
    def effective_workers(self) -> int:
        """Threads for a scan (reads tags too)."""
        return self.workers if self.workers > 0 else default_workers()

    @property
    def verify_workers(self) -> int:
        """Threads for a verify or a backup verify (reads and hashes only)."""
        return self.workers if self.workers > 0 else default_workers(tags=False)

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """Read settings; a missing or unreadable file gives the defaults (never a crash)."""
        path = path or config_dir() / "settings.json"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(raw, dict):
            return cls()
        known = {f.name for f in fields(cls)}
        clean: dict[str, Any] = {}
        for key, value in raw.items():
            default = getattr(cls(), key, None)
            if key in known and type(value) is type(default):
                clean[key] = value
        if "rules" in clean:  # keep only {rule id: {option: value}}; the rest is noise
            clean["rules"] = {
                k: v
                for k, v in clean["rules"].items()
                if isinstance(k, str) and isinstance(v, dict)
            }
        return replace(cls(), **clean)

    def with_rule(self, rule_id: str, **changes: Any) -> Settings:
        """A copy with one rule's settings changed (``enabled=False``, ``severity="info"``,
        an option); a value of ``None`` removes that key, so the rule's default applies."""
        entry = {**self.rules.get(rule_id, {}), **changes}
        entry = {k: v for k, v in entry.items() if v is not None}
        rules = {k: v for k, v in self.rules.items() if k != rule_id}
        if entry:
            rules[rule_id] = entry
        return replace(self, rules=rules)

    def save(self, path: Path | None = None) -> None:
        """Write settings atomically (temp file, fsync, rename)."""
        path = path or config_dir() / "settings.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path, "w") as fh:
            fh.write(json.dumps(asdict(self), indent=2))
