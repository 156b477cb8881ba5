"""The job queue as the window uses it: queueing, progress, cancel from the jobs bar, and
folders dropped onto the window."""

from __future__ import annotations

import threading
from pathlib import Path

import audiogen
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from phonovault.gui.app import build


def test_cancel_from_the_jobs_bar_keeps_work_and_the_next_job_runs(qtbot, tmp_path: Path) -> None:
    """The user presses Cancel once the first files are read. The thread that reported that
    progress waits until the press has landed, so the press always falls within the run
    however busy the machine is (events, not timing); files already in flight may still
    finish, and the rescan reads exactly the rest."""
    root = tmp_path / "Music"
    audiogen.make_library(root, 300, seconds=0.5)
    ctx, window = build(tmp_path / "c.sqlite", tmp_path / "s.json")
    qtbot.addWidget(window)
    window.show()
    progress_seen = []
    pressed = threading.Event()

    def in_the_reader(job, progress) -> None:  # runs in the worker thread
        if job.title.startswith("Add") and progress.done > 0 and not pressed.is_set():
            assert pressed.wait(30), "the Cancel press never landed"

    def on_progress(job) -> None:  # the window's thread: the user's click
        progress_seen.append(job.progress)
        if job.title.startswith("Add") and job.progress.done > 0 and not pressed.is_set():
            assert window.jobs_bar.isVisible()
            window.jobs_bar.cancel_button.click()
            pressed.set()

    ctx.jobs.progressed.connect(on_progress)
    # After the queue's own (queued) connection, so the window hears of progress first.
    ctx.jobs._signals.progress.connect(in_the_reader, Qt.ConnectionType.DirectConnection)
    first = ctx.add_folders([str(root)])
    queued = ctx.verify()
    assert queued.state == "queued" and ctx.jobs.pending() == [first, queued]
    qtbot.waitUntil(lambda: queued.state in ("done", "failed"), timeout=60000)
    assert first.state == "cancelled" and first.result.cancelled
    kept = ctx.catalog.totals()[0]
    assert 0 < kept <= 300  # what was read before the cancel is kept
    assert queued.state == "done"
    assert progress_seen and progress_seen[0].total == 300
    ctx.jobs.progressed.disconnect(on_progress)
    resumed = ctx.scan()
    qtbot.waitUntil(lambda: resumed.state == "done", timeout=60000)
    assert ctx.catalog.totals()[0] == 300
    assert resumed.result.indexed == 300 - kept  # only the rest was read
    window.close()


def test_cancelling_a_queued_job_drops_it(qtbot, tmp_path: Path) -> None:
    ctx, window = build(tmp_path / "c.sqlite", tmp_path / "s.json")
    qtbot.addWidget(window)
    blocker = ctx.jobs.submit("wait", lambda catalog, progress, cancel: cancel._event.wait(5))
    dropped = ctx.verify()
    ctx.jobs.cancel(dropped)
    assert dropped.state == "cancelled" and ctx.jobs.pending() == [blocker]
    ctx.jobs.cancel(blocker)
    qtbot.waitUntil(lambda: not ctx.jobs.is_busy(), timeout=10000)
    assert blocker.state == "cancelled"
    window.close()


def test_dropping_a_folder_adds_and_scans_it(qtbot, tmp_path: Path, make_file) -> None:
    root = tmp_path / "Dropped"
    make_file("opus", "x.opus", root=root)
    ctx, window = build(tmp_path / "c.sqlite", tmp_path / "s.json")
    qtbot.addWidget(window)
    window.show()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(root))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(ctx.jobs.idle, timeout=20000):
        window.dropEvent(event)
    assert [r.path for r in ctx.catalog.roots()] == [str(root)]
    assert ctx.catalog.totals()[0] == 1
    window.close()
