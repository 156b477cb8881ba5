"""Starting worker processes that run only Phonovault's code.

Reading (:mod:`phonovault.core.fixity.readpool`) and decode checks
(:mod:`phonovault.core.integrity.checks`)
run in *spawned* processes: never forked, because the GUI starts them from a thread beside
Qt. A spawned child normally begins by re-running the parent's main script (or module), so
that functions defined there can be unpickled. Ours need nothing from it, and re-running it
costs or harms: ``phonovault-gui``'s script would import Qt into every worker, a script that
calls :func:`phonovault.core.fixity.scan.scan` without an ``if __name__ == "__main__"`` guard would
run its top level again in every worker, and ``python -`` has no file to re-run (the worker
dies at start). :func:`without_main` hides the main module while processes start.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.context import SpawnContext

_swap = threading.Lock()


def spawn_context() -> SpawnContext:
    return multiprocessing.get_context("spawn")


@contextmanager
def without_main() -> Iterator[None]:
    """While this is open, processes started by ``spawn_context()`` do not re-run the
    parent's main module: multiprocessing sees a bare stand-in with no file and no module
    name, and sends the child nothing to run. Hold it only around starting processes."""
    with _swap:
        main = sys.modules.get("__main__")  # an embedding application may have none
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if main is None:
                del sys.modules["__main__"]
            else:
                sys.modules["__main__"] = main
