"""Activity: what ran in this session (live), and what the catalog remembers of earlier ones.

People trust a tool that shows its work: each job says what it found ("3 new, 1 changed"),
a run that was killed says it will resume, and every accepted baseline is in the journal.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QSplitter,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from phonovault.core.backups.repair import RepairReport
from phonovault.core.backups.targets import BackupReport
from phonovault.core.catalog import JobRow, JournalEntry
from phonovault.core.fixity.scan import ScanReport
from phonovault.core.fixity.verify import VerifyReport
from phonovault.core.integrity.decoding import DecodeReport
from phonovault.gui.context import AppContext
from phonovault.gui.models.findings_model import format_time
from phonovault.gui.style import STATE_LABELS, STATE_RANK, icon, severity_icon, state_icon
from phonovault.gui.views.tables import plain_tree
from phonovault.gui.workers import Job

STATE_TEXT = {
    "queued": "Waiting",
    "running": "Running",
    "done": "Done",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
ACTION_LABELS = {
    "accept": "Accepted as new baseline",
    "restore": "Restored from backup",
    "refresh": "Refreshed backup copy",
    "copy": "Copied to backup",
}
REPAIR_ACTIONS = ("restore", "refresh", "copy")
JOB_KINDS = {"verify": "Verify", "scan": "Scan"}


def job_summary(job: Job) -> str:
    """One line on what a job did (or why it did not), for people rather than logs."""
    if job.error:
        return job.error
    if job.state == "queued":
        return ""
    if job.state == "running":
        p = job.progress
        return f"{p.done:,} of {p.total:,} files" if p is not None and p.total else "Starting…"
    text = result_summary(job.result)
    if job.state == "cancelled":
        return "Cancelled; run it again to resume" + (f" ({text})" if text else "")
    return text


def result_summary(result: Any) -> str:
    if isinstance(result, ScanReport):
        text = f"{result.indexed:,} new, {result.updated:,} changed, {len(result.failed):,} failed"
        if result.missing:
            text += f", {result.missing:,} missing"
        if result.moved:
            text += f", {len(result.moved):,} moved"
        return text + _offline(result.offline_roots)
    if isinstance(result, VerifyReport):
        summary = result.summary
        ranked = sorted(summary, key=lambda s: STATE_RANK.index(s) if s in STATE_RANK else 99)
        parts = [f"{summary[s]:,} {STATE_LABELS.get(s, s).lower()}" for s in ranked]
        text = (", ".join(parts) or "nothing to verify") + _offline(result.offline_roots)
        if result.decode is not None:
            text += "; " + result_summary(result.decode)
        if result.out_of_time:
            text += "; time budget used up"
        return text
    if isinstance(result, DecodeReport):
        n = result.checked + result.cached
        problems = len(result.problems)
        return f"{n:,} decode-checked: " + (
            f"{problems:,} problem" + ("" if problems == 1 else "s") if problems else "all clean"
        )
    if isinstance(result, RepairReport):
        parts = [f"{result.count(r):,} {r}" for r in ("done", "skipped", "failed")]
        return ", ".join(p for p in parts if not p.startswith("0 ")) or "nothing to repair"
    if isinstance(result, list) and result and isinstance(result[0], BackupReport):
        return "; ".join(_backup_summary(r) for r in result)
    if isinstance(result, list):
        return f"{len(result):,} file" + ("" if len(result) == 1 else "s")
    return ""


def _backup_summary(report: BackupReport) -> str:
    name = os.path.basename(report.target.path.rstrip(os.sep)) or report.target.path
    if report.offline:
        return f"{name}: offline, not checked"
    counts = ", ".join(f"{n:,} {state}" for state, n in sorted(report.summary.items()))
    return f"{name}: {counts or 'no copies'}"


def _offline(roots: list[tuple[str, str]]) -> str:
    n = len(roots)
    return f"; {n} folder{'' if n == 1 else 's'} offline, not checked" if n else ""


def _clock(seconds: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(seconds)) if seconds else ""


class ActivityPage(QWidget):
    """This session's jobs above, the catalog's history (past runs and journal) below."""

    file_selected = Signal(int)  # part of every page's interface; nothing here selects files

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._items: dict[int, QTreeWidgetItem] = {}
        self._started: dict[int, float] = {}

        width = self.fontMetrics().horizontalAdvance  # columns sized to what they hold
        short = width("Cancelled") + 48
        self.session = plain_tree(
            self,
            ["Job", "State", "Started", "Finished", "Result"],
            widths=(220, short, short, short),
        )
        self.history = plain_tree(
            self,
            ["When", "What", "Details"],
            widths=(width("8888-88-88 88:88") + 40, width("Accepted as new baseline") + 24),
        )
        session_box = QGroupBox("This session", self)
        QVBoxLayout(session_box).addWidget(self.session)
        history_box = QGroupBox("History in the catalog", self)
        QVBoxLayout(history_box).addWidget(self.history)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(session_box)
        splitter.addWidget(history_box)
        QVBoxLayout(self).addWidget(splitter)

        jobs = ctx.jobs
        for job in [*jobs.history, *jobs.pending()]:
            self._job_changed(job)
        jobs.queued.connect(self._job_changed)
        jobs.started.connect(self._job_started)
        jobs.progressed.connect(self._job_changed)
        jobs.finished.connect(self._job_changed)

    # -- this session (live) ---------------------------------------------------------------

    def _job_started(self, job: Job) -> None:
        self._started[job.id] = time.time()
        self._job_changed(job)

    def _job_changed(self, job: Job) -> None:
        item = self._items.get(job.id)
        if item is None:
            item = QTreeWidgetItem()
            self._items[job.id] = item
            self.session.insertTopLevelItem(0, item)  # newest on top
        started = self._started.get(job.id)
        if started is None and job.state in ("running", "done", "failed"):
            started = job.queued_at  # it ran before this page existed: close enough
        values = (
            job.title,
            STATE_TEXT.get(job.state, job.state),
            _clock(started),
            _clock(job.finished_at),
            job_summary(job),
        )
        for column, value in enumerate(values):
            item.setText(column, value)
        item.setToolTip(4, values[4])
        item.setIcon(1, _job_icon(job))

    # -- the catalog's history --------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read past runs and the journal (the session list updates itself live)."""
        rows = self.ctx.catalog.jobs()
        running = self.ctx.jobs.current is not None
        newest_open = next((r.id for r in rows if r.finished is None), None)
        entries: list[tuple[float, QTreeWidgetItem]] = [
            (r.started, _job_item(r, running and r.id == newest_open)) for r in rows
        ]
        entries += [(e.at, _journal_item(e)) for e in self.ctx.catalog.journal()]
        entries.sort(key=lambda pair: pair[0], reverse=True)
        self.history.clear()
        self.history.addTopLevelItems([item for _at, item in entries])


