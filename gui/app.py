"""``phonovault-gui``: builds the object graph once (catalog, settings, context, window)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from phonovault.core import __version__
from phonovault.core.catalog import Catalog, snapshots
from phonovault.core.catalog.guard import CatalogDamaged
from phonovault.core.config import Settings, default_catalog_path
from phonovault.core.errors import CatalogError
from phonovault.gui.context import AppContext
from phonovault.gui.main_window import MainWindow
from phonovault.gui.style import apply_theme, resource_path
from phonovault.gui.views.catalog_trouble import NEW, OTHER, RESTORE, ask, plain
from phonovault.gui.watcher import WatchBridge


def build(
    catalog_path: Path,
    settings_path: Path | None = None,
    *,
    watch: bool = False,
    debounce: float = 2.0,
) -> tuple[AppContext, MainWindow]:
    """The whole object graph for one catalog (tests build the same thing).

    With ``watch``, a watchdog observer follows the roots and queues a rescan of a root a
    moment after its music changes, so the views stay current while the app is open.
    """
    catalog = Catalog(catalog_path)
    ctx = AppContext(catalog, Settings.load(settings_path), settings_path)
    window = MainWindow(ctx)
    if watch:
        bridge = WatchBridge(window, debounce=debounce)
        window.attach_watcher(bridge)
    return ctx, window


Chooser = Callable[[CatalogError, Path], "tuple[str, Path | None] | None"]


def open_catalog(
    path: Path, settings_path: Path | None = None, *, watch: bool = False, choose: Chooser = ask
) -> tuple[AppContext, MainWindow] | None:
    """:func:`build`, and when the catalog does not open, ask the user (``choose``) what to
    do: restore the newest good backup, open another catalog, or set the damaged one aside
    and start anew. None when they chose to quit."""
    while True:
        try:
            return build(path, settings_path, watch=watch)
        except CatalogError as exc:
            picked = choose(exc, path)
            if picked is None:
                return None
            action, other = picked
            try:
                if action == RESTORE and isinstance(exc, CatalogDamaged) and exc.backup:
                    snapshots.restore(path, exc.backup.path)
                elif action == NEW:
                    snapshots.set_aside(path)
                elif action == OTHER and other is not None:
                    path = other
            except (CatalogError, OSError) as err:
                QMessageBox.critical(None, "Phonovault", plain(str(err)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="phonovault-gui")
    parser.add_argument(
        "--catalog",
        metavar="PATH",
        type=Path,
        help="catalog file (default: $PHONOVAULT_CATALOG or your data folder)",
    )
    args, qt_args = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = QApplication.instance() or QApplication([sys.argv[0], *qt_args])
    assert isinstance(app, QApplication)
    app.setApplicationName("Phonovault")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("phonovault")
    app.setWindowIcon(QIcon(str(resource_path("phonovault.svg"))))
    apply_theme(app)
    opened = open_catalog(args.catalog or default_catalog_path(), watch=True)
    if opened is None:
        return 2
    ctx, window = opened
    window.show()
    code = app.exec()
    ctx.catalog.close()
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
