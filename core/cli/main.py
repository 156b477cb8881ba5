"""The ``phonovault`` command line: the same core calls the GUI makes, for scripts and people.

Exit codes: 0 all is well, 1 there are findings, 2 an error (bad arguments, catalog trouble).
``--json`` prints exactly one JSON document on stdout; progress goes to stderr, and only
when stderr is a terminal.
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys
import time
import traceback
from collections.abc import Sequence
from typing import TextIO

from phonovault.core import __version__
from phonovault.core.catalog import Catalog
from phonovault.core.cli import (
    backups,
    beets,
    catalog,
    check,
    library,
    manifests,
    repair,
    report,
    review,
)
from phonovault.core.cli.output import EXIT_ERROR, EXIT_OK, Out, printable
from phonovault.core.config import default_catalog_path
from phonovault.core.errors import PhonovaultError

log = logging.getLogger("phonovault")
# Each command group registers its own subcommands, in the order --help lists them.
COMMAND_GROUPS = (library, review, check, beets, manifests, backups, repair, report, catalog)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--catalog",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="catalog file (default: $PHONOVAULT_CATALOG or the one in your data folder)",
    )
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print one JSON document on stdout",
    )
    parser = argparse.ArgumentParser(
        prog="phonovault",
        parents=[common],
        description="Keep your own music collection safe: catalog, checksums, verification.",
    )
    parser.add_argument("--version", action="version", version=f"phonovault {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in COMMAND_GROUPS:
        group.add_parsers(sub, common)
    return parser


def main(
    argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Entry point of the ``phonovault`` command; returns the exit code."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed usage
        return EXIT_ERROR if exc.code else EXIT_OK
    as_json = getattr(args, "json", False)
    colour = stdout.isatty() and not as_json and "NO_COLOR" not in os.environ
    out = Out(stdout, stderr, as_json, colour)
    path = getattr(args, "catalog", None) or default_catalog_path()
    # Only registering a root starts a catalog: a mistyped --catalog must not quietly
    # open an empty one and report that all is well.
    create = args.command == "roots" and args.action == "add"
    try:
        check_args = getattr(args, "check_args", None)
        if check_args is not None:  # bad arguments are refused before any file is made
            check_args(args)
        if getattr(args, "catalog_free", False):  # 'catalog ...' also works on a damaged one
            return int(args.func(args, path, out))
        with Catalog(path, create=create) as opened:
            return int(args.func(args, opened, out))
    except PhonovaultError as exc:
        return _fail(out, str(exc))
    except sqlite3.Error as exc:  # locked, full disk, damaged pages: catalog trouble
        return _fail(out, f"catalog error in {path}: {exc}")
    except KeyboardInterrupt:
        return _fail(out, "interrupted")
    except Exception:  # a bug: say so plainly, keep the traceback for the report
        log_path = _log_crash()
        return _fail(out, f"internal error (a bug); details in {log_path}")


def _fail(out: Out, message: str) -> int:
    """Errors go to stderr as a sentence; with --json, stdout still gets its one document."""
    print(f"phonovault: error: {printable(message)}", file=out.err)
    if out.json:
        out.dump({"error": message})
    return EXIT_ERROR


def _log_crash() -> str:
    import platformdirs

    folder = platformdirs.user_state_dir("phonovault", appauthor=False)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "crash.log")
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"--- {time.ctime()} phonovault {__version__}\n{traceback.format_exc()}\n")
    return path
