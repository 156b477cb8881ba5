"""Subcommands of ``phonovault`` (registered by :func:`add_parsers`). Being written."""

from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    """Add this module's subcommands to the ``phonovault`` parser."""
