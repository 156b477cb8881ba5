"""Run one command and measure it: wall time, CPU time, peak memory; drop the page cache.

Each command runs under a tiny wrapper (``python -S -I``, about 7 MB) that forks, execs the
command, ``wait4``s it and reports its wall time, CPU time and ``ru_maxrss``. Peak memory is
taken two ways, because the tools differ in shape:

- ``peak_rss_mb``: the kernel's ``ru_maxrss`` of the command. Linux folds in every descendant
  that was waited for, so it is the peak of the *largest single process* of the command's tree
  (exact, no sampling). For Phonovault, one process, it is the answer. The wrapper exists
  because a process spawned straight from the harness inherits the harness's own high-water
  mark at exec (vfork shares its memory), so every command would report at least the harness's
  size; through the wrapper that floor is the wrapper's ~7 MB (a smaller figure reads "< 8 MB").
- ``tree_mb``: the peak of the *sum* over the live process tree (bitrot forks a worker per core,
  ``xargs`` runs ``sha256sum``), sampled every 50 ms from ``/proc/PID/smaps_rollup`` as PSS
  (shared pages split between the processes that share them, so forked workers are not counted
  twice). A spike shorter than 50 ms can be missed; sampling costs the harness well under 2 % of
  one core.

``RUSAGE_CHILDREN`` of the harness itself would be wrong too: it is the maximum over *all*
children ever reaped, so one big command would shadow every later one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
WRAPPER = """
import json, os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
with open(report, "w") as f:
    json.dump({"seconds": time.perf_counter() - started, "maxrss_kb": ru.ru_maxrss,
               "cpu": ru.ru_utime + ru.ru_stime}, f)
sys.exit(os.waitstatus_to_exitcode(status) & 255)
"""


class MeasureError(Exception):
    """The run could not be measured (its wrapper was killed): not a figure, not a verdict."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One timed run of one command."""

    seconds: float  # wall clock, process start to exit (start-up included)
    cpu_seconds: float  # user + system of the command and its waited-for descendants
    peak_rss_mb: float  # ru_maxrss: the largest single process of the tree
    tree_mb: float  # sampled peak of the tree's summed PSS
    returncode: int
    stdout: str
    stderr: str


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids.extend(int(k) for k in f.read().split())
    except OSError:
        pass
    return kids


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    try:  # no smaps_rollup (old kernel): RSS, which counts shared pages twice
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE // 1024
    except OSError:
        return 0


class _TreeSampler(threading.Thread):
    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            total = 0
            todo = _children(self.pid)  # the wrapper's children: not the wrapper itself
            while todo:
                pid = todo.pop()
                total += _pss_kb(pid)
                todo.extend(_children(pid))
            self.peak_kb = max(self.peak_kb, total)
            self.stop.wait(self.interval)


def measure(argv: list[str], *, log: Path, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> Sample:  # fmt: skip
    """Run ``argv`` to its end and measure it. stdout and stderr go to ``log``.out/.err (files,
    not pipes, so a chatty tool never blocks on a full pipe mid-measurement); the wrapper's
    report to ``log``.rusage."""
    out_path, err_path, report = (Path(f"{log}.{ext}") for ext in ("out", "err", "rusage"))
    wrapped = [sys.executable, "-S", "-I", "-c", WRAPPER, str(report), *argv]
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen(wrapped, cwd=cwd, env=env, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL)  # fmt: skip
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        returncode = proc.wait()
        sampler.stop.set()
        sampler.join()
    try:
        usage = json.loads(report.read_text())
    except (OSError, ValueError) as exc:  # the wrapper itself was killed from outside
        raise MeasureError(f"no report from the wrapper (exit {returncode}): {exc}") from exc
    return Sample(
        seconds=usage["seconds"],
        cpu_seconds=usage["cpu"],
        peak_rss_mb=usage["maxrss_kb"] / 1024,
        tree_mb=(sampler.peak_kb or usage["maxrss_kb"]) / 1024,  # too short to sample
        returncode=returncode,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )


def drop_caches() -> str | None:
    """Empty the page cache (``sync; echo 3 > /proc/sys/vm/drop_caches``). Returns None when
    it worked, else why not (not root, a container's read-only /proc, not Linux)."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError as exc:
        return f"cannot write /proc/sys/vm/drop_caches: {exc.strerror or exc}"
    return None


def read_all(paths: list[Path], threads: int = 8) -> None:
    """Read every byte once, so the page cache holds the files (a warm run's precondition).
    Several readers: 100k small files read one at a time from a cold disk take minutes."""

    def read(path: Path) -> None:
        buf = bytearray(1 << 20)
        with open(path, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(read, paths, chunksize=64))
