"""The bottom bar: what is running, how far along (files, bytes, rate, ETA), and Cancel."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from phonovault.core.jobs import format_duration, format_size
from phonovault.gui.style import icon
from phonovault.gui.workers import Job, JobQueue


class JobsBar(QWidget):
    def __init__(self, jobs: JobQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        self.label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setMaximumWidth(220)
        self.bar.setTextVisible(False)
        self.cancel_button = QToolButton(self)
        self.cancel_button.setIcon(icon("cancel"))
        self.cancel_button.setToolTip("Cancel (what is done so far is kept)")
        self.cancel_button.clicked.connect(lambda: self.jobs.cancel())
        layout.addWidget(self.label, 1)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        jobs.started.connect(self._update)
        jobs.progressed.connect(self._update)
        jobs.queued.connect(self._update)
        jobs.finished.connect(self._finished)
        self._finished(None)

    def _waiting_note(self) -> str:
        waiting = len(self.jobs.pending()) - 1
        return f"  (+{waiting} queued)" if waiting > 0 else ""

    def _update(self, job: Job) -> None:
        current = self.jobs.current
        if current is None:
            return
        self.setVisible(True)
        p = current.progress
        if p is None or not p.total:
            self.bar.setRange(0, 0)  # busy: walking the folders
            self.label.setText(f"{current.title}…{self._waiting_note()}")
            return
        self.bar.setRange(0, 1000)
        fraction = p.bytes_done / p.bytes_total if p.bytes_total else p.done / p.total
        self.bar.setValue(int(1000 * min(1.0, fraction)))
        eta = "" if p.eta is None else f", {format_duration(p.eta)} left"
        self.label.setText(
            f"{current.title}: {p.done:,}/{p.total:,} files, {format_size(p.bytes_done)} of "
            f"{format_size(p.bytes_total)}, {format_size(p.bytes_rate)}/s{eta}"
            f"{self._waiting_note()}"
        )

    def _finished(self, job: Job | None) -> None:
        if self.jobs.current is not None:
            self._update(self.jobs.current)
            return
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.setVisible(False)
