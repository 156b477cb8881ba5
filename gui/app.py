"""``phonovault-gui``: builds the object graph (catalog, settings) and opens the main window."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from phonovault.core import __version__
from phonovault.core.catalog import Catalog
from phonovault.core.config import default_catalog_path
from phonovault.core.errors import CatalogError
from phonovault.gui.main_window import MainWindow
from phonovault.gui.resources import icon_path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="phonovault-gui")
    parser.add_argument("--catalog", metavar="PATH", help="catalog file to open")
    args, qt_args = parser.parse_known_args(argv)
    app = QApplication.instance() or QApplication([sys.argv[0], *qt_args])
    app.setApplicationName("Phonovault")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("phonovault")
    app.setWindowIcon(QIcon(str(icon_path("phonovault.svg"))))
    try:
        catalog = Catalog(args.catalog or default_catalog_path())
    except CatalogError as exc:
        QMessageBox.critical(None, "Phonovault", str(exc))
        return 2
    window = MainWindow(catalog)
    window.show()
    code = app.exec()
    catalog.close()
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
