"""*Export Health Report…*: the core's health report, written by a job.

The same call as ``phonovault report OUT`` (:func:`phonovault.core.report.output.write_report`). It
reads the whole catalog, so it runs on the job queue like any other long read (a worker
thread with its own catalog connection; STYLE.md, habit 2) and the window only hears that it
is done or why it failed. The file dialog is Qt's own rather than the platform's, so it looks
the same everywhere and tests can fill it in.
"""

from __future__ import annotations

import os
import time

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox

from phonovault.core.catalog import Catalog
from phonovault.core.jobs import CancelToken, ProgressCallback
from phonovault.core.report.health import HealthReport
from phonovault.core.report.output import format_for, write_report
from phonovault.gui.context import AppContext
from phonovault.gui.reveal import show_in_folder as reveal
from phonovault.gui.style import icon
from phonovault.gui.workers import Job

HTML_FILTER = "Web page, self-contained (*.html *.htm)"
JSON_FILTER = "JSON, for scripts (*.json)"


class ReportExporter(QObject):
    """Owns the menu action, the save dialog and the export jobs it queues."""

    written = Signal(str, object)  # path, HealthReport
    failed = Signal(str, str)  # path, why

    def __init__(self, ctx: AppContext, window: QMainWindow) -> None:
        super().__init__(window)
        self.ctx = ctx
        self.window = window
        self.dialog: QFileDialog | None = None  # while it is open
        self.folder = os.path.expanduser("~")  # where the dialog opens; follows the last save
        self._jobs: dict[int, str] = {}  # job id -> the path it writes
        self.saved_box: QMessageBox | None = None  # the last "saved" message, with Open
        self.action = QAction(icon("findings"), "Export Health Report…", window)
        self.action.setToolTip(
            "Save a report on the library's health: a self-contained web page to keep, print "
            "or email (or JSON for scripts)"
        )
        self.action.triggered.connect(self.choose)
        ctx.jobs.finished.connect(self._finished)

    def choose(self) -> QFileDialog:
        """Ask where to save (window-modal, not blocking); the export starts on accept."""
        if self.dialog is not None:
            self.dialog.raise_()
            return self.dialog
        dialog = QFileDialog(self.window, "Export Health Report", self.folder)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters([HTML_FILTER, JSON_FILTER])
        dialog.setDefaultSuffix("html")
        dialog.filterSelected.connect(
            lambda chosen: dialog.setDefaultSuffix("json" if chosen == JSON_FILTER else "html")
        )
        dialog.selectFile(time.strftime("phonovault-health-%Y-%m-%d.html"))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self._chosen)
        dialog.finished.connect(self._closed)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _chosen(self, path: str) -> None:
        dialog = self.dialog
        json_chosen = dialog is not None and dialog.selectedNameFilter() == JSON_FILTER
        self.export(path, "json" if json_chosen and format_for(path, "") != "html" else None)

    def _closed(self) -> None:
        self.dialog = None

    def export(self, path: str, fmt: str | None = None) -> Job:
        """Queue the export of the report to ``path`` (format: ``fmt``, else from the name)."""
        target = os.path.abspath(path)
        self.folder = os.path.dirname(target)
        ctx = self.ctx

        def run(catalog: Catalog, progress: ProgressCallback, cancel: CancelToken) -> HealthReport:
            # The rules as this app runs them (its settings), for the findings' explanations.
            return write_report(catalog, target, fmt, rules=ctx.rule_infos().values())

        job = ctx.jobs.submit(f"Export health report to {os.path.basename(target)}", run)
        self._jobs[job.id] = target
        return job

    def _offer_open(self, path: str) -> QMessageBox:
        """Say where the report is, with Open (the page in the browser, the JSON in its
        app) and Show in Folder; window-modal, not blocking."""
        box = QMessageBox(self.window)
        box.setObjectName("report-saved")
        box.setIcon(QMessageBox.Icon.Information)
        box.setWindowTitle("Health report saved")
        box.setText(f"The health report is saved as {os.path.basename(path)}.")
        box.setInformativeText(path)
        open_button = box.addButton("Open", QMessageBox.ButtonRole.AcceptRole)
        folder_button = box.addButton("Show in Folder", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Close)
        box.setDefaultButton(open_button)
        open_button.clicked.connect(lambda: self._open(path))
        folder_button.clicked.connect(lambda: reveal(self.window, path))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def _open(self, path: str) -> None:
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(path)):
            reveal(self.window, path)  # no app answered: the folder, or the path to copy

    def _finished(self, job: Job) -> None:
        path = self._jobs.pop(job.id, None)
        if path is None:
            return
        if job.state == "done":
            self.window.statusBar().showMessage(f"Health report saved to {path}", 15000)
            self.saved_box = self._offer_open(path)
            self.written.emit(path, job.result)
        else:  # the window's status line already says why a job failed
            self.failed.emit(path, job.error or job.state)
