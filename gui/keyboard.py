"""Keyboard behaviour the window adds to its pages: Esc in a filter, and context menus from
the keyboard (Shift+F10, the Menu key).

Esc is the window's *Cancel Job* shortcut. A shortcut wins over the focused widget unless the
widget claims the key first (a ``ShortcutOverride`` it accepts), so a filter field with text
claims Esc and clears itself: the job goes on. An empty filter leaves Esc to the window.

Qt turns the Menu key into a context menu event only on some platforms, and Shift+F10 on none
of the Linux ones; both are window shortcuts here that send the focused widget the
same ``QContextMenuEvent`` (reason Keyboard) a right-click would, at its current item, so each
view's own menu (``customContextMenuRequested`` or ``contextMenuEvent``) opens unchanged.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QContextMenuEvent, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractItemView, QApplication, QLineEdit, QWidget

CONTEXT_MENU_KEYS = ("Shift+F10", "Menu")


class ClearOnEscape(QObject):
    """Event filter for filter fields: Esc clears one that has text, and goes no further."""

    def watch(self, edit: QLineEdit) -> None:
        edit.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            return False
        if not isinstance(watched, QLineEdit) or not isinstance(event, QKeyEvent):
            return False
        plain_escape = (
            event.key() == Qt.Key.Key_Escape and event.modifiers() == Qt.KeyboardModifier.NoModifier
        )
        if not plain_escape or watched.isReadOnly() or not watched.text():
            return False
        if kind == QEvent.Type.KeyPress:
            watched.clear()
        event.accept()  # an accepted ShortcutOverride keeps Esc from the window's shortcut
        return True


def menu_position(widget: QWidget) -> tuple[QWidget, QPoint]:
    """Where a keyboard context menu of ``widget`` belongs: an item view's current item (in
    viewport coordinates, as a right-click reports it), else the widget's middle. Returns the
    widget the point is relative to, and the point."""
    if isinstance(widget, QAbstractItemView):
        viewport = widget.viewport()
        rect = widget.visualRect(widget.currentIndex()).intersected(viewport.rect())
        return viewport, rect.center() if rect.isValid() else viewport.rect().center()
    return widget, widget.rect().center()


def open_context_menu(widget: QWidget) -> None:
    """Send ``widget`` the context menu event a right-click on its current item would."""
    relative_to, pos = menu_position(widget)
    event = QContextMenuEvent(
        QContextMenuEvent.Reason.Keyboard,
        pos,
        relative_to.mapToGlobal(pos),
        QApplication.keyboardModifiers(),
    )
    QApplication.sendEvent(widget, event)  # ignored events travel up to the parents


class KeyboardContextMenu(QObject):
    """Shift+F10 and the Menu key open the context menu of the focused widget in ``window``."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        self.shortcuts: list[QShortcut] = []
        for keys in CONTEXT_MENU_KEYS:
            shortcut = QShortcut(QKeySequence(keys), window)
            shortcut.activated.connect(self.open)
            self.shortcuts.append(shortcut)

    def open(self) -> None:
        widget = QApplication.focusWidget()
        if widget is not None and widget.window() is self._window:
            open_context_menu(widget)
