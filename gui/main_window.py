"""The main window: sidebar, pages, details pane, jobs bar and status line.

It wires views to the :class:`AppContext` and to each other and holds no logic of its own:
every action is a core call submitted through the context's job queue.
"""

from __future__ import annotations

import os
from functools import partial

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from phonovault.core.fixity.watch import WatchStatus
from phonovault.gui.context import AppContext
from phonovault.gui.help import HelpMenu
from phonovault.gui.keyboard import ClearOnEscape, KeyboardContextMenu
from phonovault.gui.loader import BackgroundQuery
from phonovault.gui.offline import OfflineMonitor, OfflineStatus
from phonovault.gui.report_export import ReportExporter
from phonovault.gui.scrub import ScrubScheduler
from phonovault.gui.status_line import Summary, plural, summary_reader, summary_text
from phonovault.gui.style import icon
from phonovault.gui.views.activity_view import ActivityPage
from phonovault.gui.views.albums_view import AlbumsPage
from phonovault.gui.views.backups_view import BackupsPage
from phonovault.gui.views.beets_dialog import BeetsDriftDialog
from phonovault.gui.views.details_pane import DetailsPane
from phonovault.gui.views.empty_state import EmptyState
from phonovault.gui.views.findings_view import FindingsPage
from phonovault.gui.views.jobs_bar import JobsBar
from phonovault.gui.views.library_view import LibraryPage
from phonovault.gui.views.offline_banner import OfflineBanner
from phonovault.gui.views.settings_dialog import SettingsDialog
from phonovault.gui.watcher import WatchBridge
from phonovault.gui.workers import Job

__all__ = ["PAGES", "MainWindow", "plural"]

