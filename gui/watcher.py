"""Live library updates for the GUI: the core watcher's callbacks as UI-thread signals.

:class:`~phonovault.core.fixity.watch.LibraryWatcher` calls back on its own thread. Widgets may only
be touched on the UI thread, so the callback is relayed through an explicitly queued
connection to a slot of this object (which lives on the UI thread) and re-emitted there.
PySide6 6.11 already queues plain-function receivers connected on the UI thread (measured);
the relay makes "``changed`` arrives on the UI thread" a property of this bridge rather than of
each receiver and PySide version, and lets :meth:`WatchBridge.stop` drop requests queued
before it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot
from watchdog.observers.api import BaseObserver

from phonovault.core.fixity.watch import LibraryWatcher, WatchStatus


class WatchBridge(QObject):
    """Owns a :class:`LibraryWatcher`; create it on the UI thread.

    ``changed(frozenset[int])`` asks for a rescan of those roots; ``status_changed(WatchStatus)``
    follows :meth:`start`, :meth:`set_roots` and :meth:`stop`. Deciding what to scan is the
    receiver's business, not this bridge's.
    """

    changed = Signal(object)  # frozenset[int]: root ids
    status_changed = Signal(object)  # WatchStatus
    _changed_elsewhere = Signal(object)  # emitted on the watcher's thread

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        debounce: float = 2.0,
        fallback_interval: float = 900.0,
        observer_factory: Callable[[], BaseObserver] | None = None,
    ) -> None:
        super().__init__(parent)
        self._watcher = LibraryWatcher(
            {},
            self._changed_elsewhere.emit,
            debounce=debounce,
            fallback_interval=fallback_interval,
            observer_factory=observer_factory,
        )
        self._changed_elsewhere.connect(self._relay, Qt.ConnectionType.QueuedConnection)
        app = QCoreApplication.instance()
        if app is not None:  # watcher threads must be joined before Qt objects go away
            app.aboutToQuit.connect(self.stop)

    @property
    def status(self) -> WatchStatus:
        return self._watcher.status

    def start(self, roots: Mapping[int, str]) -> WatchStatus:
        """Watch ``roots`` (root id -> folder); while already running, switch to them."""
        self._watcher.set_roots(roots)
        return self._publish(self._watcher.start())

    def set_roots(self, roots: Mapping[int, str]) -> None:
        """The user added or removed a root (also retries roots that were offline)."""
        self._watcher.set_roots(roots)
        if self._watcher.status.mode != "stopped":
            self._publish(self._watcher.status)

    @Slot()
    def stop(self) -> None:
        """Stop watching and join the watcher's threads; safe to call twice."""
        was_running = self._watcher.status.mode != "stopped"
        self._watcher.stop()
        if was_running:
            self._publish(self._watcher.status)

    def _publish(self, status: WatchStatus) -> WatchStatus:
        self.status_changed.emit(status)
        return status

    @Slot(object)
    def _relay(self, root_ids: frozenset[int]) -> None:
        if self._watcher.status.mode != "stopped":  # a request queued just before stop()
            self.changed.emit(root_ids)
