"""Tag rules in the GUI on a real catalog: a check job from the window, rule findings under
their titles with explanations, muting through a job, flagged fields in the Tags tab."""

from __future__ import annotations

from pathlib import Path

import audiogen
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QInputDialog

from phonovault.gui.app import build
from phonovault.gui.models.findings_model import ROLE_KIND


def _no_album(root: Path) -> Path:
    """A FLAC with title, artist and track but no album tag: missing-tags flags "album"."""
    path = audiogen.encode(root / "loose.flac", "flac16")
    audiogen.tag(path, {"title": "Loose", "artist": "Someone", "tracknumber": "1/1"})
    return path


def _rule_group(window, kind: str):
    model = window.findings.model
    sev = model.group_index("warning")
    for row in range(model.rowCount(sev)):
        index = model.index(row, 0, sev)
        if index.data(ROLE_KIND) == kind:
            return index
    return None


def _app(qtbot, tmp_path: Path):
    root = tmp_path / "Music"
    root.mkdir()
    _no_album(root)
    ctx, window = build(tmp_path / "c.sqlite", tmp_path / "settings.json")
    qtbot.addWidget(window)
    with qtbot.waitSignal(ctx.jobs.idle, timeout=30000):
        ctx.add_folders([str(root)], then_check=True)  # as the window's Add Folder does
    assert [j.title.split()[0] for j in ctx.jobs.history] == ["Add", "Check"]
    qtbot.waitUntil(lambda: _rule_group(window, "rule:missing-tags") is not None, timeout=5000)
    return ctx, window


def test_add_folder_checks_tags_and_findings_show_rule_titles(qtbot, tmp_path: Path) -> None:
    ctx, window = _app(qtbot, tmp_path)
    group = _rule_group(window, "rule:missing-tags")
    assert group.data().startswith("Essential tags are missing · 1")
    window.findings.tree.setCurrentIndex(group)
    text = window.findings.explanation.text()
    assert "Essential tags are missing" in text and "What to do:" in text
    assert not window.findings.mute_button.isEnabled()  # a group: no file selected yet
    # The action runs a check on everything, through the job queue.
    assert window.act_check.shortcut().toString() == "Ctrl+Shift+T"
    with qtbot.waitSignal(ctx.jobs.idle, timeout=30000):
        window.act_check.trigger()
    assert ctx.jobs.history[-1].result.hits
    window.close()


def test_mute_removes_the_finding(qtbot, tmp_path: Path, monkeypatch) -> None:
    ctx, window = _app(qtbot, tmp_path)
    page = window.findings
    group = _rule_group(window, "rule:missing-tags")
    leaf = page.model.index(0, 0, group)
    flags = (
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    )
    page.tree.selectionModel().setCurrentIndex(leaf, flags)
    assert page.mute_button.isVisibleTo(page) and page.mute_button.isEnabled()
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("a single, on purpose", True))
    with qtbot.waitSignal(ctx.jobs.idle, timeout=10000):
        page.mute_button.click()
    qtbot.waitUntil(lambda: _rule_group(window, "rule:missing-tags") is None, timeout=5000)
    assert [m.reason for m in ctx.catalog.mutes()] == ["a single, on purpose"]
    with qtbot.waitSignal(ctx.jobs.idle, timeout=30000):
        ctx.check()  # a new check keeps it muted
    assert ctx.jobs.history[-1].result.muted == 1
    window.close()


def test_details_tags_tab_marks_the_flagged_field(qtbot, tmp_path: Path) -> None:
    ctx, window = _app(qtbot, tmp_path)
    (file_id,) = ctx.catalog.file_ids_under(ctx.catalog.roots()[0].id, b"")
    window.details.show_file(file_id)
    tags = window.details.tags_tree
    assert tags.value_of("Album") == "(missing)"
    mark = tags.mark_of("Album")
    assert mark is not None and mark.startswith("Essential tags are missing: no album")
    assert "Fix:" in mark
    assert tags.mark_of("Title") is None  # present and fine: not marked
    listing = window.details.findings
    texts = [listing.item(i).text() for i in range(listing.count())]
    assert "Essential tags are missing: no album" in texts
    assert tags.mark_of("Cover art")  # no cover: the cover-missing rule flags "art"
    window.close()