PAGES = ("Library", "Albums", "Findings", "Backups", "Activity")


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Phonovault")
        self.resize(1280, 780)
        self.setAcceptDrops(True)
        self._build_actions()
        self._build_body()
        self._build_keyboard()
        self.jobs_bar = JobsBar(ctx.jobs, self)
        self.summary = QLabel(self)
        self.watch_label = QLabel(self)
        self.watcher: WatchBridge | None = None
        self._beets_jobs: dict[int, str] = {}  # job id -> beets DB path, shown when it is done
        self.beets_dialog: BeetsDriftDialog | None = None
        self._watched: dict[int, str] = {}
        self.statusBar().addWidget(self.summary, 1)
        self.statusBar().addPermanentWidget(self.watch_label)
        self.statusBar().addPermanentWidget(self.jobs_bar, 2)
        # The status line's numbers take full-table queries: read them off the UI thread.
        self._summary_query = BackgroundQuery(ctx.catalog, self)
        self._summary_query.finished.connect(self._show_summary)
        self._summary_query.failed.connect(self._summary_failed)
        self._summary: Summary | None = None
        self._summary_offline: frozenset[int] = frozenset()  # offline roots the read counted
        # Which roots and backup drives are offline: one check each, off the UI thread.
        self.offline = OfflineMonitor(ctx.catalog, self)
        self.offline.changed.connect(self._offline_changed)
        self.offline.returned.connect(self._roots_returned)
        self.banner.check_again.connect(self.offline.check)
        # Coalesce bursts of "catalog changed" (each finished job) into one refresh.
        self._refresh_timer = QTimer(self, singleShot=True, interval=150)
        self._refresh_timer.timeout.connect(self._refresh_when_read)
        ctx.catalog_changed.connect(self._refresh_timer.start)
        ctx.file_requested.connect(self.show_file)
        ctx.jobs.finished.connect(self._job_finished)
        self.scrub = ScrubScheduler(ctx, self)
        self.refresh()

    # -- construction --------------------------------------------------------------------

    def _action(
        self,
        name: str,
        text: str,
        shortcut: str | QKeySequence.StandardKey | None,
        slot: object,
        tip: str,
    ) -> QAction:
        action = QAction(icon(name), text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{tip} ({action.shortcut().toString()})" if shortcut else tip)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        self._build_app_actions()
        self._build_check_actions()
        self._build_verify_actions()
        self._build_menus()
        self._build_toolbar()

    def _build_app_actions(self) -> None:
        """Add a folder, settings, quit: the File menu's own actions."""
        self.act_add = self._action(
            "add-folder",
            "Add Folder…",
            QKeySequence.StandardKey.Open,
            self.choose_folder,
            "Add a music folder and scan it",
        )
        self.act_settings = self._action(
            "settings",
            "Settings…",
            QKeySequence.StandardKey.Preferences,
            self.open_settings,
            "Folders, hashing, workers",
        )
        self.act_quit = QAction("Quit", self)
        self.act_quit.setShortcut(QKeySequence.StandardKey.Quit)
        self.act_quit.triggered.connect(self.close)

    def _build_check_actions(self) -> None:
        """Scan, check tags, compare with beets, cancel: the Check menu's other actions."""
        ctx = self.ctx
        self.act_scan = self._action(
            "scan", "Scan", "F5", lambda: ctx.scan(), "Index new and changed files (reads only)"
        )
        self.act_check = self._action(
            "findings",
            "Check Tags",
            "Ctrl+Shift+T",
            lambda: ctx.check(),
            "Run the tag rules over the library (reads the catalog; files only where a rule must)",
        )
        self.act_beets = self._action(
            "findings",
            "Compare with beets library…",
            None,
            self.choose_beets_db,
            "Compare a beets library with the files: gone, unknown, differing tags (reads only)",
        )
        self.act_cancel = self._action(
            "cancel",
            "Cancel Job",
            "Esc",
            lambda: ctx.jobs.cancel(),
            "Cancel the running job (work done so far is kept)",
        )

    def _build_verify_actions(self) -> None:
        """Re-reading files: all, the least recently verified tenth, all with a decode."""
        ctx = self.ctx
        self.act_verify = self._action(
            "verify",
            "Verify All",
            "Ctrl+Shift+V",
            lambda: ctx.verify(),
            "Re-read every file and check it",
        )
        self.act_verify_oldest = self._action(
            "verify",
            "Verify Oldest 10%",
            "Ctrl+Shift+O",
            lambda: ctx.verify(oldest=0.1),
            "Re-read the least recently verified tenth of the library",
        )
        self.act_verify_decode = self._action(
            "verify",
            "Verify All with Decode Check",
            None,
            lambda: ctx.verify(decode=True),
            "Re-read every file and decode it: finds damage that was there before the first "
            "scan (slow; results are kept per file)",
        )

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addActions([self.act_add, self.act_settings])
        file_menu.addSeparator()
        self.report_export = ReportExporter(self.ctx, self)  # File > Export Health Report…
        file_menu.addAction(self.report_export.action)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        check = menu.addMenu("&Check")
        check.addActions([self.act_scan, self.act_check, self.act_verify, self.act_verify_oldest,
                          self.act_verify_decode])  # fmt: skip
        check.addSeparator()
        check.addAction(self.act_beets)
        check.addSeparator()
        check.addAction(self.act_cancel)
        view = menu.addMenu("&View")
        self.page_actions = QActionGroup(self)
        for n, name in enumerate(PAGES, start=1):
            action = QAction(icon(name.lower()), name, self, checkable=True)
            action.setShortcut(QKeySequence(f"Ctrl+{n}"))
            action.triggered.connect(lambda _checked=False, page=name: self.show_page(page))
            self.page_actions.addAction(action)
            view.addAction(action)
        self.help = HelpMenu(self, self.ctx.catalog_path)

    def _build_toolbar(self) -> None:
        toolbar = QToolBar("Main", self)
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        toolbar.setIconSize(QSize(20, 20))
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addActions([self.act_add, self.act_scan, self.act_check, self.act_verify])
        toolbar.addAction(self.act_verify_oldest)
        toolbar.addSeparator()
        toolbar.addAction(self.act_settings)
        self.addToolBar(toolbar)

    def _build_body(self) -> None:
        ctx = self.ctx
        self.sidebar = QListWidget(self)
        self.sidebar.setIconSize(QSize(20, 20))
        self.sidebar.setMaximumWidth(180)
        self.sidebar.setSpacing(2)
        for name in PAGES:
            QListWidgetItem(icon(name.lower()), name, self.sidebar)
        self.library = LibraryPage(ctx, self)
        self.albums = AlbumsPage(ctx, self)
        self.findings = FindingsPage(ctx, self)
        self.backups = BackupsPage(ctx, self)
        self.activity = ActivityPage(ctx, self)
        self.empty = EmptyState(self)
        self.empty.add_folder.connect(self.choose_folder)
        self.pages = QStackedWidget(self)
        for page in (
            self.library,
            self.albums,
            self.findings,
            self.backups,
            self.activity,
            self.empty,
        ):
            self.pages.addWidget(page)
        self.details = DetailsPane(ctx, self)
        # Each page's own selection: the details follow the page shown, never another's.
        self._selected: dict[QWidget, int] = {}
        for page in (self.library, self.albums, self.findings):
            page.file_selected.connect(self.details.show_file)
            page.file_selected.connect(partial(self._remember_selection, page))
        self.splitter = QSplitter(self)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.pages)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 1)
        self.splitter.setSizes([160, 780, 340])
        self.banner = OfflineBanner(self)
        self.banner.open_settings.connect(self.open_settings)
        self.banner.show_backups.connect(lambda: self.show_page("Backups"))
        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(6, 6, 6, 0)
        column.setSpacing(6)
        column.addWidget(self.banner)
        column.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.sidebar.currentRowChanged.connect(self._page_chosen)
        self.sidebar.currentRowChanged.connect(self._details_follow_page)
        self.sidebar.setCurrentRow(0)

    def _build_keyboard(self) -> None:
        """Esc clears a filter that has text (else it cancels the job); Shift+F10 and the
        Menu key open the focused list's context menu."""
        self.clear_on_escape = ClearOnEscape(self)
        for edit in self.pages.findChildren(QLineEdit):
            if not edit.isReadOnly():
                self.clear_on_escape.watch(edit)
        self.context_keys = KeyboardContextMenu(self)

    # -- behaviour -----------------------------------------------------------------------

    def _page_chosen(self, row: int) -> None:
        if row < 0:
            return
        self.page_actions.actions()[row].setChecked(True)
        if row == 0 and not self.ctx.catalog.roots():
            self.pages.setCurrentWidget(self.empty)
            return
        page = self.pages.widget(row)
        self.pages.setCurrentWidget(page)

    def _remember_selection(self, page: QWidget, file_id: int) -> None:
        self._selected[page] = file_id

    def _details_follow_page(self, row: int) -> None:
        """The details pane shows the file selected on the page now shown (none on pages
        without files), not the one picked on the page before."""
        page = self.pages.widget(row) if row >= 0 else None
        wanted = self._selected.get(page) if page is not None else None
        if wanted != self.details.file_id:
            self.details.show_file(wanted)

    def show_page(self, name: str) -> None:
        self.sidebar.setCurrentRow(PAGES.index(name))

    def refresh(self) -> None:
        """Re-read what every view shows (after a job changed the catalog). The reads run off
        the UI thread; each view updates when its own read lands."""
        for page in (self.library, self.albums, self.findings, self.backups, self.activity):
            page.refresh()
        self._page_chosen(self.sidebar.currentRow())
        self._update_summary()
        self.offline.check()

    def is_loading(self) -> bool:
        """Whether a view (or the status line) still waits for its latest read. The offline
        check is left out: on a hung network mount it may not land for minutes, and the
        refresh after a job (which waits for these reads) must not wait for it."""
        views = (self.library, self.albums, self.findings)
        return self._summary_query.is_busy() or any(v.is_loading() for v in views)

    def _refresh_when_read(self) -> None:
        # A newer read drops the result of the one it overtakes; a burst of jobs each
        # overtaking the last refresh could leave the views unchanged for as long as it lasts.
        # So the refresh after a change waits for the reads running to land, then reads again.
        if self.is_loading():
            self._refresh_timer.start()
        else:
            self.refresh()

    def _update_summary(self) -> None:
        """Re-read the status line's numbers (they arrive in :meth:`_show_summary`), with
        the files of the roots offline at the last check counted apart."""
        self._summary_offline = self.offline.status.roots.ids
        self._summary_query.request(summary_reader(self._summary_offline))

    def _show_summary(self, summary: Summary) -> None:
        self._summary = summary
        self.summary.setText(summary_text(summary, self.offline.status.roots))
        offline = self.offline.status.roots
        self.summary.setToolTip(
            "\n".join(f"{f.path}: offline, {f.reason}" for f in offline) if offline else ""
        )
        findings_item = self.sidebar.item(PAGES.index("Findings"))
        problems = summary.problems
        findings_item.setText(f"Findings ({problems})" if problems else "Findings")

    def _summary_failed(self, message: str) -> None:
        self.summary.setText(f"Cannot read the catalog: {message}")

    # -- offline folders and drives ------------------------------------------------------

    def _offline_changed(self, status: OfflineStatus) -> None:
        """A check found other folders or drives offline (or back): say so everywhere."""
        self.banner.set_status(status)
        self.library.model.set_offline(status.roots)
        if status.roots.ids != self._summary_offline:
            self._update_summary()  # the files of other roots are counted apart now
        elif self._summary is not None:
            self._show_summary(self._summary)
        self.backups.refresh()  # its table says which drives are online

    def _roots_returned(self, root_ids: frozenset[int]) -> None:
        """Folders are back: watch them again, and rescan them (a stat walk if unchanged)."""
        if self.watcher is not None:
            self.watcher.set_roots(self._root_map())
        self.ctx.scan(sorted(root_ids), title="Rescan (folder back online)")

    # -- live updates ----------------------------------------------------------------------

    def attach_watcher(self, bridge: WatchBridge) -> None:
        """Follow the roots: changes under one queue a rescan of that root (at most one
        waiting at a time); the watched set follows the roots the catalog holds."""
        self.watcher = bridge
        bridge.changed.connect(self._roots_changed_on_disk)
        bridge.status_changed.connect(self._watch_status)
        bridge.start(self._root_map())
        self.ctx.catalog_changed.connect(self._follow_roots)

    def _root_map(self) -> dict[int, str]:
        return {r.id: r.path for r in self.ctx.catalog.roots()}

    def _follow_roots(self) -> None:
        roots = self._root_map()
        if self.watcher is not None and roots != self._watched:
            self._watched = roots
            self.watcher.set_roots(roots)

    def _roots_changed_on_disk(self, root_ids: frozenset[int]) -> None:
        waiting = any(
            j.title.startswith("Rescan") and j.state == "queued" for j in self.ctx.jobs.pending()
        )
        if not waiting:
            self.ctx.scan(sorted(root_ids), title="Rescan (files changed on disk)")

    def _watch_status(self, status: WatchStatus) -> None:
        self.watch_label.setText(
            {"live": "Watching for changes", "polling": "Rescanning periodically"}.get(
                status.mode, ""
            )
        )
        self.watch_label.setToolTip(status.reason or "")
        self.offline.check()  # the watcher re-armed: a folder it could not watch may be back

    def show_file(self, file_id: int) -> None:
        self.details.show_file(file_id)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Add a music folder", os.path.expanduser("~")
        )
        if folder:
            self.ctx.add_folders([folder], then_check=True)

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.exec()

    def choose_beets_db(self) -> None:
        start = os.path.join(os.path.expanduser("~"), ".config", "beets")
        path, _filter = QFileDialog.getOpenFileName(
            self,
            "Compare with beets library",
            start if os.path.isdir(start) else os.path.expanduser("~"),
            "beets library (*.db *.blb);;All files (*)",
        )
        if path:
            self.compare_with_beets(path)

    def compare_with_beets(self, db_path: str) -> Job:
        """Queue the comparison; its report opens in a dialog when the job is done."""
        job = self.ctx.beets_drift(db_path)
        self._beets_jobs[job.id] = db_path
        return job

    def _show_beets_report(self, job: Job, db_path: str) -> None:
        """One report dialog at a time (non-modal: the window stays usable beside it)."""
        if self.beets_dialog is not None:
            self.beets_dialog.close()
            self.beets_dialog.deleteLater()
        self.beets_dialog = BeetsDriftDialog(job.result, db_path, self)
        self.beets_dialog.show()

    def _job_finished(self, job: Job) -> None:
        db_path = self._beets_jobs.pop(job.id, None)
        if db_path is not None and job.state == "done" and job.result is not None:
            self._show_beets_report(job, db_path)
        if job.error:
            self.statusBar().showMessage(f"{job.title} failed: {job.error}", 15000)
        elif job.state == "cancelled":
            self.statusBar().showMessage(f"{job.title} cancelled; run it again to resume", 10000)

    # -- drag and drop of folders ---------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and all(u.isLocalFile() and os.path.isdir(u.toLocalFile()) for u in urls):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        folders = [
            u.toLocalFile()
            for u in event.mimeData().urls()
            if u.isLocalFile() and os.path.isdir(u.toLocalFile())
        ]
        if folders:
            self.ctx.add_folders(folders, then_check=True)
            event.acceptProposedAction()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Cancel running work (what is done stays committed) and wait for it to stop."""
        if self.watcher is not None:
            self.watcher.stop()
        self.offline.stop()
        self.ctx.jobs.cancel_all()
        self.ctx.jobs.wait(10000)
        super().closeEvent(event)
