"""Every shipped icon renders (a broken SVG silently shows no icon at all)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from PySide6.QtSvg import QSvgRenderer

from phonovault.gui.style import STATE_COLORS, icon, state_icon


def test_every_svg_is_valid(qapp) -> None:
    folder = Path(str(files("phonovault.resources")))
    svgs = sorted(folder.rglob("*.svg"))
    assert len(svgs) > 20
    broken = [p.name for p in svgs if not QSvgRenderer(str(p)).isValid()]
    assert broken == []


def test_state_icons_exist_for_every_state(qapp) -> None:
    for state in STATE_COLORS:
        assert not state_icon(state).pixmap(16, 16).isNull(), state
    assert not icon("scan").pixmap(24, 24).isNull()


def test_desktop_file_names_the_gui_entry_point() -> None:
    desktop = Path(str(files("phonovault.resources").joinpath("phonovault.desktop")))
    text = desktop.read_text(encoding="utf-8")
    assert "Exec=phonovault-gui" in text and "Type=Application" in text
