"""Findings as a tree: severity, then kind, then one row per file.

Grouping answers the two questions a person has in order — "is anything seriously wrong?"
(severity) and "what kind of trouble, how much of it?" (kind) — before the list of files.
Nodes are addressed by integer ids (``createIndex`` with an id, not a Python object), so no
index ever points at an object Python might have freed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from phonovault.core.catalog import Finding, display_path
from phonovault.gui.style import STATE_COLORS, severity_icon, state_icon

SEVERITIES = ("error", "warning", "info")
SEVERITY_LABELS = {"error": "Errors", "warning": "Warnings", "info": "Information"}
KIND_ORDER = ("corrupt", "missing", "decode-error", "md5-mismatch", "truncated",
              "undecodable", "audio-changed", "unreadable", "cover-damaged", "moved",
              "tags-changed")  # fmt: skip
KIND_LABELS = {
    "corrupt": "Corrupt (bit rot)",
    "missing": "Missing",
    "audio-changed": "Audio changed",
    "unreadable": "Unreadable",
    "moved": "Moved or renamed",
    "tags-changed": "Tags changed",
    "decode-error": "Decoding errors",
    "md5-mismatch": "FLAC checksum mismatch",
    "truncated": "Truncated",
    "undecodable": "Does not decode",
    "cover-damaged": "Damaged cover art",
}
COLUMNS = ("File", "What was found", "Since")
ROLE_KIND = Qt.ItemDataRole.UserRole + 1  # the kind of a kind group or a finding
ROLE_FINDING = Qt.ItemDataRole.UserRole + 2  # the Finding of a leaf, else None
ROLE_COUNT = Qt.ItemDataRole.UserRole + 3  # findings under a group (1 for a leaf)

_Index = QModelIndex | QPersistentModelIndex
_GROUP_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_LEAF_FLAGS = _GROUP_FLAGS | Qt.ItemFlag.ItemNeverHasChildren


def kind_label(kind: str) -> str:
    """A readable name for a finding kind; unknown kinds (from rule plugins) still read well."""
    return KIND_LABELS.get(kind, kind.replace("-", " ").capitalize())


def format_time(seconds: float | None) -> str:
    """A timestamp as people read it here (local time, to the minute)."""
    if not seconds:
        return ""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


@dataclass(slots=True, eq=False)
class _Node:
    uid: int
    parent: int  # uid of the parent; 0 is the invisible root
    row: int
    key: str  # severity, kind, or "" for a finding
    finding: Finding | None = None
    text: str = ""  # a finding's path as shown: relative to its library folder
    children: list[int] = field(default_factory=list)
    count: int = 0


def _rank(order: tuple[str, ...], key: str) -> tuple[int, str]:
    return (order.index(key), key) if key in order else (len(order), key)


class FindingsTree(NamedTuple):
    """The grouped findings a model shows (built by :func:`findings_tree`)."""

    nodes: dict[int, _Node]  # uid -> node; 0 is the invisible root
    by_finding: dict[int, int]  # finding id -> node uid


def findings_tree(
    findings: list[Finding], roots: Sequence[str] = (), labels: Mapping[str, str] | None = None
) -> FindingsTree:
    """Group ``findings`` by severity, then kind, leaves sorted by path; paths under one of
    ``roots`` are shown relative to it (the folder part everyone shares is noise), prefixed
    by its name when there are several. ``labels`` names kinds (``rule:<id>`` -> the rule's
    title). Touches no Qt object, so a loader thread can build it: thousands of findings
    take tens of milliseconds."""
    labels = labels or {}
    nodes = {0: _Node(0, 0, 0, "")}
    by_finding: dict[int, int] = {}

    def add(parent: int, key: str, finding: Finding | None = None) -> _Node:
        siblings = nodes[parent].children
        node = _Node(len(nodes), parent, len(siblings), key, finding, count=1 if finding else 0)
        nodes[node.uid] = node
        siblings.append(node.uid)
        if finding is not None:
            by_finding[finding.id] = node.uid
        return node

    groups: dict[str, dict[str, list[Finding]]] = {}
    for f in findings:
        groups.setdefault(f.severity, {}).setdefault(f.kind, []).append(f)
    for severity in sorted(groups, key=lambda s: _rank(SEVERITIES, s)):
        sev = add(0, severity)
        for kind in sorted(groups[severity], key=lambda k: _rank(KIND_ORDER, k)):
            node = add(sev.uid, kind)
            node.text = labels.get(kind) or kind_label(kind)
            leaves = [(_shown_path(f.path, roots), f) for f in groups[severity][kind]]
            for text, finding in sorted(leaves, key=lambda pair: pair[0].casefold()):
                add(node.uid, "", finding).text = text
            node.count = len(node.children)
            sev.count += node.count
    return FindingsTree(nodes, by_finding)


class FindingsModel(QAbstractItemModel):
    """Three columns over ``Catalog.findings()``; groups carry their counts in their labels."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._nodes: dict[int, _Node] = {0: _Node(0, 0, 0, "")}
        self._by_finding: dict[int, int] = {}  # finding id -> node uid

    def set_findings(self, findings: list[Finding], roots: Sequence[str] = ()) -> None:
        """Show ``findings`` (see :func:`findings_tree`)."""
        self.set_tree(findings_tree(findings, roots))

    def set_tree(self, tree: FindingsTree) -> None:
        """Show a tree built by :func:`findings_tree` (maybe on a loader thread)."""
        self.beginResetModel()
        self._nodes, self._by_finding = tree.nodes, tree.by_finding
        self.endResetModel()

    # -- lookups the view uses -----------------------------------------------------------------

    def _node(self, index: _Index) -> _Node:
        return self._nodes[index.internalId()] if index.isValid() else self._nodes[0]

    def finding(self, index: _Index) -> Finding | None:
        return self._node(index).finding if index.isValid() else None

    def group_index(self, severity: str, kind: str | None = None) -> QModelIndex:
        """The index of a severity group, or of a kind group inside it (invalid if absent)."""
        for uid in self._nodes[0].children:
            sev = self._nodes[uid]
            if sev.key != severity:
                continue
            if kind is None:
                return self.createIndex(sev.row, 0, sev.uid)
            for kid in sev.children:
                if self._nodes[kid].key == kind:
                    return self.createIndex(self._nodes[kid].row, 0, kid)
        return QModelIndex()

    def finding_index(self, finding_id: int, column: int = 0) -> QModelIndex:
        uid = self._by_finding.get(finding_id)
        if uid is None:
            return QModelIndex()
        return self.createIndex(self._nodes[uid].row, column, uid)

    def total(self) -> int:
        return sum(self._nodes[uid].count for uid in self._nodes[0].children)

    # -- Qt model interface ------------------------------------------------------------------

    def index(self, row: int, column: int, parent: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if column < 0 or column >= len(COLUMNS) or (parent.isValid() and parent.column() != 0):
            return QModelIndex()
        children = self._node(parent).children
        if not 0 <= row < len(children):
            return QModelIndex()
        return self.createIndex(row, column, children[row])

    def parent(self, index: _Index) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        node = self._node(index)
        if node.parent == 0:
            return QModelIndex()
        up = self._nodes[node.parent]
        return self.createIndex(up.row, 0, up.uid)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._node(parent).children)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        # A leaf says it never has children, so a view laying out thousands of them does not
        # ask each one for its rows.
        return _LEAF_FLAGS if self._nodes[index.internalId()].finding else _GROUP_FLAGS

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section] if 0 <= section < len(COLUMNS) else None
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        node = self._node(index)
        depth = 0 if node.parent == 0 else (1 if node.finding is None else 2)
        if role == ROLE_COUNT:
            return node.count
        if role == ROLE_FINDING:
            return node.finding
        if role == ROLE_KIND:
            return node.finding.kind if node.finding else (node.key if depth == 1 else None)
        if depth < 2:
            return self._group_data(node, depth, index.column(), role)
        assert node.finding is not None
        return _leaf_data(node.finding, node.text, index.column(), role)

    def _group_data(self, node: _Node, depth: int, column: int, role: int) -> Any:
        if column != 0:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            name = (
                SEVERITY_LABELS.get(node.key, node.key.capitalize())
                if depth == 0
                else node.text or kind_label(node.key)
            )
            return f"{name} · {node.count:,}"
        if role == Qt.ItemDataRole.DecorationRole:
            if depth == 0:
                return severity_icon(node.key)
            severity = self._nodes[node.parent].key
            return state_icon(node.key) if node.key in STATE_COLORS else severity_icon(severity)
        return None


def _shown_path(path: str, roots: Sequence[str]) -> str:
    return _printable(_under_root(path, roots))


def _under_root(path: str, roots: Sequence[str]) -> str:
    for root in roots:
        prefix = root.rstrip(os.sep) + os.sep
        if path.startswith(prefix):
            rel = path[len(prefix) :]
            return (
                os.path.join(os.path.basename(root.rstrip(os.sep)), rel) if len(roots) > 1 else rel
            )
    return path


def _printable(path: str) -> str:
    """A finding's path keeps the exact bytes of a name that is not UTF-8 as surrogate escapes;
    Qt would silently drop those characters, so they are shown as U+FFFD."""
    return path if path.isascii() else display_path(os.fsencode(path))


def _leaf_data(finding: Finding, text: str, column: int, role: int) -> Any:
    if role == Qt.ItemDataRole.DisplayRole:
        if column == 0:
            return text or "(not tied to one file)"
        if column == 1:
            return finding.message
        return format_time(finding.created)
    if role == Qt.ItemDataRole.ToolTipRole:
        return f"{_printable(finding.path)}\n{kind_label(finding.kind)}: {finding.message}"
    return None
