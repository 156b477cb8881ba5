"""Plugins load only from installed distributions, never from a music folder or the current
directory. ``ep.load()`` imports by module name through ``sys.path``, which starts with the
current directory under ``python -m`` and ``python -c``: a downloaded album holding a
``phonovault/plugins/`` folder (``phonovault`` is a namespace package, so such a folder joins
it) or a module named like an installed third-party plugin must not be imported in their
place. Run in a real child process from such a folder, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EVIL = "open({marker!r}, 'w').write('ran')\n"
GOOD_PLUGIN = """\
from phonovault.core.plugin_api import Rule, hookimpl

@hookimpl
def phonovault_rules():
    return [Rule(id="from-the-installed-plugin", severity="info", title="t", explanation="e")]
"""


@pytest.fixture
def album(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """A folder that shadows a built-in plugin package and a third-party plugin module, and
    a private site-packages where that third-party plugin is really installed."""
    marker = tmp_path / "ran"
    album = tmp_path / "Downloaded album"
    (album / "phonovault" / "plugins").mkdir(parents=True)
    for name in ("__init__.py", "mojibake.py"):
        (album / "phonovault" / "plugins" / name).write_text(EVIL.format(marker=str(marker)))
    (album / "phonovault_third.py").write_text(EVIL.format(marker=str(marker)))
    site = tmp_path / "site"
    info = site / "phonovault_third-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: phonovault-third\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[phonovault.plugins]\nthird = phonovault_third\n")
    (site / "phonovault_third.py").write_text(GOOD_PLUGIN)
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
    )
    return album, marker, env


def test_python_m_from_a_folder_runs_only_installed_plugins(album) -> None:
    folder, marker, env = album
    cat = folder.parent / "c.sqlite"
    cli = [sys.executable, "-m", "phonovault.core.cli", "--catalog", str(cat)]
    made = subprocess.run([*cli, "roots", "add", str(folder)], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert made.returncode == 0, made.stderr
    marker.unlink(missing_ok=True)
    done = subprocess.run([*cli, "rules", "list", "--json"], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert not marker.exists(), "code from the current directory ran as a plugin"
    assert done.returncode == 0, done.stderr
    rules = {r["id"] for r in json.loads(done.stdout)["rules"]}
    assert {"mojibake", "from-the-installed-plugin"} <= rules


def test_python_c_with_an_empty_path_entry_loads_the_installed_modules(album) -> None:
    folder, marker, env = album
    probe = ("import sys; from phonovault.core.plugin_api import load_plugins; p = load_plugins();"
             " print(sys.modules['phonovault.plugins'].__file__);"
             " print(sys.modules['phonovault_third'].__file__);"
             " print(sorted(p.names()), [x.error for x in p.problems])")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", probe], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not marker.exists(), "code from the current directory ran as a plugin"
    builtins, third, names = done.stdout.splitlines()
    assert not builtins.startswith(str(folder)) and not third.startswith(str(folder))
    assert third == str(folder.parent / "site" / "phonovault_third.py")
    assert "'mojibake'" in names and "'third'" in names and names.endswith("[]")
