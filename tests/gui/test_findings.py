"""The Findings page on a real catalog: grouping and counts, explanations, fitting actions,
and accepting a new baseline through a real job."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import audiogen
import pytest
from audiogen import flip_audio_byte
from PySide6.QtCore import QItemSelectionModel, QModelIndex
from PySide6.QtWidgets import QMessageBox

from phonovault.core.catalog import Catalog
from phonovault.core.config import Settings
from phonovault.core.fixity.scan import scan
from phonovault.core.fixity.verify import verify
from phonovault.core.library.roots import add_root
from phonovault.gui.context import AppContext
from phonovault.gui.models.findings_model import FindingsModel
from phonovault.gui.views.findings_view import FindingsPage


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[AppContext]:
    """One of each: corrupt, audio-changed, missing, unreadable tags, tags-changed (info)."""
    root = tmp_path / "Music"
    paths = audiogen.make_library(root, 5, kinds=["flac16", "mp3"])
    (root / "junk.flac").write_bytes(b"not audio at all " * 64)
    catalog = Catalog(tmp_path / "c.sqlite")
    add_root(catalog, root)
    scan(catalog)
    flip_audio_byte(paths[0])  # corrupt
    flip_audio_byte(paths[1])
    os.utime(paths[1])  # written to: audio-changed
    paths[2].unlink()  # missing
    st = paths[3].stat()
    audiogen.tag(paths[3], {"title": "A new title"})
    os.utime(paths[3], ns=(st.st_atime_ns, st.st_mtime_ns))  # tags-changed
    verify(catalog)
    context = AppContext(catalog, Settings(), tmp_path / "settings.json")
    yield context
    context.jobs.wait(10000)
    catalog.close()


@pytest.fixture
def page(qtbot, ctx: AppContext) -> FindingsPage:
    widget = FindingsPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    with qtbot.waitSignal(widget.loaded, timeout=5000):  # read off the UI thread
        widget.refresh()
    return widget


def labels(model: FindingsModel, parent: QModelIndex | None = None) -> list[str]:
    parent = parent or QModelIndex()
    return [model.index(r, 0, parent).data() for r in range(model.rowCount(parent))]


def select_leaves(page: FindingsPage, *kinds: str) -> list[QModelIndex]:
    """Select the leaf of each kind (one file each here); the first becomes current."""
    chosen = []
    for kind in kinds:
        severity = {"corrupt": "error", "missing": "error"}.get(kind, "warning")
        group = page.model.group_index(severity, kind)
        chosen.append(page.model.index(0, 0, group))
    selection = page.tree.selectionModel()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    selection.clearSelection()
    for index in chosen:
        selection.select(index, flags)
    selection.setCurrentIndex(chosen[0], QItemSelectionModel.SelectionFlag.NoUpdate)
    return chosen


def test_findings_model_passes_the_model_tester(qtmodeltester, ctx: AppContext) -> None:
    model = FindingsModel()
    model.set_findings(ctx.catalog.findings(), [r.path for r in ctx.catalog.roots()])
    qtmodeltester.check(model)
    assert model.total() == 5


def test_tree_groups_by_severity_then_kind_with_counts(qtbot, page: FindingsPage) -> None:
    model = page.model
    assert labels(model) == ["Errors · 3", "Warnings · 1"]  # information hidden by default
    assert labels(model, model.group_index("error")) == [
        "Corrupt (bit rot) · 1",
        "Missing · 1",
        "Tags cannot be read · 1",
    ]
    assert labels(model, model.group_index("warning")) == ["Audio changed · 1"]
    leaf = model.index(0, 0, model.group_index("error", "rule:tags-unreadable"))
    assert leaf.data() == "junk.flac"  # relative to the library folder
    assert page.summary.text() == "3 errors, 1 warning"
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.show_info.setChecked(True)
    assert labels(model) == ["Errors · 3", "Warnings · 1", "Information · 1"]
    assert labels(model, model.group_index("info")) == ["Tags changed · 1"]


def test_explanation_and_actions_fit_the_selected_kind(page: FindingsPage) -> None:
    select_leaves(page, "corrupt")
    assert "backup" in page.explanation.text()
    assert page.accept_button.isVisibleTo(page) and page.accept_button.isEnabled()
    assert not page.rescan_button.isVisibleTo(page)
    select_leaves(page, "missing")
    assert "rescan" in page.explanation.text().lower()
    assert page.rescan_button.isVisibleTo(page)
    assert not page.accept_button.isVisibleTo(page)
    select_leaves(page, "audio-changed", "missing")  # no single action fits both
    assert not page.accept_button.isVisibleTo(page)


def test_show_file_emits_the_selected_file(qtbot, page: FindingsPage) -> None:
    (leaf,) = select_leaves(page, "audio-changed")
    expected = page.model.finding(leaf).file_id
    with qtbot.waitSignal(page.file_selected, timeout=1000) as blocker:
        page.show_button.click()
    assert blocker.args == [expected]


def test_refresh_keeps_the_selection_and_leaves_the_details_pane_alone(
    qtbot, page: FindingsPage
) -> None:
    (leaf,) = select_leaves(page, "audio-changed")
    finding_id = page.model.finding(leaf).id
    with qtbot.assertNotEmitted(page.file_selected), qtbot.waitSignal(page.loaded, timeout=5000):
        page.refresh()
    assert [f.id for f in page.selected_findings()] == [finding_id]
    assert page.model.finding(page.tree.currentIndex()).id == finding_id


def test_accepting_an_audio_change_makes_the_finding_go_away(
    qtbot, page: FindingsPage, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def yes(_parent, _title, text, *_args):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", yes)
    select_leaves(page, "audio-changed")
    with qtbot.waitSignal(ctx.jobs.idle, timeout=20000):
        page.accept_button.click()
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.refresh()
    assert len(asked) == 1 and "this file" in asked[0]
    assert labels(page.model) == ["Errors · 3"]  # the only warning was accepted
    assert "Corrupt (bit rot) · 1" in labels(page.model, page.model.group_index("error"))
    assert ctx.catalog.journal()[0].action == "accept"


def test_declining_the_confirmation_accepts_nothing(
    page: FindingsPage, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.No)
    select_leaves(page, "corrupt")
    page.accept_button.click()
    assert ctx.jobs.pending() == [] and ctx.jobs.history == []


def test_refresh_keeps_collapsed_groups_and_expands_the_rest(qtbot, page: FindingsPage) -> None:
    model, tree = page.model, page.tree
    groups = [model.group_index(s) for s in ("error", "warning")]
    kinds = [model.group_index("error", "corrupt"), model.group_index("warning", "audio-changed")]
    assert all(tree.isExpanded(i) for i in groups + kinds)
    tree.collapse(kinds[0])
    tree.collapse(groups[1])
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.refresh()
    groups = [model.group_index(s) for s in ("error", "warning")]
    kinds = [model.group_index("error", "corrupt"), model.group_index("warning", "audio-changed")]
    assert [tree.isExpanded(i) for i in groups + kinds] == [True, False, False, True]
    assert tree.isFirstColumnSpanned(kinds[1].row(), groups[1])
    leaf = model.index(0, 0, kinds[1])
    assert not tree.isExpanded(leaf) and not model.hasChildren(leaf)
