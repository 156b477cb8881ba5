"""The main window. For now: the catalog's summary and its files (the full GUI is issue 3)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from phonovault.core.catalog import Catalog


class MainWindow(QMainWindow):
    """Opens on a catalog and shows what it holds."""

    def __init__(self, catalog: Catalog) -> None:
        super().__init__()
        self.catalog = catalog
        self.setWindowTitle("Phonovault")
        self.resize(1000, 640)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        self.summary = QLabel(central)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)
        self.files = QTreeWidget(central)
        self.files.setRootIsDecorated(False)
        self.files.setUniformRowHeights(True)
        self.files.setHeaderLabels(["Path", "Title", "Artist", "Album", "Format", "State"])
        layout.addWidget(self.files)
        self.setCentralWidget(central)
        self.refresh()

    def refresh(self, limit: int = 5000) -> None:
        files, size, _ = self.catalog.totals()
        roots = self.catalog.roots()
        if not roots:
            self.summary.setText(
                "No music folders yet. Add one with "
                "<code>phonovault roots add ~/Music</code> and scan it."
            )
        else:
            states = self.catalog.state_counts()
            detail = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
            self.summary.setText(
                f"{files} files ({size / 1e9:.2f} GB) in {len(roots)} folder(s): {detail}"
            )
        self.files.clear()
        for n, rec in enumerate(self.catalog.files()):
            if n >= limit:
                break
            self.files.addTopLevelItem(
                QTreeWidgetItem(
                    [
                        rec.path_text,
                        rec.title or "",
                        rec.artist or "",
                        rec.album or "",
                        rec.format or "",
                        rec.state,
                    ]
                )
            )
