"""What every view needs, built once in :mod:`phonovault.gui.app` and passed in (no globals).

The UI thread keeps one catalog connection for reading. Everything that writes goes through
the job queue as a core call on a worker thread, so a slow disk never freezes the window.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from phonovault.core.backups.repair import RepairPlan, RepairReport
from phonovault.core.backups.repair import apply as apply_repair
from phonovault.core.backups.repair import plan as plan_repair
from phonovault.core.backups.targets import BackupReport, verify_target
from phonovault.core.backups.targets import add_target as add_backup_target
from phonovault.core.catalog import Catalog, Target
from phonovault.core.config import Settings
from phonovault.core.fixity.scan import ScanOptions, ScanReport, scan
from phonovault.core.fixity.verify import VerifyReport, accept, verify
from phonovault.core.integrity.decoding import DecodeReport, decode_files
from phonovault.core.jobs import CancelToken, ProgressCallback
from phonovault.core.library.roots import absolute_path, add_root
from phonovault.core.plugin_api import PluginProblem, Plugins, Rule, load_plugins
from phonovault.core.rules.beets import DriftReport, drift
from phonovault.core.rules.engine import CheckReport, RuleInfo, album_of, list_rules
from phonovault.core.rules.engine import check as check_rules
from phonovault.core.rules.engine import mute as mute_rule
from phonovault.gui.workers import Job, JobQueue


class AppContext(QObject):
    """Services shared by the window and its views."""

    catalog_changed = Signal()  # a job wrote to the catalog: views re-read what they show
    file_requested = Signal(int)  # someone asks to show this file's details
    settings_changed = Signal()

    def __init__(
        self,
        catalog: Catalog,
        settings: Settings,
        settings_path: Path | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.catalog_path = catalog.path
        self.settings = settings
        self.settings_path = settings_path
        self.jobs = JobQueue(catalog.path, self)
        self.jobs.finished.connect(lambda _job: self.catalog_changed.emit())
        self.jobs.finished.connect(self._chain)
        self._then: dict[int, Callable[[], object]] = {}  # job id -> next job, if it succeeds
        # Plugins are imported once per app (~0.2 s). The first to need them loads them:
        # a loader thread (findings view), a check job, or the settings dialog.
        self._plugins_lock = threading.Lock()
        self._plugins: Plugins | None = None
        self._load_problems: tuple[PluginProblem, ...] = ()
        self._offered: tuple[tuple[str, Rule], ...] | None = None

    # -- the core calls the GUI offers (each one is also a CLI command) --------------------

    def add_folders(self, paths: Sequence[str], *, then_check: bool = False) -> Job:
        """Register folders as roots, then scan them; with ``then_check``, a tag check of
        what the scan found follows (as its own job, if the scan went through)."""
        folders = [os.fspath(p) for p in paths]
        added: list[int] = []  # the roots' ids, for the check that follows

        def run(catalog: Catalog, progress: ProgressCallback, cancel: CancelToken) -> ScanReport:
            ids = [add_root(catalog, folder).id for folder in folders]
            added[:] = ids
            return scan(
                catalog, root_ids=ids, options=self.scan_options(), progress=progress, cancel=cancel
            )

        names = ", ".join(os.path.basename(f.rstrip(os.sep)) or f for f in folders)
        job = self.jobs.submit(f"Add and scan {names}", run)
        if then_check:
            self._then[job.id] = lambda: self.check(root_ids=added, title=f"Check tags in {names}")
        return job

    def _chain(self, job: Job) -> None:
        follow = self._then.pop(job.id, None)
        if follow is not None and job.state == "done":
            follow()

    def scan(self, root_ids: Sequence[int] | None = None, title: str = "Scan") -> Job:
        ids = list(root_ids) if root_ids is not None else None

        def run(catalog: Catalog, progress: ProgressCallback, cancel: CancelToken) -> ScanReport:
            return scan(
                catalog, root_ids=ids, options=self.scan_options(), progress=progress, cancel=cancel
            )

        return self.jobs.submit(title, run)

    def verify(
        self, oldest: float | None = None, *, decode: bool = False, scheduled: bool = False
    ) -> Job:
        """Re-read files (all, or the least recently verified ``oldest`` share), and with
        ``decode`` also decode-check them; ``scheduled`` names the job as the daily scrub."""

        def run(catalog: Catalog, progress: ProgressCallback, cancel: CancelToken) -> VerifyReport:
            return verify(
                catalog,
                workers=self.settings.verify_workers,
                progress=progress,
                cancel=cancel,
                oldest=oldest,
                decode=decode,
            )

        title = "Verify all" if oldest is None else f"Verify oldest {oldest * 100:g}%"
        if scheduled:
            title = f"Scheduled scrub: verify oldest {(oldest or 1) * 100:g}%"
        return self.jobs.submit(title + (" with decode check" if decode else ""), run)

    def decode_check(self, file_ids: Sequence[int]) -> Job:
        """Decode these files now (the user asked: no cached verdict is reused)."""
        ids = list(file_ids)

        def run(catalog: Catalog, progress: ProgressCallback, cancel: CancelToken) -> DecodeReport:
            targets = catalog.decode_targets(ids)
            return decode_files(catalog, targets, progress=progress, cancel=cancel, force=True)

        n = len(ids)
        return self.jobs.submit(f"Decode check {n} file" + ("" if n == 1 else "s"), run)

    def beets_drift(
        self, db_path: str | os.PathLike[str], directory: str | os.PathLike[str] | None = None
    ) -> Job:
        """Compare a beets library DB with the files and the catalog (reads only: the DB is
        copied and beets opens the copy). The job's result is a ``DriftReport``."""
        db = os.fspath(db_path)
        folder = os.fspath(directory) if directory is not None else None

        def run(catalog: Catalog, progress: ProgressCallback, cancel: CancelToken) -> DriftReport:
            return drift(catalog, db, folder, progress=progress, cancel=cancel)

        return self.jobs.submit(f"Compare with beets library {os.path.basename(db)}", run)

    def accept(self, file_ids: Sequence[int]) -> Job:
        """Take files as their new baseline (the user confirmed an intended change)."""
        ids = list(file_ids)

        def run(catalog: Catalog, progress: ProgressCallback, cancel: CancelToken) -> list[str]:
            done = []
            for file_id in ids:
                rec = catalog.file(file_id)
                path = absolute_path(catalog.root(rec.root_id), rec)
                accept(catalog, path)
                done.append(path)
            return done

        return self.jobs.submit(f"Accept {len(ids)} file(s) as new baseline", run)

    def remove_root(self, root_id: int) -> Job:
        def run(catalog: Catalog, progress: ProgressCallback, cancel: CancelToken) -> None:
            catalog.remove_root(root_id)

        return self.jobs.submit("Remove folder from catalog", run)

    # -- backups and repair ---------------------------------------------------------------

    def add_target(
        self,
        target: str | os.PathLike[str],
        root: str | os.PathLike[str],
        *,
        then_verify: bool = False,
    ) -> Job:
        """Register a folder as a backup of a library root (writes its marker file); with
        ``then_verify``, verifying it follows as its own job (if the registration went
        through)."""
        folder, root_path = os.fspath(target), os.fspath(root)

        def run(catalog: Catalog, progress: ProgressCallback, cancel: CancelToken) -> Target:
            return add_backup_target(catalog, folder, root_path)

        job = self.jobs.submit(f"Add backup {folder}", run)
        if then_verify:
            self._then[job.id] = lambda: self.verify_backup(job.result.id)
        return job

    def verify_backup(self, target_id: int | None = None, full: bool = False) -> Job:
        """Verify one target's copies (``None``: every target, one after another). An
        offline target is reported as such, never judged. The result: one report per target."""
        workers = self.settings.verify_workers

        def run(
            catalog: Catalog, progress: ProgressCallback, cancel: CancelToken
        ) -> list[BackupReport]:
            targets = [t for t in catalog.targets() if target_id in (None, t.id)]
            reports = []
            for target in targets:
                if cancel.cancelled:
                    break
                reports.append(verify_target(catalog, target, full=full, workers=workers,
                                             progress=progress, cancel=cancel))  # fmt: skip
            return reports

        which = "all backups" if target_id is None else "backup"
        if target_id is not None:
            found = [t for t in self.catalog.targets() if t.id == target_id]
            which = f"backup {os.path.basename(found[0].path)}" if found else which
        return self.jobs.submit(f"Verify {which}" + (" fully" if full else ""), run)

    @staticmethod
    def repair_plan(
        target: str | None = None,
        *,
        include_new: bool = False,
        file_ids: Sequence[int] | None = None,
    ) -> Callable[[Catalog], RepairPlan]:
        """The read that computes a repair plan (it stats files, so a view runs it on a
        :class:`BackgroundQuery`, off the UI thread), for everything or for ``file_ids``
        alone. Nothing is written."""
        ids = None if file_ids is None else list(file_ids)
        return lambda catalog: plan_repair(
            catalog, target=target, include_new=include_new, file_ids=ids
        )

    def repair_apply(self, plan: RepairPlan, *, verb: str = "Repair") -> Job:
        """Carry out a plan the user confirmed; every action is journaled. ``verb`` names
        the job as the dialog's button named it ("Restore 1 file")."""

        def run(catalog: Catalog, progress: ProgressCallback, cancel: CancelToken) -> RepairReport:
            return apply_repair(catalog, plan, progress=progress, cancel=cancel)

        n = len(plan.actions)
        return self.jobs.submit(f"{verb} {n} file" + ("" if n == 1 else "s"), run)

    # -- tag rules -------------------------------------------------------------------------

    def _loaded_plugins(self) -> Plugins:
        with self._plugins_lock:
            if self._plugins is None:
                plugins = load_plugins()
                self._load_problems = tuple(plugins.problems)
                self._offered = tuple(plugins.rules())
                self._plugins = plugins
            return self._plugins

    def _plugins_for_run(self) -> Plugins:
        """The loaded plugins with a clean slate: one that broke in an earlier check gets
        another chance (jobs run one at a time, so no two runs share them at once)."""
        plugins = self._loaded_plugins()
        plugins.problems = list(self._load_problems)
        plugins.disabled = {p.plugin for p in self._load_problems}
        return plugins

    def rule_infos(self, *, load: bool = True) -> dict[str, RuleInfo]:
        """Rule id -> the rule with the current settings applied. Safe on any thread: after
        the one load, only the cached rule list is read (plugin code is not called). With
        ``load=False`` it answers {} rather than load the plugins on the caller's thread."""
        if self._offered is None:
            if not load:
                return {}
            self._loaded_plugins()
        infos = list_rules(_OfferedRules(self._offered or ()), self.settings)
        return {i.rule.id: i for i in infos}

    def check(
        self,
        file_ids: Sequence[int] | None = None,
        *,
        root_ids: Sequence[int] | None = None,
        title: str = "Check tags",
    ) -> Job:
        """Run the enabled tag rules on some files, or the files of some roots (a list read
        when the job runs), or everything."""
        settings = self.settings

        def run(catalog: Catalog, progress: ProgressCallback, cancel: CancelToken) -> CheckReport:
            ids = list(file_ids) if file_ids is not None else None
            if root_ids is not None:  # (rules.check(paths=[root]) refuses a root itself)
                ids = (ids or []) + [i for r in root_ids for i in catalog.file_ids_under(r, b"")]
            return check_rules(
                catalog,
                plugins=self._plugins_for_run(),
                settings=settings,
                file_ids=ids,
                progress=progress,
                cancel=cancel,
            )

        return self.jobs.submit(title, run)

    def mute(self, targets: Sequence[tuple[str, int]], reason: str) -> Job:
        """Mute rules on files, given as (rule id, file id); a rule whose scope is the album
        is muted on the file's whole album (once per album)."""
        pairs = list(targets)
        infos = self.rule_infos(load=False)
        album_rules = {r for r, i in infos.items() if i.rule.scope == "album"}

        def run(catalog: Catalog, progress: ProgressCallback, cancel: CancelToken) -> int:
            done: set[tuple[str, object]] = set()
            cleared = 0
            for rule_id, file_id in pairs:
                album = album_of(catalog.file(file_id)) if rule_id in album_rules else None
                key = (rule_id, album or file_id)
                if key in done:
                    continue
                done.add(key)
                if album is not None:
                    cleared += mute_rule(catalog, rule_id, reason, album=album)
                else:
                    cleared += mute_rule(catalog, rule_id, reason, file_id=file_id)
            return cleared

        return self.jobs.submit(f"Mute {len(pairs)} finding(s)", run)

    def scan_options(self) -> ScanOptions:
        return ScanOptions(
            workers=self.settings.effective_workers, with_sha256=self.settings.with_sha256
        )

    def save_settings(self, settings: Settings) -> None:
        self.settings = settings
        settings.save(self.settings_path)
        self.settings_changed.emit()

    def file_path(self, file_id: int) -> str:
        rec = self.catalog.file(file_id)
        return absolute_path(self.catalog.root(rec.root_id), rec)


class _OfferedRules:
    """The rules the plugins offered at load time, in the shape ``list_rules`` reads, so
    applying new settings never calls into plugin code (nor races a running check)."""

    def __init__(self, offered: Sequence[tuple[str, Rule]]) -> None:
        self._offered = list(offered)

    def rules(self) -> list[tuple[str, Rule]]:
        return list(self._offered)

    def fail(self, plugin: str, hook: str, error: str, details: str = "") -> None:
        """Already reported when the plugins were loaded."""
