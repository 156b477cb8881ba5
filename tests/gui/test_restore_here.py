"""Repair where the problem is shown, with real files, a real catalog and a real backup
folder: "Restore from backup…" in the details pane, the Library's row menu and Findings
heals a corrupt file through the repair dialog (a plan for that file alone, nothing written
before its button is pressed); with no good copy the dialog says which backup to add or
verify; the Backups page lists every copy that is not a match, per target, and refreshes the
bad ones from the library; adding a backup asks which library folder it mirrors."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import audiogen
import pytest
from PySide6.QtCore import QItemSelectionModel, QUrl
from PySide6.QtGui import QDesktopServices

from phonovault.core.backups.targets import verify_target
from phonovault.core.fixity.verify import verify
from phonovault.gui.app import build
from phonovault.gui.views.repair_dialog import RepairDialog


def wait_job(qtbot, job, state: str = "done"):
    qtbot.waitUntil(lambda: job.state not in ("queued", "running"), timeout=30000)
    assert job.state == state, job.error
    return job.result


def row(tree, n: int, parent=None) -> list[str]:
    item = tree.topLevelItem(n) if parent is None else parent.child(n)
    return [item.text(c) for c in range(tree.columnCount())]


def rows(tree) -> list[list[str]]:
    return [row(tree, n) for n in range(tree.topLevelItemCount())]


def file_id(ctx, path: Path) -> int:
    return next(r.id for r in ctx.catalog.library_rows() if r.path == os.fspath(path))


def state_of(ctx, path: Path) -> str:
    return {r.path: r.state for r in verify(ctx.catalog).results}[os.fspath(path)]


def corrupt(ctx, path: Path) -> tuple[bytes, bytes]:
    """Bit rot in a library file, seen by a verify; returns (good bytes, damaged bytes)."""
    good = path.read_bytes()
    audiogen.flip_audio_byte(path)
    assert state_of(ctx, path) == "corrupt"
    return good, path.read_bytes()


def apply_dialog(qtbot, ctx, dialog: RepairDialog):
    """Press the dialog's button and wait for the repair job it queues."""
    before = len(ctx.jobs.history)
    dialog.repair_button.click()
    qtbot.waitUntil(lambda: len(ctx.jobs.history) > before, timeout=30000)
    return wait_job(qtbot, ctx.jobs.history[-1])


def wait_read(qtbot, page) -> None:
    page.refresh()
    qtbot.waitUntil(lambda: not page.is_loading() and page.state is not None, timeout=10000)


@pytest.fixture
def app(qtbot, tmp_path: Path, make_file):
    """A scanned library of five files and a copy of it, not yet registered as a backup."""
    root = tmp_path / "Music"
    paths = audiogen.make_library(root, 4, kinds=["flac16", "mp3"], per_album=2)
    paths.append(make_file("opus", "Artist/Album/01 T.opus", root=root))
    ctx, window = build(tmp_path / "c.sqlite", tmp_path / "s.json")
    qtbot.addWidget(window)
    wait_job(qtbot, ctx.add_folders([str(root)]))
    backup = tmp_path / "Backup"
    shutil.copytree(root, backup)
    yield ctx, window, root, backup, paths
    ctx.jobs.wait(10000)
    window.close()


def back_up(qtbot, ctx, root: Path, backup: Path, *, check: bool = True):
    target = wait_job(qtbot, ctx.add_target(backup, root))
    if check:
        wait_job(qtbot, ctx.verify_backup(target.id))
    return target


def open_plan(qtbot, flow, trigger) -> RepairDialog:
    with qtbot.waitSignal(flow.opened, timeout=10000) as opened:
        trigger()
    dialog = opened.args[0]
    assert flow.dialog is dialog and dialog.isVisible()
    return dialog


