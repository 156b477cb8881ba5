"""What every view needs, built once in :mod:`phonovault.gui.app` and passed in (no globals).

The UI thread keeps one catalog connection for reading. Everything that writes goes through
the job queue as a core call on a worker thread, so a slow disk never freezes the window.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from phonovault.core.catalog import Catalog
from phonovault.core.config import Settings
from phonovault.core.jobs import CancelToken, ProgressCallback
from phonovault.core.library import absolute_path, add_root
from phonovault.core.scan import ScanOptions, ScanReport, scan
from phonovault.core.verify import VerifyReport, accept, verify
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

    # -- the core calls the GUI offers (each one is also a CLI command) --------------------

    def add_folders(self, paths: Sequence[str]) -> Job:
        """Register folders as roots, then scan them."""
        folders = [os.fspath(p) for p in paths]

        def run(catalog: Catalog, progress: ProgressCallback, cancel: CancelToken) -> ScanReport:
            ids = [add_root(catalog, folder).id for folder in folders]
            return scan(
                catalog, root_ids=ids, options=self.scan_options(), progress=progress, cancel=cancel
            )

        names = ", ".join(os.path.basename(f.rstrip(os.sep)) or f for f in folders)
        return self.jobs.submit(f"Add and scan {names}", run)

    def scan(self, root_ids: Sequence[int] | None = None, title: str = "Scan") -> Job:
        ids = list(root_ids) if root_ids is not None else None

        def run(catalog: Catalog, progress: ProgressCallback, cancel: CancelToken) -> ScanReport:
            return scan(
                catalog, root_ids=ids, options=self.scan_options(), progress=progress, cancel=cancel
            )

        return self.jobs.submit(title, run)

    def verify(self, oldest: float | None = None) -> Job:
        def run(catalog: Catalog, progress: ProgressCallback, cancel: CancelToken) -> VerifyReport:
            return verify(
                catalog,
                workers=self.settings.effective_workers,
                progress=progress,
                cancel=cancel,
                oldest=oldest,
            )

        title = "Verify all" if oldest is None else f"Verify oldest {oldest * 100:g}%"
        return self.jobs.submit(title, run)

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
