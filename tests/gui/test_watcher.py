"""WatchBridge: the core watcher's background callbacks arrive as UI-thread signals."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QCoreApplication

from phonovault.core.fixity.watch import WatchStatus
from phonovault.gui.watcher import WatchBridge


def test_changed_arrives_on_the_ui_thread(qtbot, tmp_path: Path) -> None:
    root = tmp_path / "Music"
    root.mkdir()
    bridge = WatchBridge(debounce=0.2)
    received: list[tuple[frozenset[int], str]] = []
    # A plain function, not a slot of a UI-thread QObject: it must still run on the UI thread.
    bridge.changed.connect(lambda ids: received.append((ids, threading.current_thread().name)))
    try:
        with qtbot.waitSignal(bridge.status_changed, timeout=5000) as started:
            status = bridge.start({3: str(root)})
        assert started.args == [status] == [WatchStatus("live", None)]

        with qtbot.waitSignal(bridge.changed, timeout=10000) as blocker:
            (root / "01.flac").write_bytes(b"fLaC" + bytes(64))
        assert blocker.args == [frozenset({3})]
        assert received == [(frozenset({3}), threading.main_thread().name)]  # the UI thread
        assert bridge.thread() is QCoreApplication.instance().thread()
    finally:
        with qtbot.waitSignal(bridge.status_changed, timeout=5000) as stopped:
            bridge.stop()
        bridge.stop()  # idempotent, and silent the second time
    assert stopped.args == [WatchStatus("stopped", None)]
    assert bridge.status.mode == "stopped"
