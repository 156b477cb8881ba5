"""Which music folders and backup drives are offline, checked off the UI thread.

An unplugged drive must be the loudest thing in the window, never a library of green ticks
(issue 15). :class:`OfflineMonitor` asks once per root and once per backup target, never per
file: ``offline_reason`` stats the folder, lists its first entry and asks the catalog whether
files are expected there; ``target_offline_reason`` reads the target's marker. On a hung
network mount even one ``stat`` can block for minutes, so the check runs on a
:class:`BackgroundQuery` and the window only ever sees its answer as a signal.

It checks when asked (after every job, on *Check again*) and on a timer: often while something
is offline, so a drive plugged back in is noticed even though the watcher does not watch an
absent folder, and now and then while all is well, so a drive unplugged while nothing runs
is noticed too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer, Signal

from phonovault.core.backups.targets import targets_status
from phonovault.core.catalog import Catalog
from phonovault.core.library.roots import offline_reason
from phonovault.gui.loader import BackgroundQuery
from phonovault.gui.models.offline import OfflineFolder, OfflineRoots

log = logging.getLogger(__name__)

RECHECK_OFFLINE_MS = 5_000  # while something is offline: notice it coming back soon
RECHECK_ONLINE_MS = 60_000  # while all is there: notice an unplug while no job runs


@dataclass(frozen=True, slots=True)
class OfflineTarget:
    """A backup target that is not connected, the library folder it copies, and why."""

    id: int
    path: str
    root_path: str
    reason: str


@dataclass(frozen=True, slots=True)
class OfflineStatus:
    """What one check found: the offline roots and targets, and every root it checked."""

    roots: OfflineRoots = field(default_factory=OfflineRoots)
    targets: tuple[OfflineTarget, ...] = ()
    checked: frozenset[int] = frozenset()  # ids of every root checked, online or not

    def __bool__(self) -> bool:
        return bool(self.roots) or bool(self.targets)


def read_offline(catalog: Catalog) -> OfflineStatus:
    """Loader-thread body: one check per root and per target (nothing per file)."""
    roots = catalog.roots()
    paths = {r.id: r.path for r in roots}
    folders = tuple(
        OfflineFolder(root.id, root.path, reason)
        for root in roots
        if (reason := offline_reason(catalog, root)) is not None
    )
    targets = tuple(
        OfflineTarget(target.id, target.path, paths.get(target.root_id, ""), reason or "")
        for target, online, reason in targets_status(catalog)
        if not online
    )
    return OfflineStatus(OfflineRoots(folders), targets, frozenset(paths))


class OfflineMonitor(QObject):
    """Holds the latest :class:`OfflineStatus`; ``changed`` when a check finds another one,
    ``returned(frozenset[int])`` with the roots that were offline and are back."""

    changed = Signal(object)  # OfflineStatus
    returned = Signal(object)  # frozenset[int]: root ids back online

    def __init__(self, catalog: Catalog, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._status = OfflineStatus()
        self._query = BackgroundQuery(catalog, self)
        self._query.finished.connect(self._landed)
        self._query.failed.connect(lambda message: log.warning("offline check: %s", message))
        self._timer = QTimer(self, interval=RECHECK_ONLINE_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    @property
    def status(self) -> OfflineStatus:
        return self._status

    def check(self) -> None:
        """Check every root and target again (the answer arrives as ``changed``, if new)."""
        self._query.request(read_offline)

    def is_checking(self) -> bool:
        return self._query.is_busy()

    def stop(self) -> None:
        self._timer.stop()

    def _landed(self, status: OfflineStatus) -> None:
        old = self._status
        self._status = status
        self._timer.setInterval(RECHECK_OFFLINE_MS if status else RECHECK_ONLINE_MS)
        if status == old:
            return
        self.changed.emit(status)
        back = (old.roots.ids - status.roots.ids) & status.checked
        if back:
            self.returned.emit(frozenset(back))
