"""A catalog that does not open: the window says what is wrong in words (no Python reprs, no
command lines) and offers the ways on, each of which works on a real damaged catalog."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from phonovault.core.catalog import Catalog, snapshots
from phonovault.core.library.roots import add_root
from phonovault.gui.app import open_catalog
from phonovault.gui.views.catalog_trouble import NEW, OTHER, RESTORE, CatalogTrouble


def _damaged(tmp_path: Path, *, with_backup: bool) -> Path:
    path = tmp_path / "catalog.sqlite"
    music = tmp_path / "Music"
    music.mkdir()
    with Catalog(path) as cat:
        add_root(cat, music)
    if with_backup:
        snapshots.back_up(path)
    path.write_bytes(b"this is not a catalog at all, it was overwritten" * 50)
    return path


def _texts(dialog: QMessageBox) -> str:
    return " ".join([dialog.text(), dialog.informativeText(), dialog.detailedText()])


@pytest.mark.parametrize("with_backup", [True, False])
def test_the_dialog_speaks_words_and_offers_the_ways_on(
    qtbot, tmp_path: Path, with_backup: bool
) -> None:
    path = _damaged(tmp_path, with_backup=with_backup)
    seen: list[CatalogTrouble] = []

    def choose(error, where):
        dialog = CatalogTrouble(error, where)
        qtbot.addWidget(dialog)
        seen.append(dialog)
        return None  # Quit

    assert open_catalog(path, tmp_path / "s.json", choose=choose) is None
    [dialog] = seen
    words = _texts(dialog)
    assert str(path) in words and "not affected" in words
    assert "b'" not in words and 'b"' not in words  # no Python bytes repr
    assert not re.search(r"phonovault (roots|catalog|scan|verify|accept)|--catalog", words)
    assert (RESTORE in dialog.buttons) == with_backup
    assert OTHER in dialog.buttons and NEW in dialog.buttons
    default = dialog.defaultButton()
    assert default is not None
    assert default.text() == ("Restore the Backup" if with_backup else "Quit")


def test_restore_opens_the_backup_and_keeps_the_damaged_file(qtbot, tmp_path: Path) -> None:
    path = _damaged(tmp_path, with_backup=True)
    damaged = path.read_bytes()
    opened = open_catalog(path, tmp_path / "s.json", choose=lambda e, p: (RESTORE, None))
    assert opened is not None
    ctx, window = opened
    qtbot.addWidget(window)
    assert [r.path for r in ctx.catalog.roots()] == [str(tmp_path / "Music")]
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("catalog.before-restore-")]
    assert [p.read_bytes() for p in kept if p.suffix == ".sqlite"] == [damaged]
    ctx.catalog.close()


def test_start_anew_sets_the_damaged_file_aside(qtbot, tmp_path: Path) -> None:
    path = _damaged(tmp_path, with_backup=False)
    damaged = path.read_bytes()
    opened = open_catalog(path, tmp_path / "s.json", choose=lambda e, p: (NEW, None))
    assert opened is not None
    ctx, window = opened
    qtbot.addWidget(window)
    assert ctx.catalog.roots() == []  # a new, empty catalog at the same path
    [aside] = [p for p in tmp_path.iterdir() if p.name.startswith("catalog.damaged-")]
    assert aside.read_bytes() == damaged
    ctx.catalog.close()


def test_open_another_catalog(qtbot, tmp_path: Path) -> None:
    path = _damaged(tmp_path, with_backup=False)
    other = tmp_path / "other.sqlite"
    with Catalog(other) as cat:
        add_root(cat, tmp_path / "Music")
    opened = open_catalog(path, tmp_path / "s.json", choose=lambda e, p: (OTHER, other))
    assert opened is not None
    ctx, window = opened
    qtbot.addWidget(window)
    assert ctx.catalog.path == other and len(ctx.catalog.roots()) == 1
    assert path.read_bytes().startswith(b"this is not a catalog")  # left as it was
    ctx.catalog.close()
