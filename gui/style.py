"""Icons, state colours and the light/dark palette, in one place for every view."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette

# Colours chosen to read on both light and dark backgrounds.
STATE_COLORS = {
    "ok": "#2e9d5b",
    "tags-changed": "#3b82c4",
    "moved": "#3b82c4",
    "audio-changed": "#e08a00",
    "corrupt": "#d13b3b",
    "missing": "#d13b3b",
    "unreadable": "#a32020",
    "offline": "#8a8f98",
}
SEVERITY_COLORS = {"error": "#d13b3b", "warning": "#e08a00", "info": "#3b82c4"}
# Worst first: an album's state is the worst of its tracks'.
STATE_RANK = ("corrupt", "missing", "unreadable", "audio-changed", "offline", "moved",
              "tags-changed", "ok")  # fmt: skip
STATE_LABELS = {
    "ok": "OK",
    "tags-changed": "Tags changed",
    "moved": "Moved",
    "audio-changed": "Audio changed",
    "corrupt": "Corrupt",
    "missing": "Missing",
    "unreadable": "Unreadable",
    "offline": "Offline",
}


def resource_path(name: str) -> Path:
    """A file shipped in ``phonovault.resources`` (e.g. ``"icons/scan.svg"``)."""
    return Path(str(files("phonovault.resources").joinpath(name)))


@cache
def icon(name: str) -> QIcon:
    """An SVG icon from ``resources/icons`` by name (``"scan"``, ``"state-ok"``, ...)."""
    return QIcon(str(resource_path(f"icons/{name}.svg")))


def state_icon(state: str) -> QIcon:
    return icon(f"state-{state}" if state in STATE_COLORS else "state-offline")


def severity_icon(severity: str) -> QIcon:
    return icon(f"severity-{severity}")


@cache
def state_color(state: str) -> QColor:
    return QColor(STATE_COLORS.get(state, "#8a8f98"))


def worst_state(states: str | list[str]) -> str:
    """The most alarming of several states (``states`` may be comma-separated)."""
    items = states.split(",") if isinstance(states, str) else states
    present = {s.strip() for s in items if s}
    return next((s for s in STATE_RANK if s in present), "ok")


def is_dark() -> bool:
    """Whether the system (or the current palette) is dark."""
    hints = QGuiApplication.styleHints()
    scheme = hints.colorScheme() if hints is not None else Qt.ColorScheme.Unknown
    if scheme != Qt.ColorScheme.Unknown:
        return scheme == Qt.ColorScheme.Dark
    window = QGuiApplication.palette().color(QPalette.ColorRole.Window)
    return window.lightness() < 128


def apply_theme(app: QGuiApplication) -> None:
    """Follow the system's light or dark scheme. Fusion renders both faithfully on every
    platform; Qt switches its palette itself when the system scheme changes."""
    from PySide6.QtWidgets import QApplication

    if isinstance(app, QApplication):
        app.setStyle("Fusion")


# The offline banner: the loudest thing in the window, so amber (a warning), in both schemes.
BANNER_COLORS = {
    # (background, border, text)
    False: ("#fff3d6", "#e08a00", "#3d2800"),
    True: ("#4a3304", "#e0a030", "#ffe8b8"),
}


def banner_style(object_name: str) -> str:
    """The style sheet of a warning banner (a QFrame named ``object_name``) for the current
    scheme; its labels take the banner's text colour, its buttons stay as they are."""
    background, border, text = BANNER_COLORS[is_dark()]
    return (
        f"QFrame#{object_name} {{ background: {background}; border: 1px solid {border}; "
        f"border-radius: 4px; }}"
        f"QFrame#{object_name} QLabel {{ color: {text}; background: transparent; "
        f"border: none; }}"
    )
