"""The GUI entry point opens a real (offscreen) window on a real catalog."""

from __future__ import annotations

from pathlib import Path

from phonovault.core.catalog import Catalog
from phonovault.core.library import add_root
from phonovault.core.scan import scan
from phonovault.gui.main_window import MainWindow


def test_window_shows_the_catalog(qtbot, tmp_path: Path, make_file) -> None:
    root = tmp_path / "Music"
    make_file("flac16", "a.flac", root=root)
    make_file("mp3", "b.mp3", root=root)
    with Catalog(tmp_path / "c.sqlite") as catalog:
        empty = MainWindow(catalog)
        qtbot.addWidget(empty)
        assert "No music folders yet" in empty.summary.text()
        add_root(catalog, root)
        scan(catalog)
        window = MainWindow(catalog)
        qtbot.addWidget(window)
        window.show()
        assert window.files.topLevelItemCount() == 2
        assert "2 files" in window.summary.text()
        assert window.windowTitle() == "Phonovault"
        assert not window.grab().isNull()