def _job_icon(job: Job) -> Any:
    if job.state == "failed":
        return severity_icon("error")
    if job.state == "cancelled":
        return severity_icon("warning")
    if job.state == "done":
        return state_icon("ok")
    return icon("scan") if job.state == "running" else icon("activity")


def _job_item(row: JobRow, running: bool) -> QTreeWidgetItem:
    kind = JOB_KINDS.get(row.kind, row.kind.capitalize())
    if row.finished is not None:
        minutes, seconds = divmod(int(row.finished - row.started), 60)
        took = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
        outcome = row.outcome or "done"
        detail = (
            f"Finished in {took}" if outcome == "done" else f"{outcome.capitalize()} after {took}"
        )
        item_icon = state_icon("ok")
    elif running:
        detail, item_icon = "Running now", icon("scan")
    else:
        detail, item_icon = "Interrupted, will resume", severity_icon("warning")
    item = QTreeWidgetItem([format_time(row.started), kind, detail])
    item.setIcon(1, item_icon)
    return item


def _journal_item(entry: JournalEntry) -> QTreeWidgetItem:
    action = ACTION_LABELS.get(entry.action, entry.action.replace("-", " ").capitalize())
    detail = _journal_detail(entry.detail)
    text = entry.path or ""
    if detail:
        text = f"{text} ({detail})" if text else detail
    item = QTreeWidgetItem([format_time(entry.at), action, text])
    item.setToolTip(2, text)
    item.setIcon(1, _journal_icon(entry))
    return item


def _journal_detail(raw: str | None) -> str:
    """The readable part of a journal entry's JSON detail (hashes stay in the tooltip-free
    catalog: they mean nothing to most people)."""
    if not raw:
        return ""
    try:
        detail = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(detail, dict):
        return str(detail)
    if "dest" in detail and "result" in detail:  # a repair action
        return _repair_detail(detail)
    previous = detail.get("previous_state")
    if isinstance(previous, str):
        return f"was {STATE_LABELS.get(previous, previous).lower()}"
    return ", ".join(f"{k}: {v}" for k, v in detail.items() if "hash" not in k)


def _journal_icon(entry: JournalEntry) -> Any:
    if entry.action in REPAIR_ACTIONS and entry.detail:
        try:
            result = json.loads(entry.detail).get("result")
        except (ValueError, AttributeError):
            result = None
        if result == "failed":
            return severity_icon("error")
        if result == "skipped":
            return severity_icon("warning")
        return state_icon("ok")
    return icon("verify")


def _repair_detail(detail: dict[str, Any]) -> str:
    """ "from SOURCE; done" or "failed: why" (the path shown is the file written)."""
    result = detail.get("result") or "done"
    text = f"from {detail.get('source')}; {result}"
    if detail.get("reason"):
        text += f": {detail['reason']}"
    if detail.get("quarantined"):
        text += f"; replaced bytes kept in {detail['quarantined']}"
    return text
