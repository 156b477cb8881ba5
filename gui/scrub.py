"""The daily scrub the app runs while it is open (Settings > Scheduled scrub).

Once a day, when no other job is running, it queues "verify the oldest N %" (with a decode
check if asked), the same core call as ``phonovault verify --oldest N``. Any completed verify
counts: after a full verify by hand, the next scrub waits a day. A scrub the user cancels is
not restarted until the next day; one cut short by closing the app resumes on the next start.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

from phonovault.core.integrity.scrub import DAY, scrub_due
from phonovault.gui.context import AppContext
from phonovault.gui.workers import Job


class ScrubScheduler(QObject):
    """Looks every ``interval_ms`` whether a scrub is due, and queues it when the app is idle."""

    started = Signal(object)  # the Job

    def __init__(
        self,
        ctx: AppContext,
        parent: QObject | None = None,
        *,
        interval_ms: int = 10 * 60 * 1000,
        first_ms: int = 60 * 1000,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.job: Job | None = None
        self._skip_until = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poke)
        self._timer.start()
        # Not right at start-up: let the window settle and a first scan go first.
        QTimer.singleShot(first_ms, self.poke)
        ctx.jobs.finished.connect(self._finished)

    def due(self, now: float | None = None) -> bool:
        """Whether a scrub should be queued now (settings on, a day since the last verify)."""
        now = time.time() if now is None else now
        if self.ctx.settings.scrub_percent <= 0 or now < self._skip_until:
            return False
        if not self.ctx.catalog.roots():
            return False
        return scrub_due(self.ctx.catalog.last_job_finished("verify"), now)

    def poke(self) -> Job | None:
        """Queue the scrub if it is due and nothing else runs; returns the job if queued."""
        if self.job is not None or self.ctx.jobs.is_busy() or not self.due():
            return None
        settings = self.ctx.settings
        self.job = self.ctx.verify(
            settings.scrub_percent / 100, decode=settings.scrub_decode, scheduled=True
        )
        self.started.emit(self.job)
        return self.job

    def _finished(self, job: Job) -> None:
        if job is not self.job:
            return
        self.job = None
        if job.state == "cancelled":  # the user said no: not again today
            self._skip_until = time.time() + DAY
