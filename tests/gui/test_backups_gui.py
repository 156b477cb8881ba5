"""The Backups page with real files and real folders: a target added and verified shows
online with one good copy per album; a corrupted library file is healed through the repair
dialog (nothing written before its button is pressed); an unmounted target shows offline."""

from __future__ import annotations

import shutil
from pathlib import Path

import audiogen
import pytest

from phonovault.core.fixity.verify import verify
from phonovault.gui.app import build
from phonovault.gui.views.backups_view import BackupsPage, CoverageModel


def wait_job(qtbot, job, state: str = "done"):
    qtbot.waitUntil(lambda: job.state not in ("queued", "running"), timeout=30000)
    assert job.state == state, job.error
    return job.result


def wait_read(qtbot, page: BackupsPage) -> None:
    page.refresh()
    qtbot.waitUntil(lambda: not page.is_loading() and page.state is not None, timeout=10000)


def row(tree, n: int) -> list[str]:
    item = tree.topLevelItem(n)
    return [item.text(c) for c in range(tree.columnCount())]


@pytest.fixture
def app(qtbot, tmp_path: Path, make_file):
    root = tmp_path / "Music"
    paths = audiogen.make_library(root, 4, kinds=["flac16", "mp3"], per_album=2)
    paths.append(make_file("opus", "Artist/Album/01 T.opus", root=root))  # a third album
    ctx, window = build(tmp_path / "c.sqlite", tmp_path / "s.json")
    qtbot.addWidget(window)
    wait_job(qtbot, ctx.add_folders([str(root)]))
    backup = tmp_path / "Backup"
    shutil.copytree(root, backup)
    yield ctx, window, root, backup, paths
    ctx.jobs.wait(10000)
    window.close()


def test_added_target_verifies_online_with_one_copy_per_album(qtbot, qtmodeltester, app) -> None:
    ctx, window, root, backup, _paths = app
    page = window.backups
    target = wait_job(qtbot, ctx.add_target(backup, root))
    reports = wait_job(qtbot, ctx.verify_backup(None))
    assert [r.target.id for r in reports] == [target.id] and reports[0].all_good
    wait_read(qtbot, page)
    assert page.targets.topLevelItemCount() == 1
    path, library, state, verified = row(page.targets, 0)
    assert (path, library, state) == (str(backup), str(root), "Online") and verified != "Never"
    model = page.model
    qtmodeltester.check(model)
    assert model.rowCount() == 3  # albums
    bars = [model.data(model.index(r, CoverageModel.COPIES), CoverageModel.BAR_ROLE)
            for r in range(3)]  # fmt: skip
    assert bars == [(1, 2)] * 3
    under = [model.data(model.index(r, 4)) for r in range(3)]
    assert sorted(under) == ["1", "2", "2"]
    assert len(page.state.coverage.under_covered) == 5
    assert "5 of 5 files have fewer than 2 good copies" in page.summary.text()
    page.wanted.setValue(1)  # one copy is enough: nothing is under-covered
    qtbot.waitUntil(lambda: page.state.coverage.min_copies == 1, timeout=10000)
    assert not page.state.coverage.under_covered and "Every file has" in page.summary.text()
    assert [model.data(model.index(r, 4)) for r in range(3)] == ["", "", ""]
    # the activity page says what the verify found
    session = window.activity.session
    texts = [row(session, n)[4] for n in range(session.topLevelItemCount())]
    assert any(t.startswith("Backup: ") and "5 match" in t for t in texts)


def test_repair_dialog_heals_a_corrupted_library_file(qtbot, app) -> None:
    ctx, window, root, backup, paths = app
    page = window.backups
    wait_job(qtbot, ctx.add_target(backup, root))
    wait_job(qtbot, ctx.verify_backup(None))
    victim = paths[0]
    good = victim.read_bytes()
    audiogen.flip_audio_byte(victim)
    damaged = victim.read_bytes()
    assert damaged != good
    assert any(r.state == "corrupt" for r in verify(ctx.catalog).results)
    wait_read(qtbot, page)

    page.repair_button.click()  # the plan is read in the background, then shown
    qtbot.waitUntil(lambda: page.repair_dialog is not None, timeout=10000)
    dialog = page.repair_dialog
    assert dialog.actions_tree.topLevelItemCount() == 1
    kind, dest, source, why = row(dialog.actions_tree, 0)
    assert (kind, dest, source) == ("Restore library file", str(victim),
                                    str(backup / victim.relative_to(root)))  # fmt: skip
    assert "corrupt" in why
    assert victim.read_bytes() == damaged  # shown, not written
    assert dialog.repair_button.text() == "Repair 1 file" and dialog.repair_button.isEnabled()
    jobs_before = len(ctx.jobs.history)
    dialog.repair_button.click()
    qtbot.waitUntil(lambda: len(ctx.jobs.history) > jobs_before, timeout=30000)
    job = ctx.jobs.history[-1]
    report = wait_job(qtbot, job)
    assert job.title == "Repair 1 file" and report.ok and report.count("done") == 1
    assert victim.read_bytes() == (backup / victim.relative_to(root)).read_bytes() == good
    qtbot.waitUntil(lambda: page.repair_dialog is None, timeout=5000)
    # the journal reads as a restore, with where the bytes came from
    window.activity.refresh()
    history = window.activity.history
    entries = [row(history, n) for n in range(history.topLevelItemCount())]
    restored = [e for e in entries if e[1] == "Restored from backup"]
    assert restored and restored[0][2].startswith(f"{victim} (from {backup}")
    assert "done" in restored[0][2]


def test_cancelling_the_repair_dialog_writes_nothing(qtbot, app) -> None:
    ctx, window, root, backup, paths = app
    page = window.backups
    wait_job(qtbot, ctx.add_target(backup, root))
    wait_job(qtbot, ctx.verify_backup(None))
    audiogen.flip_audio_byte(paths[1])
    damaged = paths[1].read_bytes()
    verify(ctx.catalog)
    wait_read(qtbot, page)
    page.repair_button.click()
    qtbot.waitUntil(lambda: page.repair_dialog is not None, timeout=10000)
    jobs_before = len(ctx.jobs.history)
    page.repair_dialog.reject()
    assert page.repair_dialog is None and not ctx.jobs.is_busy()
    assert len(ctx.jobs.history) == jobs_before and paths[1].read_bytes() == damaged


def test_unmounted_target_shows_offline(qtbot, app) -> None:
    ctx, window, root, backup, _paths = app
    page = window.backups
    wait_job(qtbot, ctx.add_target(backup, root))
    wait_read(qtbot, page)
    assert row(page.targets, 0)[2] == "Online"
    backup.rename(backup.with_name("Unplugged"))
    wait_read(qtbot, page)
    assert row(page.targets, 0)[2] == "Offline"
    assert "folder not found" in page.targets.topLevelItem(0).toolTip(2)
    reports = wait_job(qtbot, ctx.verify_backup(None, full=True))
    assert reports[0].offline and not reports[0].results  # nothing judged missing
