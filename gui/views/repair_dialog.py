"""The repair plan, shown before anything is written (DESIGN.md, "Backups").

The dialog is the confirmation: it lists every action with why it is planned and every file
that cannot be repaired with the reason, and only its "Repair N files" button lets the page
queue :func:`phonovault.core.backups.repair.apply` as a job. Closing it any other way writes
nothing.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QLabel,
    QPushButton,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from phonovault.core.backups.repair import Action, RepairPlan
from phonovault.gui.views.tables import plain_tree

KIND_LABELS = {
    "restore": "Restore library file",
    "refresh": "Refresh backup copy",
    "copy": "Copy to backup",
}


class RepairDialog(QDialog):
    """Shows a :class:`RepairPlan`; ``accepted`` means the user asked for it to be applied.

    The same dialog confirms the Backups page's plan for everything and a plan for chosen
    files ("Restore from backup…" where a damaged file is shown): ``title`` and ``verb``
    name it for what it does, and ``advice`` is the sentence shown instead of an empty plan
    (which backup to add or verify when no verified copy has the good bytes)."""

    def __init__(
        self,
        plan: RepairPlan,
        parent: QWidget | None = None,
        *,
        title: str = "Repair",
        verb: str = "Repair",
        advice: str = "",
    ) -> None:
        super().__init__(parent)
        self.plan = plan
        self.verb = verb
        self.setWindowTitle(title)
        self.resize(900, 520)
        n = len(plan.actions)
        self.intro = intro = QLabel(self)
        intro.setWordWrap(True)
        if n:
            intro.setText(
                f"{_files(n)} can be repaired from a verified good copy. Each write goes to a "
                "temporary file first and is checked before it replaces anything; the bytes "
                "it replaces are kept in a quarantine folder. Nothing has been written yet."
            )
        else:
            intro.setText(advice or "Nothing can be repaired now: no action is planned.")

        self.actions_tree = plain_tree(
            self, ["Action", "File", "From", "Why"], selectable=False, widths=(170, 260, 260)
        )
        self.actions_tree.addTopLevelItems([_action_item(a) for a in plan.actions])
        self.unrepairable_tree = plain_tree(
            self, ["File", "Why it cannot be repaired"], selectable=False, widths=(360,)
        )
        self.unrepairable_tree.addTopLevelItems(
            [_item([u.path, u.reason]) for u in plan.unrepairable]
        )
        actions_box = QGroupBox(f"Planned ({n})", self)
        QVBoxLayout(actions_box).addWidget(self.actions_tree)
        unrepairable_box = QGroupBox(f"Cannot be repaired ({len(plan.unrepairable)})", self)
        QVBoxLayout(unrepairable_box).addWidget(self.unrepairable_tree)
        unrepairable_box.setVisible(bool(plan.unrepairable))
        actions_box.setVisible(bool(n) or not plan.unrepairable)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.repair_button = QPushButton(f"{verb} {_files(n).lower()}", self)
        self.repair_button.setEnabled(n > 0)
        self.repair_button.setDefault(False)
        buttons.addButton(self.repair_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.repair_button.setVisible(n > 0)  # nothing to do: only Close (after addButton,
        # which shows the buttons it lays out)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        cancel = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setDefault(True)  # Enter never writes by accident
        if not n:
            cancel.setText("Close")

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(actions_box, 3)
        layout.addWidget(unrepairable_box, 1)
        layout.addWidget(buttons)


def _files(n: int) -> str:
    return f"{n:,} file" + ("" if n == 1 else "s")


def _action_item(action: Action) -> QTreeWidgetItem:
    kind = KIND_LABELS.get(action.kind, action.kind)
    return _item([kind, action.dest, action.source, action.why])


def _item(values: list[str]) -> QTreeWidgetItem:
    item = QTreeWidgetItem(values)
    for column, value in enumerate(values):
        item.setToolTip(column, value)
    return item
