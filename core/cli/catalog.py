"""The catalog itself on the command line: ``catalog backups``, ``catalog backup``,
``catalog check`` and ``catalog restore BACKUP``.

These work on the catalog *file* (:mod:`phonovault.core.catalog.guard`), so that they also
work when it is damaged and cannot be opened: each command is marked ``catalog_free`` and
``cli.main`` hands it the catalog's path instead of an open :class:`Catalog`. (Handed an
open one, they use its path; ``restore`` closes it first.) Exit codes follow
:mod:`phonovault.core.cli`: 1 when ``check`` finds damage, 2 for an error.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import TypeAlias

from phonovault.core.catalog import Catalog
from phonovault.core.catalog import guard as catalog_guard
from phonovault.core.cli.output import EXIT_FINDINGS, EXIT_OK, Out
from phonovault.core.errors import CatalogError
from phonovault.core.jobs import format_size

CatalogArg: TypeAlias = Catalog | str | os.PathLike[str]


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    """Add ``catalog backups|backup|check|restore`` to the ``phonovault`` parser."""
    p = sub.add_parser("catalog", parents=[common], help="the catalog's backups, check, restore")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    a = actions.add_parser("backups", parents=[common], help="list the catalog's backups")
    a.set_defaults(func=cmd_backups, catalog_free=True)
    a = actions.add_parser("backup", parents=[common], help="back the catalog up now")
    a.set_defaults(func=cmd_backup, catalog_free=True)
    a = actions.add_parser("check", parents=[common], help="check the catalog file for damage")
    a.add_argument("--full", action="store_true", help="integrity_check (slower, finds more)")
    a.set_defaults(func=cmd_check, catalog_free=True)
    a = actions.add_parser(
        "restore", parents=[common], help="put a backup in the catalog's place (moves it aside)"
    )
    a.add_argument("backup", metavar="BACKUP", help="a backup's path or its name in backups/")
    a.set_defaults(func=cmd_restore, catalog_free=True)


def _path(catalog: CatalogArg) -> Path:
    return Path(os.path.abspath(catalog.path if isinstance(catalog, Catalog) else catalog))


def when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def cmd_backups(args: argparse.Namespace, catalog: CatalogArg, out: Out) -> int:
    path = _path(catalog)
    backups = catalog_guard.list_backups(path)
    folder = catalog_guard.backups_dir(path)
    if out.json:
        out.dump({"catalog": str(path), "folder": str(folder), "keep": catalog_guard.KEEP,
                  "backups": [{"path": str(b.path), "taken": b.taken, "size": b.size}
                              for b in backups]})  # fmt: skip
        return EXIT_OK
    if not backups:
        out.line(f"no backups of {path} yet (they are made in {folder} at most once a day "
                 "when the catalog changed, or with 'phonovault catalog backup')")  # fmt: skip
        return EXIT_OK
    out.line(f"backups of {path} (newest first; the newest {catalog_guard.KEEP} are kept):")
    for b in backups:
        out.line(f"  {when(b.taken)}  {format_size(b.size):>9}  {b.path}")
    return EXIT_OK


def cmd_backup(args: argparse.Namespace, catalog: CatalogArg, out: Out) -> int:
    path = _path(catalog)
    if not path.exists():
        raise CatalogError(f"no catalog at {path}")
    backup = catalog_guard.back_up(path)
    if out.json:
        out.dump({"backup": str(backup.path), "taken": backup.taken, "size": backup.size})
    else:
        out.line(f"backed up {path} to {backup.path} ({format_size(backup.size)}, checked)")
    return EXIT_OK


def cmd_check(args: argparse.Namespace, catalog: CatalogArg, out: Out) -> int:
    path = _path(catalog)
    problem = catalog_guard.check_catalog(path, full=args.full)
    if problem is None:
        if out.json:
            out.dump({"catalog": str(path), "ok": True})
        else:
            out.line(f"{path}: {out.paint('ok', 'ok')}")
        return EXIT_OK
    backup = catalog_guard.newest_good_backup(path)
    advice = catalog_guard.advice(path, backup)
    if out.json:
        out.dump({"catalog": str(path), "ok": False, "problem": problem, "advice": advice,
                  "backup": str(backup.path) if backup else None})  # fmt: skip
    else:
        out.line(f"{path}: {out.paint('damaged', 'error')}: {problem}")
        out.line(advice)
    return EXIT_FINDINGS


def cmd_restore(args: argparse.Namespace, catalog: CatalogArg, out: Out) -> int:
    if isinstance(catalog, Catalog):
        catalog.close()  # its connection must not outlive the file it was opened on
    path = _path(catalog)
    done = catalog_guard.restore(path, args.backup)
    taken = next((b.taken for b in catalog_guard.list_backups(path) if b.path == done.backup),
                 done.backup.stat().st_mtime)  # fmt: skip
    if out.json:
        out.dump({"restored": str(done.catalog), "from": str(done.backup), "taken": taken,
                  "moved_aside": [str(p) for p in done.moved_aside]})  # fmt: skip
        return EXIT_OK
    out.line(f"restored {done.catalog} from {done.backup} (made {when(taken)})")
    if done.moved_aside:
        extra = ", ".join(p.name[len(done.moved_aside[0].name) :] for p in done.moved_aside[1:])
        out.line(f"the catalog it replaced is kept as {done.moved_aside[0]}"
                 + (f" (with its {extra})" if extra else ""))  # fmt: skip
    out.line("What happened after the backup was made (scans, verify results, repair journal) "
             "is not in the restored catalog; run 'phonovault scan' and 'phonovault verify' "
             "to bring it up to date.")  # fmt: skip
    return EXIT_OK
