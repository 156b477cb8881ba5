"""The daily scrub the window runs while open, its settings, and decode checks by hand."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import audiogen
from damage import truncate_at

from phonovault.core.config import Settings
from phonovault.gui.app import build
from phonovault.gui.views.settings_dialog import SettingsDialog


def _window(qtbot, tmp_path: Path, settings: Settings, tracks: int = 6):
    root = tmp_path / "Music"
    audiogen.make_library(root, tracks, kinds=["flac16", "mp3"])
    settings_path = tmp_path / "s.json"
    settings.save(settings_path)
    ctx, window = build(tmp_path / "c.sqlite", settings_path)
    qtbot.addWidget(window)
    job = ctx.add_folders([str(root)])
    qtbot.waitUntil(lambda: job.state == "done", timeout=30000)
    return ctx, window, root


def test_the_scheduled_scrub_runs_once_a_day_when_idle(qtbot, tmp_path: Path) -> None:
    ctx, window, _ = _window(qtbot, tmp_path, Settings(scrub_percent=50, scrub_decode=True))
    scheduler = window.scrub
    busy = ctx.jobs.submit("wait", lambda catalog, progress, cancel: cancel._event.wait(5))
    assert scheduler.poke() is None  # never while another job runs
    ctx.jobs.cancel(busy)
    qtbot.waitUntil(lambda: not ctx.jobs.is_busy(), timeout=10000)
    job = scheduler.poke()
    assert job is not None and "Scheduled scrub" in job.title and "decode" in job.title
    qtbot.waitUntil(lambda: job.state == "done", timeout=60000)
    assert len(job.result.results) == 3  # half of six files
    assert job.result.decode is not None and job.result.decode.checked == 3
    assert scheduler.poke() is None  # done for today
    window.close()


def test_a_cancelled_scrub_waits_for_tomorrow_and_off_means_off(qtbot, tmp_path: Path) -> None:
    ctx, window, _ = _window(qtbot, tmp_path, Settings(scrub_percent=100))
    scheduler = window.scrub
    job = scheduler.poke()
    assert job is not None
    ctx.jobs.cancel(job)
    qtbot.waitUntil(lambda: not ctx.jobs.is_busy(), timeout=30000)
    if job.state == "cancelled":
        assert scheduler.poke() is None
    ctx.settings = dataclasses.replace(ctx.settings, scrub_percent=0)
    scheduler._skip_until = 0.0
    assert not scheduler.due()
    window.close()


def test_settings_dialog_saves_the_scrub_schedule(qtbot, tmp_path: Path) -> None:
    ctx, window, _ = _window(qtbot, tmp_path, Settings(), tracks=2)
    dialog = SettingsDialog(ctx, window)
    qtbot.addWidget(dialog)
    assert dialog.scrub_percent.value() == 0 and dialog.scrub_percent.text() == "Off"
    dialog.scrub_percent.setValue(10)
    dialog.scrub_decode.setChecked(True)
    dialog.buttons.accepted.emit()
    saved = Settings.load(tmp_path / "s.json")
    assert (saved.scrub_percent, saved.scrub_decode) == (10, True)
    window.close()


def test_decode_check_from_the_library_menu_files_a_finding(qtbot, tmp_path: Path) -> None:
    ctx, window, root = _window(qtbot, tmp_path, Settings(), tracks=2)
    flac = next(root.rglob("*.flac"))
    truncate_at(flac, 0.5)
    job = ctx.scan()
    qtbot.waitUntil(lambda: job.state == "done", timeout=30000)
    page = window.library
    page.refresh()
    qtbot.waitUntil(lambda: page.model.total_count() == 2 and not page.is_loading(),
                    timeout=10000)  # fmt: skip
    page.view.selectAll()
    menu = page.context_menu()
    action = next(a for a in menu.actions() if a.text().startswith("Decode check"))
    action.trigger()
    qtbot.waitUntil(lambda: not ctx.jobs.is_busy(), timeout=30000)
    kinds = {f.kind for f in ctx.catalog.findings()}
    assert "truncated" in kinds
    record = ctx.catalog.file_by_path(ctx.catalog.roots()[0].id,
                                      bytes(flac.relative_to(root)))  # fmt: skip
    assert record is not None
    details = window.details
    details.show_file(record.id)
    said = [details.findings.item(i).text() for i in range(details.findings.count())]
    assert any("ends" in t or "short" in t for t in said), said
    job = ctx.accept([record.id])  # it arrived like this: take it as the baseline
    qtbot.waitUntil(lambda: job.state == "done", timeout=30000)
    job = ctx.decode_check([record.id])
    qtbot.waitUntil(lambda: job.state == "done", timeout=30000)
    details.show_file(record.id)
    checks = details.fixity_tree.topLevelItem(1)
    texts = {checks.child(i).text(0): checks.child(i).text(1) for i in range(checks.childCount())}
    assert texts["Decode check"] != "never (Decode check in the file's menu)"
    assert "cleanly" not in texts["Decode check"]
    window.close()
