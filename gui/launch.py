"""The ``phonovault-gui`` command, kept free of Qt imports.

Reading and decoding run in spawned worker processes, and a spawned child first re-runs the
parent's main script, which imports this module. Importing the GUI here would cost every
worker Qt's start-up (about 0.75 s and tens of MB); the window is imported when it is run.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from phonovault.gui.app import main as run_app

    return run_app(argv)