def test_details_pane_restores_a_corrupt_file(qtbot, app) -> None:
    ctx, window, root, backup, paths = app
    back_up(qtbot, ctx, root, backup)
    victim = paths[0]
    good, damaged = corrupt(ctx, victim)
    details = window.details
    details.show_file(file_id(ctx, paths[1]))  # ok: nothing to restore
    assert not details.restore_button.isVisibleTo(details)
    details.show_file(file_id(ctx, victim))
    assert details.restore_button.isVisibleTo(details)
    dialog = open_plan(qtbot, details.restore, details.restore_button.click)
    assert dialog.windowTitle() == "Restore from backup"
    assert rows(dialog.actions_tree) == [["Restore library file", str(victim),
                                          str(backup / victim.relative_to(root)),
                                          dialog.plan.actions[0].why]]  # fmt: skip
    assert dialog.repair_button.text() == "Restore 1 file" and dialog.repair_button.isEnabled()
    assert victim.read_bytes() == damaged  # shown, not written
    report = apply_dialog(qtbot, ctx, dialog)
    assert report.ok and ctx.jobs.history[-1].title == "Restore 1 file"
    assert victim.read_bytes() == good and state_of(ctx, victim) == "ok"
    qtbot.waitUntil(lambda: not details.restore_button.isVisibleTo(details), timeout=5000)
    assert details.restore.dialog is None


def test_library_row_menu_restores_a_corrupt_file(qtbot, app) -> None:
    ctx, window, root, backup, paths = app
    back_up(qtbot, ctx, root, backup)
    victim = paths[2]
    good, _damaged = corrupt(ctx, victim)
    page = window.library
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.refresh()
    page.select_file(file_id(ctx, paths[1]))
    assert "Restore from backup…" not in [a.text() for a in page.context_menu().actions()]
    page.select_file(file_id(ctx, victim))
    actions = {a.text(): a for a in page.context_menu().actions()}
    dialog = open_plan(qtbot, page.restore, actions["Restore from backup…"].trigger)
    assert [a.dest for a in dialog.plan.actions] == [str(victim)]
    assert apply_dialog(qtbot, ctx, dialog).ok
    assert victim.read_bytes() == good and state_of(ctx, victim) == "ok"


def test_findings_restore_button_restores_a_corrupt_file(qtbot, app) -> None:
    ctx, window, root, backup, paths = app
    back_up(qtbot, ctx, root, backup)
    victim = paths[4]  # the Opus file: its page CRCs fail too
    good, _damaged = corrupt(ctx, victim)
    page = window.findings
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.refresh()
    leaf = page.model.index(0, 0, page.model.group_index("error", "corrupt"))
    selection = page.tree.selectionModel()
    flags = QItemSelectionModel.SelectionFlag
    selection.setCurrentIndex(leaf, flags.ClearAndSelect | flags.Rows)
    assert page.restore_button.isVisibleTo(page) and page.restore_button.isEnabled()
    dialog = open_plan(qtbot, page.restore, page.restore_button.click)
    assert [a.dest for a in dialog.plan.actions] == [str(victim)]
    assert apply_dialog(qtbot, ctx, dialog).ok
    assert victim.read_bytes() == good and state_of(ctx, victim) == "ok"
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.refresh()
    assert not page.model.group_index("error", "corrupt").isValid()


def test_a_plan_for_one_file_lists_only_that_file(qtbot, app) -> None:
    ctx, window, root, backup, paths = app
    back_up(qtbot, ctx, root, backup)
    chosen, other = paths[0], paths[1]
    good, _ = corrupt(ctx, chosen)
    _, other_damaged = corrupt(ctx, other)
    paths[3].unlink()  # missing too: a plan for everything would restore three files
    assert state_of(ctx, paths[3]) == "missing"
    details = window.details
    details.show_file(file_id(ctx, chosen))
    dialog = open_plan(qtbot, details.restore, details.restore_button.click)
    assert [r[1] for r in rows(dialog.actions_tree)] == [str(chosen)]
    assert dialog.unrepairable_tree.topLevelItemCount() == 0
    assert apply_dialog(qtbot, ctx, dialog).count("done") == 1
    assert chosen.read_bytes() == good and other.read_bytes() == other_damaged
    assert not paths[3].exists()


