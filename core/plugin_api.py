"""The plugin facade: pluggy hook specs, the values plugins see and return, and the loader.

This module is the whole contract between Phonovault and a plugin, built-in or third-party:
a plugin imports only this (and, if it must, public core modules), so the catalog, the rules
engine and the GUI can change without breaking anyone. Its names are versioned by
:data:`API_VERSION`; a plugin that needs a newer API says so with a module-level
``PHONOVAULT_API_VERSION`` and is refused with a plain message instead of failing halfway.

Every plugin is found the same way, through the ``phonovault.plugins`` entry-point group of
installed distributions; Phonovault's own plugins are listed there by its ``pyproject.toml``,
so ``core`` never imports ``plugins``. Each implementation is called on its own (never through
pluggy's all-in-one hook call): one plugin's exception becomes a :class:`PluginProblem`, that
plugin sits out the rest of the run, and every other plugin still runs.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import IO, TYPE_CHECKING, Any, Literal

import pluggy

from phonovault.core.records import FileRecord

if TYPE_CHECKING:
    from phonovault.core.tags.folder_art import FolderCovers

__all__ = [
    "API_VERSION",
    "ENTRY_POINT_GROUP",
    "SEVERITIES",
    "Exporter",
    "PluginInfo",
    "PluginProblem",
    "Plugins",
    "Rule",
    "RuleHit",
    "RuleOptions",
    "TrackFacts",
    "folder_cover",
    "hookimpl",
    "hookspec",
    "load_plugins",
    "open_audio",
]

API_VERSION = 2  # 2: folder_cover()
PROJECT = "phonovault"
ENTRY_POINT_GROUP = "phonovault.plugins"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[str, ...] = ("error", "warning", "info")

log = logging.getLogger("phonovault.plugins")

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Rule:
    """One check a plugin offers. ``options`` holds the defaults of its settings (the user's
    settings file may override them; a value of another type is ignored)."""

    id: str  # stable, lowercase-with-dashes: it names findings ("rule:<id>") and settings
    severity: Severity  # the default; users may override it per rule
    title: str  # one line, says what is wrong: "Track numbers have gaps"
    explanation: str  # plain words: why it matters
    fix: str | None = None  # what to do about it, when there is something to do
    scope: Literal["file", "album"] = "file"  # album rules may be muted per album
    options: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class RuleHit:
    """One problem found. ``fields`` names the tags it is about (``title``, ``track``,
    ``art``, ...) so the GUI can highlight them; ``fix`` overrides the rule's general advice
    with a specific one ("retag as 'Café'")."""

    rule_id: str
    file_ids: tuple[int, ...]
    message: str
    fields: tuple[str, ...] = ()
    fix: str | None = None


@dataclass(frozen=True, slots=True)
class TrackFacts:
    """The read-only view a plugin gets of one catalogued file: what the last scan read.

    Everything but ``file_id`` and ``path`` has a default, so a plugin's own tests can build
    one in a line. Absent tags are ``None``, never ``""`` or ``0``.
    """

    file_id: int
    path: str  # absolute; undecodable bytes of a name are surrogate escapes (os.fsdecode)
    root: str = ""
    format: str | None = None  # "FLAC", "MP3", "MP4", ...
    codec: str | None = None
    duration: float | None = None
    sample_rate: int | None = None
    bit_depth: int | None = None
    channels: int | None = None
    bitrate: int | None = None
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    albumartist: str | None = None
    track: int | None = None
    tracktotal: int | None = None
    disc: int | None = None
    disctotal: int | None = None
    date: str | None = None
    genre: str | None = None
    mb_trackid: str | None = None
    mb_albumid: str | None = None
    mb_artistid: str | None = None
    mb_albumartistid: str | None = None
    mb_releasegroupid: str | None = None
    # Every key of the file's main tag block; other blocks' keys carry a prefix
    # ("APEv2:Title", "ID3v1:TIT2"), so blocks can be compared.
    raw: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: _EMPTY)
    tag_formats: tuple[str, ...] = ()  # every tag block present, in file order: "id3v2.4", ...
    tag_error: str | None = None  # why the tags could not be read (then the tags are None)
    art_count: int = 0
    art_bytes: int = 0
    art_width: int | None = None  # of the front cover (else the first picture)
    art_height: int | None = None
    art_hash: str | None = None

    @property
    def year(self) -> int | None:
        """The year of ``date`` ("1999-03-01" -> 1999), if it starts with one."""
        head = (self.date or "").strip()[:4]
        return int(head) if len(head) == 4 and head.isdigit() else None

    @property
    def album_artist_or_artist(self) -> str | None:
        """Who the album is by: the album artist, else the track artist (as the catalog's
        album view groups)."""
        return self.albumartist or self.artist

    @classmethod
    def from_record(cls, record: FileRecord, root_path: str) -> TrackFacts:
        """The facts of a catalog record under the root at ``root_path``."""
        raw: dict[str, tuple[str, ...]] = {}
        if record.raw_tags:
            try:
                loaded = json.loads(record.raw_tags)
            except ValueError:
                loaded = {}
            raw = {str(k): tuple(str(v) for v in vs) for k, vs in loaded.items()}
        return cls(
            file_id=record.id,
            path=os.path.join(root_path, os.fsdecode(record.relpath)),
            root=root_path,
            format=record.format,
            codec=record.codec,
            duration=record.duration,
            sample_rate=record.sample_rate,
            bit_depth=record.bit_depth,
            channels=record.channels,
            bitrate=record.bitrate,
            title=record.title or None,
            artist=record.artist or None,
            album=record.album or None,
            albumartist=record.albumartist or None,
            track=record.track,
            tracktotal=record.tracktotal,
            disc=record.disc,
            disctotal=record.disctotal,
            date=record.date or None,
            genre=record.genre or None,
            mb_trackid=record.mb_trackid or None,
            mb_albumid=record.mb_albumid or None,
            mb_artistid=record.mb_artistid or None,
            mb_albumartistid=record.mb_albumartistid or None,
            mb_releasegroupid=record.mb_releasegroupid or None,
            raw=MappingProxyType(raw),
            tag_formats=tuple(f for f in (record.tag_formats or "").split(",") if f),
            tag_error=record.tag_error,
            art_count=record.art_count or 0,
            art_bytes=record.art_bytes or 0,
            art_width=record.art_width,
            art_height=record.art_height,
            art_hash=record.art_hash,
        )


@dataclass(frozen=True, slots=True)
class RuleOptions:
    """What the user configured, as the hooks see it: which rules run, and each rule's
    options (its defaults overlaid by the settings file)."""

    enabled: frozenset[str] = frozenset()
    values: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: _EMPTY)

    def is_enabled(self, rule_id: str) -> bool:
        """Whether ``rule_id`` runs; a plugin may skip work for a rule that does not."""
        return rule_id in self.enabled

    def get(self, rule_id: str, name: str, default: Any = None) -> Any:
        """One option of one rule (``default`` when neither the rule nor the user set it)."""
        return self.values.get(rule_id, _EMPTY).get(name, default)


@dataclass(frozen=True, slots=True)
class Exporter:
    """A file format a plugin can write a selection of tracks to (a playlist, a report)."""

    id: str
    title: str
    suffix: str  # ".m3u8", ".csv", ...
    write: Callable[[Sequence[TrackFacts], Path], None]


@dataclass(frozen=True, slots=True)
class PluginProblem:
    """A plugin that failed to load or raised: it is left out of the rest of the run."""

    plugin: str
    hook: str  # "load", or the hook that raised
    error: str  # "ValueError: boom"
    details: str = ""  # the traceback, for a bug report

    @property
    def message(self) -> str:
        where = "could not be loaded" if self.hook == "load" else f"failed in {self.hook}"
        return f"plugin {self.plugin} {where} and was disabled for this run: {self.error}"


@dataclass(frozen=True, slots=True)
class PluginInfo:
    name: str
    distribution: str | None  # the installed distribution that provides it
    version: str | None


class HookSpecs:
    """The hooks a plugin may implement (each optional). Implement them as plain functions
    decorated with :data:`hookimpl` in the module the entry point names."""

    @hookspec
    def phonovault_rules(self) -> list[Rule]:  # type: ignore[empty-body]
        """The rules this plugin checks; every hit it returns must name one of them."""

    @hookspec
    def phonovault_check_file(  # type: ignore[empty-body]
        self, track: TrackFacts, options: RuleOptions
    ) -> list[RuleHit]:
        """Check one file from what the catalog knows (no disk access: fast)."""

    @hookspec
    def phonovault_check_album(  # type: ignore[empty-body]
        self, tracks: Sequence[TrackFacts], options: RuleOptions
    ) -> list[RuleHit]:
        """Check the files of one album together (same album artist and album, one root)."""

    @hookspec
    def phonovault_analyze_file(  # type: ignore[empty-body]
        self, path: str, track: TrackFacts, options: RuleOptions
    ) -> list[RuleHit]:
        """Check one file by reading it (slow: only called when one of the plugin's rules is
        enabled and the file's root is online)."""

    @hookspec
    def phonovault_exporters(self) -> list[Exporter]:  # type: ignore[empty-body]
        """The export formats this plugin offers."""


class Plugins:
    """The plugins of one run, each called in isolation.

    Build it with :func:`load_plugins`. Not thread-safe: one run drives it from one thread.
    """

    def __init__(
        self,
        manager: pluggy.PluginManager,
        problems: Iterable[PluginProblem] = (),
        infos: Iterable[PluginInfo] = (),
    ) -> None:
        self._pm = manager
        self.problems: list[PluginProblem] = list(problems)
        self.disabled: set[str] = {p.plugin for p in self.problems}
        self._infos = {i.name: i for i in infos}

    def names(self) -> list[str]:
        """Registered plugins, in registration order (disabled ones included)."""
        return [name for name, _ in self._pm.list_name_plugin() if name is not None]

    def info(self, name: str) -> PluginInfo:
        return self._infos.get(name, PluginInfo(name, None, None))

    def implementers(self, hook: str) -> list[str]:
        """Plugins that implement ``hook`` and are not disabled."""
        caller = getattr(self._pm.hook, hook)
        return [i.plugin_name for i in caller.get_hookimpls() if i.plugin_name not in self.disabled]

    def call(
        self, hook: str, only: Collection[str] | None = None, **kwargs: Any
    ) -> Iterator[tuple[str, Any]]:
        """``(plugin name, result)`` from each enabled implementation of ``hook`` (those in
        ``only`` when given), in registration order. An implementation that raises is
        recorded as a problem and its plugin disabled; the others still run."""
        caller = getattr(self._pm.hook, hook)
        for impl in caller.get_hookimpls():
            name = impl.plugin_name
            if name in self.disabled or (only is not None and name not in only):
                continue
            if impl.wrapper or impl.hookwrapper:
                self.fail(name, hook, "hook wrappers are not supported")
                continue
            try:
                result = impl.function(*(kwargs[arg] for arg in impl.argnames))
            except Exception as exc:
                self.fail(name, hook, f"{type(exc).__name__}: {exc}", traceback.format_exc())
                continue
            yield name, result

    def fail(self, plugin: str, hook: str, error: str, details: str = "") -> None:
        """Record that ``plugin`` misbehaved and disable it for the rest of the run."""
        log.warning("plugin %s failed in %s: %s\n%s", plugin, hook, error, details)
        self.problems.append(PluginProblem(plugin, hook, error, details))
        self.disabled.add(plugin)

    def rules(self) -> list[tuple[str, Rule]]:
        """``(plugin, rule)`` for every rule offered; a malformed answer disables its plugin."""
        out: list[tuple[str, Rule]] = []
        for name, result in self.call("phonovault_rules"):
            items = list(result or ())
            if not all(isinstance(r, Rule) and r.severity in SEVERITIES for r in items):
                self.fail(name, "phonovault_rules", "did not return a list of Rule values")
                continue
            out.extend((name, r) for r in items)
        return out

    def exporters(self) -> list[tuple[str, Exporter]]:
        out: list[tuple[str, Exporter]] = []
        for name, result in self.call("phonovault_exporters"):
            items = list(result or ())
            if not all(isinstance(e, Exporter) for e in items):
                self.fail(name, "phonovault_exporters", "did not return a list of Exporter values")
                continue
            out.extend((name, e) for e in items)
        return out


def open_audio(path: str | os.PathLike[str]) -> IO[bytes]:
    """Open a music file for a plugin that reads it (``MediaFile(open_audio(path))``), the way
    Phonovault's own reader does: read-only, never blocking on a FIFO, and with every read
    capped at what the file still holds, so a header declaring gigabytes never becomes an
    allocation. Close it when done (it is a context manager)."""
    from phonovault.core.tags.files import open_capped  # the reader read_tags uses

    return open_capped(path)


def folder_cover(track: TrackFacts) -> str | None:
    """The path of the cover image beside ``track``'s file (``cover.jpg``, ``folder.jpg``,
    ``front.png``...: the names foobar2000, MusicBee, Picard and Windows use, as listed in
    :mod:`phonovault.core.tags.folder_art`), or None when there is none.

    It reads the disk (a folder listing and the first bytes of a candidate), so call it from
    ``phonovault_analyze_file``. It never looks outside ``track.root`` nor through a symlink
    leading out of it, and lists a folder again only once the folder has changed."""
    folder = os.path.dirname(track.path)
    found = _folder_covers().find(folder, track.root or folder)  # no root: that folder only
    return found.path if found is not None else None


@functools.cache
def _folder_covers() -> FolderCovers:
    from phonovault.core.tags.folder_art import FolderCovers  # as open_audio: on first use

    return FolderCovers()


def load_plugins(extra: Iterable[object] = (), *, discover: bool = True) -> Plugins:
    """Load every plugin of the ``phonovault.plugins`` entry-point group (built-ins
    included), then ``extra`` (plugin objects or modules, for tests and embedders).

    Nothing raises: a plugin that cannot be imported or registered becomes a
    :class:`PluginProblem`. Distributions are looked up on ``sys.path`` minus the current
    directory, so running Phonovault from inside a music folder cannot pick up code from it.
    """
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(HookSpecs)
    plugins = Plugins(pm)
    if discover:
        for ep, dist in _entry_points():
            info = PluginInfo(ep.name, dist.metadata["Name"], dist.version)
            if pm.has_plugin(ep.name):
                taken = plugins.info(ep.name).distribution
                plugins.problems.append(PluginProblem(  # the plugin that has the name runs on
                    f"{ep.name} ({info.distribution})", "load",
                    f"the name {ep.name!r} is taken by {taken}; rename the entry point",
                ))  # fmt: skip
                continue
            try:
                with _cwd_off_sys_path():
                    module = ep.load()
            except Exception as exc:  # an ImportError or a bug at import time: not ours
                plugins.fail(ep.name, "load", f"{type(exc).__name__}: {exc}",
                             traceback.format_exc())  # fmt: skip
                continue
            if _register(plugins, pm, module, ep.name):
                plugins._infos[ep.name] = info
    for obj in extra:
        name = getattr(obj, "__name__", None) or type(obj).__name__
        if _register(plugins, pm, obj, name):
            plugins._infos[name] = PluginInfo(name, None, None)
    return plugins


def _is_cwd(entry: str, here: str) -> bool:
    return not entry or os.path.realpath(entry) == here


@contextlib.contextmanager
def _cwd_off_sys_path() -> Iterator[None]:
    """Import with the current directory off ``sys.path``.

    ``ep.load()`` imports by module name through ``sys.path``, which starts with the current
    directory under ``python -m`` and ``python -c``: a folder holding ``phonovault/plugins/``
    (``phonovault`` is a namespace package, so such a folder joins it) or a module named like
    a third-party plugin would otherwise be imported, and run, in place of the installed one.
    Entries a plugin adds while it is imported are kept.
    """
    here = os.path.realpath(os.getcwd())
    removed = [(i, p) for i, p in enumerate(sys.path) if _is_cwd(p, here)]
    sys.path[:] = [p for p in sys.path if not _is_cwd(p, here)]
    try:
        yield
    finally:
        for index, entry in removed:
            sys.path.insert(index, entry)


def _entry_points() -> list[tuple[importlib.metadata.EntryPoint, importlib.metadata.Distribution]]:
    """The group's entry points from distributions outside the current directory, Phonovault's
    own first (so a third party cannot take a built-in's name), then in ``sys.path`` order."""
    here = os.path.realpath(os.getcwd())
    paths = [p for p in sys.path if not _is_cwd(p, here)]
    dists = sorted(importlib.metadata.distributions(path=paths),
                   key=lambda d: d.metadata["Name"] != PROJECT)  # fmt: skip
    seen: set[tuple[str, str, str]] = set()
    found = []
    for dist in dists:
        for ep in dist.entry_points:
            key = (dist.metadata["Name"], ep.name, ep.value)
            if ep.group == ENTRY_POINT_GROUP and key not in seen:  # a path listed twice
                seen.add(key)
                found.append((ep, dist))
    return found


def _register(plugins: Plugins, pm: pluggy.PluginManager, obj: object, name: str) -> bool:
    wanted = getattr(obj, "PHONOVAULT_API_VERSION", API_VERSION)
    if not isinstance(wanted, int) or wanted > API_VERSION:
        plugins.fail(name, "load", f"needs plugin API version {wanted!r}; this Phonovault "
                     f"offers {API_VERSION} (upgrade Phonovault)")  # fmt: skip
        return False
    try:
        pm.register(obj, name=name)
    except Exception as exc:  # duplicate name, a hookimpl whose arguments match no spec
        plugins.fail(name, "load", f"{type(exc).__name__}: {exc}")
        return False
    unknown = [
        hook for hook, caller in vars(pm.hook).items()
        if not caller.has_spec() and any(i.plugin_name == name for i in caller.get_hookimpls())
    ]  # fmt: skip
    if unknown:
        pm.unregister(name=name)
        plugins.fail(name, "load", f"implements unknown hooks: {', '.join(sorted(unknown))}")
        return False
    return True
