"""``phonovault-gui`` without a display says so in a sentence and exits 2, instead of Qt
aborting inside its xcb plugin with a message about plugins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_no_display_is_a_sentence_and_exit_2(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("phonovault-gui")
    assert script.exists(), "the phonovault-gui entry point is not installed"
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}  # fmt: skip
    env["PHONOVAULT_CATALOG"] = str(tmp_path / "c.sqlite")
    done = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "no display found" in done.stderr and "'phonovault' command" in done.stderr
    assert "xcb" not in done.stderr.lower()
    assert not (tmp_path / "c.sqlite").exists()  # nothing was started


def test_a_display_free_platform_is_not_refused(monkeypatch) -> None:
    from phonovault.gui.launch import no_display

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert not no_display()
    monkeypatch.delenv("QT_QPA_PLATFORM")
    assert no_display() == (sys.platform not in ("win32", "darwin"))
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert not no_display()
