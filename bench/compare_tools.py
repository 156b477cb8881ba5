"""The tools the comparison runs, and the exact commands each step runs.

The competitors live in their own venv (``bench/.tools-venv``, pinned, made on first use), so
they never touch Phonovault's environment; their beets is not Phonovault's beets. Every step is
a real command line as a user would type it; ``prepare`` (untimed) sets up the state the step
starts from, ``check`` (untimed) proves the step did the whole job, so a tool that silently
skipped files cannot look fast.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from compare_library import Library, clean_tool_state
from compare_measure import Sample

HERE = Path(__file__).resolve().parent
TOOLS_VENV = HERE / ".tools-venv"
# chkbit on PyPI is the last Python release (4.2.2, "final/obsolete"; the project moved to
# Go and ships no binary through pip). It is what `pip install chkbit` gives; used as is.
PINS = ("bitrot==1.0.1", "chkbit==4.2.2", "beets==2.14.1", "beets-check==0.15.3")


@dataclass(frozen=True, slots=True)
class Step:
    key: str  # stable id: "pv.scan", "bitrot.first", ...
    tool: str
    label: str
    argv: list[str]
    matches: str | None = None  # the Phonovault step it is compared with
    cwd: Path | None = None
    env: dict[str, str] | None = None
    prepare: Callable[[], None] | None = None
    check: Callable[[Sample], str | None] | None = None  # why the run is not valid, or None
    reads_bytes: bool = True  # False: MB/s means nothing (a stat walk, a tag read)


@dataclass(slots=True)
class Ctx:
    lib: Library
    work: Path  # scratch: catalog, beets dir, logs (never inside the library)
    pv: list[str]  # the phonovault command
    pv_workers: int | None
    tools_bin: Path | None  # the tools venv's bin/, None when not installed
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    steps: Callable[[Ctx], list[Step]]
    missing: Callable[[Ctx], str | None]  # why it cannot run here, or None
    cleanup: Callable[[Ctx], None]


# -- the tools venv -------------------------------------------------------------------------


def tools_venv(install: bool, log: Callable[[str], None] = print) -> Path | None:
    """bin/ of the competitors' venv; made (pinned) when ``install`` and missing or stale."""
    stamp = TOOLS_VENV / ".pins"
    if stamp.is_file() and stamp.read_text() == "\n".join(PINS):
        return TOOLS_VENV / "bin"
    if not install:
        return None
    log(f"installing {', '.join(PINS)} into {TOOLS_VENV} (once) ...")
    shutil.rmtree(TOOLS_VENV, ignore_errors=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(TOOLS_VENV)], check=True)
    pip = [str(TOOLS_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
           "--disable-pip-version-check"]  # fmt: skip
    subprocess.run([*pip, *PINS], check=True)
    stamp.write_text("\n".join(PINS))
    return TOOLS_VENV / "bin"


def versions(ctx: Ctx) -> dict[str, str]:
    """Versions of everything that produced a figure."""
    found: dict[str, str] = {"python (harness, Phonovault)": sys.version.split()[0]}
    pv = subprocess.run([*ctx.pv, "--version"], capture_output=True, text=True, check=False)
    found["phonovault"] = (pv.stdout or pv.stderr).strip().split()[-1] if pv.returncode == 0 \
        else "?"  # fmt: skip
    import blake3

    found["blake3 (Phonovault, limit)"] = blake3.__version__
    where = subprocess.run([str(Path(ctx.pv[0]).parent / "python"), "-c",
                            "import phonovault.core as m; print(m.__file__)"],
                           capture_output=True, text=True, check=False)  # fmt: skip
    found["phonovault measured from"] = where.stdout.strip()
    git = ["git", "-C", str(HERE.parent)]
    head = subprocess.run([*git, "describe", "--always", "--dirty"], capture_output=True,
                          text=True, check=False)  # fmt: skip
    found["repository (bench/ checkout)"] = head.stdout.strip() or "not a git checkout"
    sha = subprocess.run(["sha256sum", "--version"], capture_output=True, text=True, check=False)
    found["sha256sum"] = sha.stdout.splitlines()[0] if sha.returncode == 0 else "not found"
    if ctx.tools_bin is not None:
        py = ctx.tools_bin / "python"
        freeze = subprocess.run([str(py), "-m", "pip", "list", "--format=json"],
                                capture_output=True, text=True, check=True).stdout  # fmt: skip
        pkgs = {p["name"].lower(): p["version"] for p in json.loads(freeze)}
        for name in ("bitrot", "chkbit", "beets", "beets-check", "blake3", "mediafile",
                     "mutagen"):  # fmt: skip
            found[f"{name} (tools venv)"] = pkgs.get(name, "missing")
        ver = subprocess.run([str(py), "-V"], capture_output=True, text=True, check=False)
        found["python (tools venv)"] = ver.stdout.split()[-1]
    return found


# -- Phonovault -----------------------------------------------------------------------------


def _pv_steps(ctx: Ctx) -> list[Step]:
    catalog = ctx.work / "pv-catalog.sqlite"
    base = [*ctx.pv, "--catalog", str(catalog)]
    workers = ["--workers", str(ctx.pv_workers)] if ctx.pv_workers else []
    n = len(ctx.lib.files)

    def fresh() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{catalog}{suffix}").unlink(missing_ok=True)
        subprocess.run([*base, "roots", "add", str(ctx.lib.root)], env=ctx.env, check=True,
                       capture_output=True)  # fmt: skip

    def scan_check(field_: str) -> Callable[[Sample], str | None]:
        def check(s: Sample) -> str | None:
            doc = json.loads(s.stdout)
            ok = doc.get(field_) == n and not doc.get("failed")
            return None if ok else f"expected {n} {field_}: {_brief(doc)}"

        return check

    def verify_check(s: Sample) -> str | None:
        m = re.search(r"verified (\d+) files in [\d.]+ s: (\d+) ok$", s.stdout.strip())
        return None if m and int(m[1]) == int(m[2]) == n else f"not all ok: {s.stdout[-300:]}"

    return [
        Step("pv.scan", "Phonovault", "first scan (tags + file & audio hash)",
             [*base, "--json", "scan", *workers], env=ctx.env, prepare=fresh,
             check=scan_check("indexed")),
        Step("pv.rescan", "Phonovault", "no-change rescan", [*base, "--json", "scan", *workers],
             env=ctx.env, check=scan_check("unchanged"), reads_bytes=False),
        Step("pv.verify", "Phonovault", "full verify", [*base, "verify", *workers], env=ctx.env,
             check=verify_check),
    ]  # fmt: skip


def _pv_cleanup(ctx: Ctx) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{ctx.work / 'pv-catalog.sqlite'}{suffix}").unlink(missing_ok=True)


# -- bitrot ---------------------------------------------------------------------------------


def _bitrot_steps(ctx: Ctx) -> list[Step]:
    assert ctx.tools_bin is not None
    root, n = ctx.lib.root, len(ctx.lib.files)
    argv = [str(ctx.tools_bin / "bitrot"), "-q"]

    def check(s: Sample) -> str | None:
        with sqlite3.connect(root / ".bitrot.db") as db:
            rows = db.execute("SELECT COUNT(*) FROM bitrot").fetchone()[0]
        return None if s.returncode == 0 and rows == n else f"rc {s.returncode}, {rows} rows"

    return [
        Step("bitrot.first", "bitrot", "first run (SHA-1 of every file)", argv, "pv.scan",
             cwd=root, env=ctx.env, prepare=lambda: clean_tool_state(root), check=check),
        Step("bitrot.recheck", "bitrot", "re-check (second run)", argv, "pv.verify", cwd=root,
             env=ctx.env, check=check),
    ]  # fmt: skip


# -- chkbit ---------------------------------------------------------------------------------


def _chkbit_steps(ctx: Ctx) -> list[Step]:
    assert ctx.tools_bin is not None
    root, n = ctx.lib.root, len(ctx.lib.files)
    exe = str(ctx.tools_bin / "chkbit")

    def check(s: Sample) -> str | None:
        indexed = 0
        for folder, _, names in os.walk(root):
            if ".chkbit" in names:
                indexed += len(json.loads(Path(folder, ".chkbit").read_text())["idx"])
        return None if s.returncode == 0 and indexed == n else (
            f"rc {s.returncode}, {indexed} files indexed: {s.stderr[-300:]}")  # fmt: skip

    return [
        Step("chkbit.init", "chkbit", "init (chkbit -u; BLAKE3)", [exe, "-u", "-q", str(root)],
             "pv.scan", env=ctx.env, prepare=lambda: clean_tool_state(root), check=check),
        Step("chkbit.check", "chkbit", "check (read-only verify)", [exe, "-q", str(root)],
             "pv.verify", env=ctx.env, check=check),
    ]  # fmt: skip


# -- beets + beets-check --------------------------------------------------------------------

BEETS_CONFIG = """\
directory: {root}
library: {beetsdir}/library.db
plugins: [check]
import:
  copy: no
  move: no
  write: no
  autotag: no
  quiet: yes
  resume: no
  incremental: no
  log:
check:
  import: no       # import stays tags-only; checksums are `beet check -a`'s job
  integrity: no    # no external flac/mp3val decode runs: checksums only, like the others
"""


def _beets_steps(ctx: Ctx) -> list[Step]:
    assert ctx.tools_bin is not None
    beetsdir, n = ctx.work / "beets", len(ctx.lib.files)
    env = {**ctx.env, "BEETSDIR": str(beetsdir)}
    beet = str(ctx.tools_bin / "beet")
    # beets 2.14 stores paths relative to the music directory and resolves them through a
    # context variable, which beets-check 0.15.3's worker threads do not inherit: they open
    # the relative path. Run from the library root so it resolves (no effect on the timing).
    cwd = ctx.lib.root

    def fresh() -> None:
        shutil.rmtree(beetsdir, ignore_errors=True)
        beetsdir.mkdir(parents=True)
        config = BEETS_CONFIG.format(root=json.dumps(str(ctx.lib.root)), beetsdir=beetsdir)
        (beetsdir / "config.yaml").write_text(config)

    def count(sql: str) -> int:
        with sqlite3.connect(beetsdir / "library.db") as db:
            return int(db.execute(sql).fetchone()[0])

    def imported(s: Sample) -> str | None:
        items = count("SELECT COUNT(*) FROM items")
        return None if s.returncode == 0 and items == n else (
            f"rc {s.returncode}, {items} items: {s.stderr[-300:]}")  # fmt: skip

    def summed(s: Sample) -> str | None:
        sums = count("SELECT COUNT(*) FROM item_attributes WHERE key = 'checksum'")
        return None if s.returncode == 0 and sums == n else (
            f"rc {s.returncode}, {sums} checksums: {s.stderr[-300:]}")  # fmt: skip

    def verified(s: Sample) -> str | None:
        return None if s.returncode == 0 else f"rc {s.returncode}: {s.stderr[-300:]}"

    return [
        Step("beets.import", "beets", "beet import -A -C -W -q (tags only)",
             [beet, "import", "-A", "-C", "-W", "-q", str(ctx.lib.root)], "pv.scan", cwd=cwd,
             env=env, prepare=fresh, check=imported, reads_bytes=False),
        Step("beets.add", "beets-check", "beet check -a (SHA-256 of every file)",
             [beet, "check", "-a"], "pv.scan", cwd=cwd, env=env, check=summed),
        Step("beets.verify", "beets-check", "beet check (verify)", [beet, "check"],
             "pv.verify", cwd=cwd, env=env, check=verified),
    ]  # fmt: skip


# -- sha256sum and the read + BLAKE3 limit --------------------------------------------------


def _sha256sum_steps(ctx: Ctx) -> list[Step]:
    n = len(ctx.lib.files)
    script = 'find "$1" -type f ! -name ".*" -print0 | xargs -0 sha256sum'

    def check(s: Sample) -> str | None:
        lines = s.stdout.count("\n")
        return None if s.returncode == 0 and lines == n else f"rc {s.returncode}, {lines} sums"

    return [Step("sha256sum", "sha256sum", "find | xargs -0 sha256sum",
                 ["sh", "-c", script, "sh", str(ctx.lib.root)], "pv.verify", env=ctx.env,
                 check=check)]  # fmt: skip


def _limit_steps(ctx: Ctx) -> list[Step]:
    n = len(ctx.lib.files)
    threads = os.cpu_count() or 1

    def check(s: Sample) -> str | None:
        doc = json.loads(s.stdout)
        return None if doc["files"] == n else f"{doc['files']} files read"

    script = str(HERE / "read_limit.py")
    steps = [Step("limit.1", "limit", "read + BLAKE3, 1 thread",
                  [sys.executable, script, "--threads", "1", str(ctx.lib.root)], "pv.verify",
                  env=ctx.env, check=check)]  # fmt: skip
    if threads > 1:
        steps.append(Step(f"limit.{threads}", "limit", f"read + BLAKE3, {threads} threads",
                          [sys.executable, script, "--threads", str(threads),
                           str(ctx.lib.root)], "pv.verify", env=ctx.env, check=check))  # fmt: skip
    return steps


def _needs_tools(ctx: Ctx) -> str | None:
    return None if ctx.tools_bin is not None else "not installed (--install-tools)"


def _noop(ctx: Ctx) -> None:
    pass


def _clean_library(ctx: Ctx) -> None:
    clean_tool_state(ctx.lib.root)


TOOLS = (
    Tool("phonovault", _pv_steps, lambda ctx: None, _pv_cleanup),
    Tool("bitrot", _bitrot_steps, _needs_tools, _clean_library),
    Tool("chkbit", _chkbit_steps, _needs_tools, _clean_library),
    Tool("beets", _beets_steps, _needs_tools,
         lambda ctx: shutil.rmtree(ctx.work / "beets", ignore_errors=True)),
    Tool("sha256sum", _sha256sum_steps,
         lambda ctx: None if shutil.which("sha256sum") else "sha256sum not found", _noop),
    Tool("limit", _limit_steps, lambda ctx: None, _noop),
)  # fmt: skip


def _brief(doc: dict[str, object]) -> str:
    return json.dumps({k: doc.get(k) for k in ("indexed", "unchanged", "updated", "failed")})
