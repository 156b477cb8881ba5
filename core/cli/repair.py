"""Repair on the command line: ``repair plan`` (a dry run) and ``repair apply --yes``.

The same calls the GUI makes (:mod:`phonovault.core.backups.repair`); this module only parses
arguments and prints. Exit 1 when something is unrepairable, skipped, failed or unverified
(written, but re-reading it afterwards failed).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from phonovault.core.backups.repair import RepairPlan, RepairReport, apply, plan
from phonovault.core.catalog import Catalog
from phonovault.core.cli.output import EXIT_FINDINGS, EXIT_OK, Out, ProgressBar, interruptible
from phonovault.core.errors import BackupError


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    """Add ``repair plan`` and ``repair apply`` to the ``phonovault`` parser."""
    p = sub.add_parser("repair", parents=[common], help="heal files and copies from good ones")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, text in (("plan", "what would be repaired (writes nothing)"),
                       ("apply", "carry out the plan (needs --yes)")):  # fmt: skip
        a = actions.add_parser(name, parents=[common], help=text)
        a.add_argument("--target", metavar="T", help="only this backup target")
        a.add_argument("--include-new", action="store_true",
                       help="also copy never-backed-up files to the target(s)")  # fmt: skip
        if name == "apply":
            a.add_argument("--yes", action="store_true", help="confirm: write the files")
            a.add_argument("--quarantine", metavar="DIR", help="where replaced bytes go")
        a.set_defaults(func=cmd_plan if name == "plan" else cmd_apply)


def _plan(args: argparse.Namespace, catalog: Catalog) -> RepairPlan:
    if args.target and catalog.target_by_path(os.path.realpath(args.target)) is None:
        raise BackupError(f"{args.target} is not a registered backup (see 'backups list')")
    return plan(catalog, target=args.target, include_new=args.include_new)


def _plan_doc(p: RepairPlan) -> dict[str, Any]:
    return {
        "actions": [{"kind": a.kind, "dest": a.dest, "source": a.source, "why": a.why,
                     "file_hash": a.file_hash} for a in p.actions],
        "unrepairable": [{"path": u.path, "reason": u.reason} for u in p.unrepairable],
    }  # fmt: skip


def _print_plan(p: RepairPlan, out: Out) -> None:
    for a in p.actions:
        out.line(f"{a.kind:8} {a.dest}")
        out.line(f"         from {a.source} ({a.why})")
    for u in p.unrepairable:
        out.line(f"{out.paint('cannot', 'error')}   {u.path}: {u.reason}")
    out.line(f"{len(p.actions)} action(s), {len(p.unrepairable)} unrepairable")


def cmd_plan(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    p = _plan(args, catalog)
    if out.json:
        out.dump(_plan_doc(p))
    else:
        _print_plan(p, out)
    return EXIT_FINDINGS if p.unrepairable else EXIT_OK


def cmd_apply(args: argparse.Namespace, catalog: Catalog, out: Out) -> int:
    p = _plan(args, catalog)
    if not args.yes:
        if out.json:
            out.dump({**_plan_doc(p), "applied": False})
        else:
            _print_plan(p, out)
        print(f"nothing written: add --yes to write these {len(p.actions)} files", file=out.err)
        return EXIT_FINDINGS
    with ProgressBar(out.err) as bar:
        report = apply(catalog, p, quarantine_dir=args.quarantine, progress=bar,
                       cancel=interruptible())  # fmt: skip
    if out.json:
        results = [{"kind": o.action.kind, "dest": o.action.dest, "result": o.result,
                    "written": o.written, "reason": o.reason, "quarantined": o.quarantined}
                   for o in report.outcomes]  # fmt: skip
        out.dump({**_plan_doc(p), "applied": True, "quarantine": report.quarantine_dir,
                  "results": results, "cleaned": report.cleaned,
                  "in_use": report.in_use})  # fmt: skip
    else:
        _print_report(p, report, out)
    return EXIT_OK if report.ok and not p.unrepairable else EXIT_FINDINGS


def _print_report(p: RepairPlan, report: RepairReport, out: Out) -> None:
    for path in report.cleaned:
        out.line(f"removed  {path} (left behind by an interrupted repair)")
    for path in report.in_use:
        out.line(f"{out.paint('in use', 'warning')}   {path} (another repair is writing it?)")
    for o in report.outcomes:
        state = {"done": "ok", "skipped": "warning", "failed": "error"}.get(o.result, "warning")
        line = f"{out.paint(o.result, state):8} {o.action.kind} {o.action.dest}"
        out.line(line + (f": {o.reason}" if o.reason else ""))
        if o.quarantined:
            out.line(f"         replaced bytes kept in {o.quarantined}")
    for u in p.unrepairable:
        out.line(f"{out.paint('cannot', 'error')}   {u.path}: {u.reason}")
    unverified = report.count("unverified")
    out.line(f"{report.count('done')} done, {report.count('skipped')} skipped, "
             f"{report.count('failed')} failed, "
             + (f"{unverified} written but unverified, " if unverified else "")
             + f"{len(p.unrepairable)} unrepairable"
             + (" - cancelled" if report.cancelled else ""))  # fmt: skip