def test_without_a_good_copy_the_dialog_says_what_backup_to_add_or_verify(qtbot, app) -> None:
    ctx, window, root, backup, paths = app
    victim = paths[0]
    corrupt(ctx, victim)
    details = window.details
    details.show_file(file_id(ctx, victim))

    def plan_text() -> str:
        dialog = open_plan(qtbot, details.restore, details.restore_button.click)
        assert dialog.plan.actions == [] and not dialog.repair_button.isEnabled()
        text = dialog.intro.text()
        dialog.reject()
        return text

    text = plan_text()  # no backup at all
    assert f"No backup of {root} is registered" in text and "Add backup" in text
    target = back_up(qtbot, ctx, root, backup, check=False)
    assert "has not been verified yet" in plan_text()
    (backup / victim.relative_to(root)).unlink()  # the only backup lacks the file
    verify_target(ctx.catalog, target)
    text = plan_text()
    assert f"No verified copy of “{victim.name}” has its last known good bytes" in text
    assert f"in {backup}: missing" in text and "Add a backup that has a good copy" in text
    backup.rename(backup.with_name("Unplugged"))
    text = plan_text()
    assert f"The backup of {root} ({backup}) is offline. Connect it" in text


def test_backups_page_lists_copies_that_do_not_match_per_target(qtbot, app, monkeypatch) -> None:
    ctx, window, root, backup, paths = app
    second = backup.with_name("Second")
    shutil.copytree(root, second)
    back_up(qtbot, ctx, root, backup)
    back_up(qtbot, ctx, root, second)
    copy = {p: backup / p.relative_to(root) for p in paths}
    audiogen.flip_audio_byte(copy[paths[0]])  # corrupt
    copy[paths[1]].unlink()  # missing
    copy[paths[2]].rename(copy[paths[2]].with_name("renamed.flac"))  # moved
    (backup / "extra.mp3").write_bytes(paths[3].read_bytes()[:-100] + b"x" * 100)  # only there
    audiogen.tag(second / paths[4].relative_to(root), {"title": "Other title"})  # tags differ
    wait_job(qtbot, ctx.verify_backup(None, full=True))
    page = window.backups
    wait_read(qtbot, page)
    tree = page.copies.tree
    assert tree.topLevelItemCount() == 2
    first, other = tree.topLevelItem(0), tree.topLevelItem(1)
    assert first.text(0).startswith("Backup — 4 copies do not match: 1 corrupt, 1 missing")
    assert first.toolTip(0).startswith(f"{backup} — 4 copies")
    listed = {row(tree, n, first)[1]: row(tree, n, first) for n in range(first.childCount())}
    assert set(listed) == {"Corrupt", "Missing", "Moved", "Only in backup"}
    rel = {p: str(p.relative_to(root)) for p in paths}  # listed under their target's row
    assert listed["Corrupt"][:3] == [rel[paths[0]], "Corrupt", rel[paths[0]]]
    assert listed["Missing"][:3] == [rel[paths[1]], "Missing", rel[paths[1]]]
    assert listed["Moved"][:3] == [str(Path(rel[paths[2]]).with_name("renamed.flac")), "Moved",
                                   rel[paths[2]]]  # fmt: skip
    assert listed["Only in backup"][:3] == ["extra.mp3", "Only in backup", ""]
    assert [row(tree, n, other)[1] for n in range(other.childCount())] == ["Tags differ"]
    assert other.text(0).startswith("Second — 1 copy does not match: 1 tags differ")

    # show in folder opens the copy's folder
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    missing = next(
        first.child(n) for n in range(first.childCount()) if first.child(n).text(1) == "Missing"
    )
    tree.setCurrentItem(missing)
    page.copies.folder_button.click()
    assert [u.toLocalFile() for u in opened] == [str(copy[paths[1]].parent)]

    # refresh the corrupt and the missing copy from the library, through the repair dialog
    tree.clearSelection()
    for n in range(first.childCount()):
        first.child(n).setSelected(first.child(n).text(1) in ("Corrupt", "Missing"))
    assert page.copies.refresh_button.isEnabled()
    dialog = open_plan(qtbot, page.copies_flow, page.copies.refresh_button.click)
    kinds = sorted((row(dialog.actions_tree, n)[0], row(dialog.actions_tree, n)[1])
                   for n in range(dialog.actions_tree.topLevelItemCount()))  # fmt: skip
    assert kinds == sorted([("Refresh backup copy", str(copy[paths[0]])),
                            ("Refresh backup copy", str(copy[paths[1]]))])  # fmt: skip
    assert dialog.repair_button.text() == "Refresh 2 files"
    assert apply_dialog(qtbot, ctx, dialog).ok
    for p in paths[:2]:
        assert copy[p].read_bytes() == p.read_bytes()
    wait_job(qtbot, ctx.verify_backup(None, full=True))
    wait_read(qtbot, page)
    first = page.copies.tree.topLevelItem(0)
    assert {first.child(n).text(1) for n in range(first.childCount())} == {
        "Moved",
        "Only in backup",
    }


