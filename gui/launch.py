"""The ``phonovault-gui`` command, kept free of Qt imports.

Reading and decoding run in spawned worker processes, and a spawned child first re-runs the
parent's main script, which imports this module. Importing the GUI here would cost every
worker Qt's start-up (about 0.75 s and tens of MB); the window is imported when it is run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

# Qt platforms that need no display server.
_HEADLESS = {"offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay"}


def no_display() -> bool:
    """Whether Qt would find no display to open a window on: on Linux and the BSDs, no X11
    or Wayland display in the environment and no display-free platform asked for. (Qt would
    otherwise abort inside its xcb plugin with a message about plugins, not displays.)"""
    if sys.platform in ("win32", "darwin"):
        return False
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if platform in _HEADLESS:
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: Sequence[str] | None = None) -> int:
    if no_display():
        print("phonovault-gui: no display found (no DISPLAY or WAYLAND_DISPLAY); the "
              "'phonovault' command works without one", file=sys.stderr)  # fmt: skip
        return 2
    from phonovault.gui.app import main as run_app

    return run_app(argv)
