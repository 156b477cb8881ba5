"""Read-only lists the views share: one look for every small table of text rows."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QWidget


def plain_tree(
    parent: QWidget,
    headers: list[str],
    *,
    selectable: bool = True,
    widths: Sequence[int] = (),
) -> QTreeWidget:
    """A flat, read-only list of rows: uniform heights, alternating colours, long text elided
    in the middle (paths keep both ends), the last column stretching; ``widths`` sets the
    first columns' widths, the rest stay resizable by the user."""
    tree = QTreeWidget(parent)
    tree.setHeaderLabels(headers)
    tree.setRootIsDecorated(False)
    tree.setUniformRowHeights(True)
    tree.setAlternatingRowColors(True)
    tree.setSelectionMode(
        QAbstractItemView.SelectionMode.SingleSelection
        if selectable
        else QAbstractItemView.SelectionMode.NoSelection
    )
    tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    header = tree.header()
    header.setStretchLastSection(True)
    for column in range(len(headers) - 1):
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
    for column, width in enumerate(widths):
        header.resizeSection(column, width)
    return tree