def test_adding_a_backup_asks_which_library_folder_it_mirrors(qtbot, app, tmp_path) -> None:
    ctx, window, root, backup, _paths = app
    other_root = tmp_path / "Other"
    audiogen.make_library(other_root, 1, kinds=["mp3"])
    wait_job(qtbot, ctx.add_folders([str(other_root)]))
    page = window.backups
    wait_read(qtbot, page)
    page.add_button.click()
    dialog = page.add_dialog
    assert dialog is not None and dialog.isVisible()
    combo = dialog.root_combo
    assert combo.isVisibleTo(dialog) and combo.count() == 2
    assert combo.currentIndex() == -1 and dialog.root() is None  # never picked for the user
    dialog.folder_edit.setText(str(backup))
    assert not dialog.add_button.isEnabled()
    combo.setCurrentIndex([combo.itemText(i) for i in range(2)].index(str(other_root)))
    assert dialog.add_button.isEnabled()
    assert dialog.problem.text() == ""
    combo.setCurrentIndex([combo.itemText(i) for i in range(2)].index(str(root)))
    assert dialog.verify_check.isChecked()  # offered, on by default
    dialog.add_button.click()
    assert page.add_dialog is None

    def verified():
        return next((j for j in ctx.jobs.history if j.title.startswith("Verify backup")), None)

    qtbot.waitUntil(lambda: verified() is not None, timeout=30000)
    reports = wait_job(qtbot, verified())
    (target,) = ctx.catalog.targets()
    assert target.path == str(backup) and ctx.catalog.root(target.root_id).path == str(root)
    assert reports[0].all_good and ctx.catalog.targets()[0].last_verified is not None


def test_with_one_library_folder_it_is_preselected_but_shown(qtbot, app) -> None:
    ctx, window, root, backup, _paths = app
    page = window.backups
    wait_read(qtbot, page)
    page.add_button.click()
    dialog = page.add_dialog
    assert dialog.root_combo.isVisibleTo(dialog) and dialog.root() == str(root)
    dialog.folder_edit.setText(str(root / "Artist 000"))  # inside the library folder
    assert (
        not dialog.add_button.isEnabled() and "outside the library folder" in dialog.problem.text()
    )
    dialog.folder_edit.setText(str(backup))
    dialog.verify_check.setChecked(False)
    before = len(ctx.jobs.history)
    dialog.add_button.click()
    qtbot.waitUntil(lambda: len(ctx.jobs.history) > before, timeout=10000)
    wait_job(qtbot, ctx.jobs.history[-1])
    qtbot.waitUntil(lambda: not ctx.jobs.is_busy(), timeout=10000)
    assert [j.title for j in ctx.jobs.history[before:]] == [f"Add backup {backup}"]  # no verify
    assert ctx.catalog.targets()[0].last_verified is None


def test_a_gone_library_file_is_restored_from_its_moved_copy(qtbot, app) -> None:
    ctx, window, root, backup, paths = app
    back_up(qtbot, ctx, root, backup)
    victim = paths[1]
    good = victim.read_bytes()
    victim.unlink()
    assert state_of(ctx, victim) == "missing"
    copy = backup / victim.relative_to(root)
    moved = copy.rename(copy.with_name("kept.mp3"))
    wait_job(qtbot, ctx.verify_backup(None))
    page = window.backups
    wait_read(qtbot, page)
    top = page.copies.tree.topLevelItem(0)
    (item,) = [top.child(n) for n in range(top.childCount())]
    assert item.text(1) == "Moved" and item.text(2) == str(victim.relative_to(root))
    assert not page.copies.restore_button.isEnabled()  # nothing selected yet
    item.setSelected(True)
    assert page.copies.restore_button.isEnabled() and not page.copies.refresh_button.isEnabled()
    dialog = open_plan(qtbot, page.copies_flow, page.copies.restore_button.click)
    assert rows(dialog.actions_tree)[0][:3] == ["Restore library file", str(victim), str(moved)]
    assert apply_dialog(qtbot, ctx, dialog).ok
    assert victim.read_bytes() == good and state_of(ctx, victim) == "ok"
