"""What the figures were measured on, and the GUI figures from bench/gui_bench.py."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def machine_info(out: Path) -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in _lines("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())  # fmt: skip
    mem = next((int(line.split()[1]) for line in _lines("/proc/meminfo")
                if line.startswith("MemTotal:")), 0)  # fmt: skip
    distro = next((line.split("=", 1)[1].strip('"') for line in _lines("/etc/os-release")
                   if line.startswith("PRETTY_NAME=")), platform.platform())  # fmt: skip
    return {
        "cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(mem / 2**20, 1),
        "os": distro, "kernel": platform.release(), "python": platform.python_version(),
        "storage": storage(out), "loadavg": os.getloadavg(),
        "virtualized": _virt(), "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }  # fmt: skip


def storage(path: Path) -> dict[str, Any]:
    """File system and device under ``path``, and whether the disk spins."""
    real = os.path.realpath(path)
    best = ("", "", "")
    for line in _lines("/proc/mounts"):
        dev, mnt, fstype = line.split()[:3]
        if (real == mnt or real.startswith(mnt.rstrip("/") + "/")) and len(mnt) > len(best[1]):
            best = (dev, mnt, fstype)
    dev, mnt, fstype = best
    name = re.sub(r"p?\d+$", "", os.path.basename(dev)) if dev.startswith("/dev/") else ""
    rot = _lines(f"/sys/block/{name}/queue/rotational")
    st = os.statvfs(real)
    return {"device": dev, "mount": mnt, "fs": fstype,
            "rotational": rot[0].strip() == "1" if rot else None,
            "free_gb": round(st.f_bavail * st.f_frsize / 1e9, 1)}  # fmt: skip


def _virt() -> str | None:
    flags = next((line for line in _lines("/proc/cpuinfo") if line.startswith("flags")), "")
    if "hypervisor" not in flags:
        return None
    vendor = _lines("/sys/class/dmi/id/sys_vendor")
    return vendor[0].strip() if vendor else "yes"


def _lines(path: str) -> list[str]:
    try:
        with open(path) as f:
            return f.read().splitlines()
    except OSError:
        return []


def gui_figures(python: str, small: bool, log: Callable[[str], None]) -> dict[str, Any]:
    """Run bench/gui_bench.py (its --small with --small) and keep every figure it prints."""
    argv = [python, str(HERE / "gui_bench.py"), *(["--small"] if small else [])]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    log(f"GUI: {' '.join(argv[1:])} ...")
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    doc: dict[str, Any] = {"command": " ".join(["python", *argv[1:]]),
                           "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
    if proc.returncode != 0:
        doc["error"] = f"exit {proc.returncode}: {proc.stderr.strip()[-400:]}"
        return doc
    figures = []
    for line in proc.stdout.splitlines():
        m = re.match(r"^  (\s*\S.*?)\s{2,}(\S.*)$", line)
        if m:
            figures.append([m[1], m[2]])
        elif line.startswith("Phonovault GUI"):
            doc["title"] = line.strip()
    doc["figures"] = figures
    return doc
