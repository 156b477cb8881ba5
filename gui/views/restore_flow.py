"""Repair where the problem is shown: "Restore from backup…" on a damaged or missing file
(Library, details pane, Findings) and "Refresh from library…" on bad backup copies (Backups).

Each plans for the chosen files alone (``repair.plan(file_ids=...)``), off the UI thread (the
plan stats files on drives that may be slow), then opens the same :class:`RepairDialog` the
Backups page's *Repair…* uses: the dialog is the confirmation, and nothing is written until
its button is pressed. When nothing can be done, the dialog says in a sentence what would
make it possible (which backup to add, connect or verify) instead of showing an empty plan.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from phonovault.core.backups.repair import RepairPlan
from phonovault.core.backups.targets import target_offline_reason
from phonovault.core.catalog import Catalog, KnownFile, Root, Target
from phonovault.core.library.roots import offline_reason
from phonovault.gui.context import AppContext
from phonovault.gui.loader import BackgroundQuery
from phonovault.gui.views.repair_dialog import RepairDialog

RESTORABLE_STATES = frozenset({"corrupt", "missing"})  # what a restore from a backup heals
REFRESHABLE_COPIES = frozenset({"corrupt", "stale", "missing"})  # what a refresh rewrites


@dataclass(frozen=True, slots=True)
class PlannedRepair:
    """A plan and, when it has nothing to do, the sentence that says why and what helps."""

    plan: RepairPlan
    advice: str = ""


# -- what to say when nothing can be restored (loader thread: catalog reads and stats) -----


def _named(files: Sequence[KnownFile]) -> str:
    if len(files) == 1:
        return f"“{os.path.basename(os.fsdecode(files[0].relpath))}”"
    return f"these {len(files):,} files"


def _paths(targets: Sequence[Target]) -> str:
    return ", ".join(t.path for t in targets)


def restore_advice(catalog: Catalog, plan: RepairPlan, file_ids: Sequence[int]) -> str:
    """Why a plan for ``file_ids`` restores nothing, as sentences for people ("" when it
    does restore something)."""
    if plan.actions:
        return ""
    files = catalog.known_files_by_ids(list(file_ids))
    damaged = [k for k in files if k.state in RESTORABLE_STATES]
    if not damaged:
        if not files:
            return "Nothing to restore: the file is no longer in the catalog."
        verb = "is" if len(files) == 1 else "are"
        return f"Nothing to restore: {_named(files)} {verb} neither damaged nor missing now."
    by_root: dict[int, list[KnownFile]] = {}
    for k in damaged:
        by_root.setdefault(k.root_id, []).append(k)
    targets = catalog.targets()
    sentences = [
        _root_advice(catalog, catalog.root(rid), mine, [t for t in targets if t.root_id == rid])
        for rid, mine in by_root.items()
    ]
    return " ".join(sentences)


def _root_advice(
    catalog: Catalog, root: Root, files: list[KnownFile], targets: list[Target]
) -> str:
    """What would let these files of one library folder be restored."""
    name = _named(files)
    if all(k.file_hash is None for k in files):
        return (
            f"The good bytes of {name} are not known (never read whole), so no backup copy "
            "can be matched to them."
        )
    if (down := offline_reason(catalog, root)) is not None:
        return f"The library folder {root.path} is offline ({down}): connect it, then try again."
    if not targets:
        return (
            f"No backup of {root.path} is registered, so no good copy of {name} is known. "
            "Add one on the Backups page (Add backup…) and verify it, then try again."
        )
    online = [t for t in targets if target_offline_reason(t) is None]
    offline = [t for t in targets if t not in online]
    if not online:
        if len(offline) == 1:
            return (
                f"The backup of {root.path} ({_paths(offline)}) is offline. Connect it and "
                "verify it on the Backups page, then try again."
            )
        return (
            f"The backups of {root.path} ({_paths(offline)}) are offline. Connect one and "
            "verify it on the Backups page, then try again."
        )
    unverified = [t for t in online if t.last_verified is None]
    if len(unverified) == len(online):
        if len(unverified) == 1:
            return (
                f"The backup {_paths(unverified)} has not been verified yet, so none of its "
                "copies is known to be good. Verify it on the Backups page, then try again."
            )
        return (
            f"The backups {_paths(unverified)} have not been verified yet, so none of their "
            "copies is known to be good. Verify them on the Backups page, then try again."
        )
    found = _copy_states(catalog, files, [t for t in online if t not in unverified])
    text = f"No verified copy of {name} has its last known good bytes" + (
        f" ({found})." if found else "."
    )
    if offline or unverified:
        text += f" Connect or verify {_paths(offline + unverified)} on the Backups page"
        text += ", or add a backup that has a good copy."
    else:
        text += " Add a backup that has a good copy on the Backups page and verify it."
    return text


def _copy_states(catalog: Catalog, files: list[KnownFile], targets: list[Target]) -> str:
    """What the last verify of each target found for these files ("in X: corrupt")."""
    ids = {k.id for k in files}
    parts = []
    for t in targets:
        states = sorted({c.state for c in catalog.copies(t.id).values() if c.file_id in ids})
        if states:
            parts.append(f"in {t.path}: {', '.join(states)}")
    return "; ".join(parts)


def refresh_advice(plan: RepairPlan) -> str:
    if plan.actions:
        return ""
    return (
        "Nothing to refresh: a copy is rewritten only from a library file that verifies ok, "
        "and only when the backup's last verify found the copy corrupt, stale or missing. "
        "Verify the library and this backup, then try again."
    )


# -- the flow on the UI thread --------------------------------------------------------------


def _verb(plan: RepairPlan, fallback: str) -> str:
    kinds = {a.kind for a in plan.actions}
    return {frozenset({"restore"}): "Restore", frozenset({"refresh"}): "Refresh"}.get(
        frozenset(kinds), fallback
    )


class RepairFlow(QObject):
    """Plan for chosen files off the UI thread, then show the plan in a :class:`RepairDialog`
    whose button queues the repair as a job. One dialog at a time per flow."""

    opened = Signal(object)  # the RepairDialog now showing
    busy_changed = Signal(bool)  # a plan is being computed

    def __init__(self, ctx: AppContext, parent: QWidget) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._widget = parent
        self.dialog: RepairDialog | None = None
        self._title = ""
        self._query = BackgroundQuery(ctx.catalog, self)
        self._query.finished.connect(self._planned)
        self._query.failed.connect(self._failed)

    def restore(self, file_ids: Sequence[int]) -> None:
        """Plan restores of these library files from verified good copies."""
        ids = list(file_ids)
        read = self.ctx.repair_plan(file_ids=ids)

        def planned(catalog: Catalog) -> PlannedRepair:
            plan = read(catalog)
            return PlannedRepair(plan, restore_advice(catalog, plan, ids))

        self._start("Restore from backup", planned)

    def refresh_copies(self, target: str, file_ids: Sequence[int]) -> None:
        """Plan refreshes of these files' bad copies from the library, in one backup (its
        path) or, with ``target`` "", in every backup."""
        read = self.ctx.repair_plan(target or None, file_ids=list(file_ids))

        def planned(catalog: Catalog) -> PlannedRepair:
            plan = read(catalog)
            return PlannedRepair(plan, refresh_advice(plan))

        self._start("Refresh backup copies", planned)

    def is_busy(self) -> bool:
        return self._query.is_busy()

    def _start(self, title: str, read: Callable[[Catalog], PlannedRepair]) -> None:
        self._title = title
        self.busy_changed.emit(True)
        self._query.request(read)

    def _failed(self, message: str) -> None:
        self.busy_changed.emit(False)
        QMessageBox.warning(self._widget, self._title, f"Cannot plan the repair: {message}")

    def _planned(self, planned: PlannedRepair) -> None:
        self.busy_changed.emit(False)
        if self.dialog is not None:
            self.dialog.close()
        plan = planned.plan
        verb = _verb(plan, "Repair")
        dialog = RepairDialog(plan, self._widget, title=self._title, verb=verb,
                              advice=planned.advice)  # fmt: skip
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.ctx.repair_apply(plan, verb=verb))
        dialog.finished.connect(lambda _result, d=dialog: self._closed(d))
        self.dialog = dialog
        dialog.open()
        self.opened.emit(dialog)

    def _closed(self, dialog: RepairDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
