"""The Rules tab of the settings dialog: switch each tag rule on or off, set its severity."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from phonovault.core.config import Settings
from phonovault.core.rules.engine import RuleInfo
from phonovault.gui.style import severity_icon

SEVERITIES = ("error", "warning", "info")


class RulesEditor(QTreeWidget):
    """One row per rule: a checkbox (on/off), its title and id, and a severity choice.

    Only what the user changed is written back, so a rule left alone keeps following its
    plugin's default."""

    def __init__(self, rules: Mapping[str, RuleInfo], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderLabels(["Rule", "Id", "Severity"])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        header = self.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(1, 170)
        header.resizeSection(2, 110)
        self._initial: dict[str, tuple[bool, str]] = {}
        self._combos: dict[str, QComboBox] = {}
        for rule_id, info in sorted(rules.items(), key=lambda kv: kv[1].rule.title.lower()):
            item = QTreeWidgetItem([info.rule.title, rule_id, ""])
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Checked if info.enabled
                               else Qt.CheckState.Unchecked)  # fmt: skip
            item.setToolTip(0, info.rule.explanation)
            item.setData(0, Qt.ItemDataRole.UserRole, rule_id)
            self.addTopLevelItem(item)
            combo = QComboBox(self)
            for severity in SEVERITIES:
                combo.addItem(severity_icon(severity), severity, severity)
            combo.setCurrentIndex(SEVERITIES.index(info.severity)
                                  if info.severity in SEVERITIES else 1)  # fmt: skip
            self.setItemWidget(item, 2, combo)
            self._combos[rule_id] = combo
            self._initial[rule_id] = (info.enabled, info.severity)

    def current(self) -> dict[str, tuple[bool, str]]:
        out = {}
        for i in range(self.topLevelItemCount()):
            item = self.topLevelItem(i)
            rule_id = item.data(0, Qt.ItemDataRole.UserRole)
            enabled = item.checkState(0) == Qt.CheckState.Checked
            out[rule_id] = (enabled, self._combos[rule_id].currentData())
        return out

    def apply(self, settings: Settings) -> Settings:
        """``settings`` with the rows the user changed written into its rules."""
        for rule_id, (enabled, severity) in self.current().items():
            was_enabled, was_severity = self._initial[rule_id]
            if enabled != was_enabled:
                settings = settings.with_rule(rule_id, enabled=enabled)
            if severity != was_severity:
                settings = settings.with_rule(rule_id, severity=severity)
        return settings
