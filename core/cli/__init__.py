"""The command line, the scriptable face of the core: ``main`` builds the parser and runs a
command; one module per command group. Nothing else in the core imports it."""

from phonovault.core.cli.main import main

__all__ = ["main"]
