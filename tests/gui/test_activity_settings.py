"""The Activity page (live session jobs, catalog history) and the Settings dialog."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import audiogen
import pytest
from PySide6.QtCore import SIGNAL
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QMessageBox

from phonovault.core.catalog import Catalog
from phonovault.core.config import Settings, default_workers
from phonovault.core.errors import PhonovaultError
from phonovault.gui.context import AppContext
from phonovault.gui.views.activity_view import ActivityPage
from phonovault.gui.views.settings_dialog import SettingsDialog


@pytest.fixture
def music(tmp_path: Path) -> Path:
    root = tmp_path / "Music"
    audiogen.make_library(root, 3, kinds=["flac16", "mp3"])
    return root


@pytest.fixture
def ctx(qapp, tmp_path: Path) -> Iterator[AppContext]:
    catalog = Catalog(tmp_path / "c.sqlite")
    context = AppContext(catalog, Settings(), tmp_path / "settings.json")
    yield context
    context.jobs.wait(10000)
    catalog.close()


def row_texts(tree, row: int) -> list[str]:
    item = tree.topLevelItem(row)
    return [item.text(c) for c in range(tree.columnCount())]


# -- Activity -----------------------------------------------------------------------------


def test_activity_shows_a_finished_scan_with_its_summary(
    qtbot, ctx: AppContext, music: Path
) -> None:
    page = ActivityPage(ctx)
    qtbot.addWidget(page)
    with qtbot.waitSignal(ctx.jobs.idle, timeout=20000):
        ctx.add_folders([str(music)])
    job, state, started, finished, result = row_texts(page.session, 0)
    assert (job, state, result) == ("Add and scan Music", "Done", "3 new, 0 changed, 0 failed")
    assert started and finished


def test_activity_shows_a_failed_job_with_its_error(qtbot, ctx: AppContext) -> None:
    page = ActivityPage(ctx)
    qtbot.addWidget(page)

    def boom(_catalog, _progress, _cancel):
        raise PhonovaultError("the disk went away")

    with qtbot.waitSignal(ctx.jobs.idle, timeout=5000):
        ctx.jobs.submit("Check something", boom)
    assert row_texts(page.session, 0)[1::3] == ["Failed", "the disk went away"]


def test_history_lists_interrupted_runs_and_accepted_baselines(
    qtbot, ctx: AppContext, music: Path
) -> None:
    catalog = ctx.catalog
    with qtbot.waitSignal(ctx.jobs.idle, timeout=20000):
        ctx.add_folders([str(music)])
    catalog.start_job("verify", {"roots": [1], "oldest": None}, time.time() - 60)  # killed
    file_id = catalog.album_file_ids("Artist 000", "Album 0000")[0]
    with qtbot.waitSignal(ctx.jobs.idle, timeout=20000):
        ctx.accept([file_id])
    page = ActivityPage(ctx)
    qtbot.addWidget(page)
    page.refresh()
    rows = [row_texts(page.history, r)[1:] for r in range(page.history.topLevelItemCount())]
    assert rows[0][0] == "Accepted as new baseline"
    assert rows[0][1].endswith("01 Song 0.flac (was ok)")
    assert ["Verify", "Interrupted, will resume"] in rows


# -- Settings -----------------------------------------------------------------------------


def test_settings_dialog_saves_workers_and_sha256(qtbot, ctx: AppContext) -> None:
    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    assert ctx.receivers(SIGNAL("catalog_changed()")) == 1  # open: it follows folder jobs
    assert dialog.workers.text() == (  # 0 = automatic
        f"Automatic ({default_workers()} to scan, {default_workers(tags=False)} to verify)"
    )
    assert not dialog.sha256.isChecked()
    dialog.workers.setValue(1)
    dialog.sha256.setChecked(True)
    with qtbot.waitSignal(ctx.settings_changed, timeout=1000):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert ctx.settings_path is not None
    assert Settings.load(ctx.settings_path) == Settings(workers=1, with_sha256=True)
    assert ctx.settings.effective_workers == 1
    assert dialog.result() == SettingsDialog.DialogCode.Accepted
    assert ctx.receivers(SIGNAL("catalog_changed()")) == 0  # closed: it stops listening


def test_settings_dialog_cancel_saves_nothing(qtbot, ctx: AppContext) -> None:
    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.workers.setValue(3)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert ctx.settings_path is not None and not ctx.settings_path.exists()
    assert ctx.settings == Settings()


def test_settings_add_and_remove_folders(
    qtbot, ctx: AppContext, music: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    assert not dialog.remove_button.isEnabled()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_a: str(music))
    with qtbot.waitSignal(ctx.jobs.idle, timeout=20000):
        dialog.add_button.click()
    folder, status, files, last_scan = row_texts(dialog.roots, 0)
    assert (folder, status, files) == (str(music), "Online", "3")
    assert last_scan != "never"

    asked: list[str] = []
    monkeypatch.setattr(
        QMessageBox, "question", lambda *a: asked.append(a[2]) or QMessageBox.StandardButton.Yes
    )
    dialog.roots.topLevelItem(0).setSelected(True)
    with qtbot.waitSignal(ctx.jobs.idle, timeout=20000):
        dialog.remove_button.click()
    assert "Nothing on disk is touched" in asked[0]
    assert ctx.catalog.roots() == []
    assert dialog.selected_root() is None
    assert len(list(music.rglob("*.flac"))) == 2  # the music itself is untouched


def test_settings_rules_tab_disables_a_rule_and_changes_a_severity(qtbot, tmp_path: Path) -> None:
    from PySide6.QtCore import Qt

    from phonovault.core.config import Settings
    from phonovault.gui.app import build
    from phonovault.gui.views.settings_dialog import SettingsDialog

    settings_path = tmp_path / "rules-settings.json"
    ctx, window = build(tmp_path / "rules.sqlite", settings_path)
    qtbot.addWidget(window)
    dialog = SettingsDialog(ctx, window)
    qtbot.addWidget(dialog)
    editor = dialog.rules
    rows = {
        editor.topLevelItem(i).text(1): editor.topLevelItem(i)
        for i in range(editor.topLevelItemCount())
    }
    assert {"missing-tags", "mojibake", "cover-small"} <= set(rows)
    rows["mojibake"].setCheckState(0, Qt.CheckState.Unchecked)
    combo = editor._combos["cover-small"]
    combo.setCurrentIndex(combo.findData("warning"))
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    saved = Settings.load(settings_path)
    assert saved.rules == {"mojibake": {"enabled": False}, "cover-small": {"severity": "warning"}}
    assert ctx.rule_infos()["mojibake"].enabled is False
    assert ctx.rule_infos()["cover-small"].severity == "warning"
