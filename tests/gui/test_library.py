"""The library model (sort, filter, formatting) and the Library page on a real catalog."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox

from phonovault.core.catalog import Catalog, LibraryRow
from phonovault.core.fixity.scan import scan
from phonovault.core.fixity.verify import verify
from phonovault.core.library.roots import add_root
from phonovault.gui.app import build
from phonovault.gui.models.library_columns import Column
from phonovault.gui.models.library_model import LibraryModel
from phonovault.gui.models.library_rows import (
    compact_rows,
    free_in_chunks,
    haystacks,
    prepare,
    sort_keys,
    sorted_rows,
)
from phonovault.gui.style import state_color

ASC, DESC = Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder


def row(id: int, path: str, title: str | None, artist: str | None, album: str | None,
        track: int | None, disc: int | None, fmt: str | None, duration: float | None,
        bits: int | None, rate: int | None, size: int, state: str,
        verified: float | None) -> LibraryRow:  # fmt: skip
    return LibraryRow(id, path, title, artist, album, artist, track, disc, fmt, duration, bits,
                      rate, size, state, verified)  # fmt: skip


ROWS = [
    row(1, "/m/Zed/Alpha/02 beta.mp3", "beta", "Zed", "Alpha", 2, 1, "MP3", 200.0, None,
        44100, 3_000_000, "ok", 1000.0),
    row(2, "/m/abba/Zulu/01 Alpha.flac", "Alpha", "abba", "Zulu", 1, 1, "FLAC", 300.0, 24,
        96000, 50_000_000, "corrupt", None),
    row(3, "/m/x/gamma.flac", None, None, None, None, None, None, None, None, None, 10,
        "audio-changed", 500.0),
    row(4, "/m/Zed/Alpha/01 delta.flac", "delta", "Zed", "Alpha", 1, 1, "FLAC", 100.0, 16,
        44100, 20_000_000, "tags-changed", 2000.0),
    row(5, "/m/abba/Zulu/CD2/01 Alpha.ogg", "Alpha", "abba", "Zulu", 1, 2, "Ogg Vorbis", 300.0,
        16, 48000, 1_000, "ok", 1000.0),
]  # fmt: skip

# Expected file ids per column, ascending and descending: missing values always last, ties
# keep the previous (here: catalog) order, Artist/Album sort by album, disc and track within.
EXPECTED = {
    Column.TITLE: ([2, 5, 1, 4, 3], [3, 4, 1, 2, 5]),
    Column.ARTIST: ([2, 5, 4, 1, 3], [1, 4, 5, 2, 3]),
    Column.ALBUM: ([4, 1, 2, 5, 3], [5, 2, 1, 4, 3]),
    Column.TRACK: ([2, 4, 1, 5, 3], [5, 1, 2, 4, 3]),
    Column.FORMAT: ([2, 4, 1, 5, 3], [5, 1, 2, 4, 3]),
    Column.DURATION: ([4, 1, 2, 5, 3], [2, 5, 1, 4, 3]),
    Column.QUALITY: ([1, 4, 5, 2, 3], [2, 5, 4, 1, 3]),
    Column.SIZE: ([3, 5, 1, 4, 2], [2, 4, 1, 5, 3]),
    Column.STATE: ([2, 3, 4, 1, 5], [1, 5, 4, 3, 2]),
    Column.VERIFIED: ([3, 1, 5, 4, 2], [4, 1, 5, 3, 2]),
    Column.PATH: ([2, 5, 3, 4, 1], [1, 4, 3, 5, 2]),
}


def ids(model: LibraryModel) -> list[int]:
    return [model.file_id(r) for r in range(model.rowCount())]


def text(model: LibraryModel, r: int, column: int, role=Qt.ItemDataRole.DisplayRole):
    return model.data(model.index(r, column), role)


@pytest.fixture
def model(qapp) -> LibraryModel:
    m = LibraryModel()
    m.set_rows(list(ROWS))
    return m


# -- model ----------------------------------------------------------------------------------


def test_model_passes_the_model_tester_through_sort_and_filter(qtmodeltester, model) -> None:
    qtmodeltester.check(model)
    model.sort(Column.DURATION, DESC)
    model.set_filter("alpha")
    qtmodeltester.check(model)
    assert model.rowCount() == 4


@pytest.mark.parametrize("column", list(Column), ids=lambda c: c.name)
def test_sort_each_column_both_ways(model: LibraryModel, column: Column) -> None:
    ascending, descending = EXPECTED[column]
    model.sort(column, ASC)
    assert ids(model) == ascending
    model.sort(-1)  # back to catalog order, so the next sort's ties start from it
    model.sort(column, DESC)
    assert ids(model) == descending


def test_sort_is_stable_so_clicks_compose(model: LibraryModel) -> None:
    model.sort(Column.DURATION, ASC)  # 100 (4), 200 (1), 300 (2, 5), None (3)
    model.sort(Column.FORMAT, ASC)  # FLAC ties (2, 4) keep duration order: 4 before 2
    assert ids(model) == [4, 2, 1, 5, 3]


def test_cells_are_formatted_for_people(model: LibraryModel) -> None:
    model.sort(-1)
    assert [text(model, 0, c) for c in Column] == ["beta", "Zed", "Alpha", "2", "MP3", "3:20",
        "44.1 kHz", "3.0", "OK", model.data(model.index(0, Column.VERIFIED)),
        "/m/Zed/Alpha/02 beta.mp3"]  # fmt: skip
    assert text(model, 1, Column.QUALITY) == "24/96"
    assert text(model, 3, Column.QUALITY) == "16/44.1"
    assert text(model, 4, Column.TRACK) == "2-01"  # second disc
    assert text(model, 2, Column.TITLE) == "gamma.flac"  # no title tag: the file name
    assert text(model, 2, Column.VERIFIED) != "never" and text(model, 1, Column.VERIFIED) == (
        "never"
    )
    assert text(model, 0, Column.TITLE, Qt.ItemDataRole.ToolTipRole) == ROWS[0].path
    assert text(model, 1, Column.STATE) == "Corrupt"
    assert text(model, 1, Column.STATE, Qt.ItemDataRole.ForegroundRole) == state_color("corrupt")
    assert text(model, 0, Column.STATE, Qt.ItemDataRole.ForegroundRole) is None  # ok: plain
    assert not text(model, 1, Column.STATE, Qt.ItemDataRole.DecorationRole).isNull()
    assert model.headerData(Column.QUALITY, Qt.Orientation.Horizontal) == "Bits/kHz"


def test_filter_is_a_case_insensitive_and_of_words(model: LibraryModel) -> None:
    model.set_filter("alp")
    assert sorted(ids(model)) == [1, 2, 4, 5]  # title or album
    model.set_filter("ALPHA zed")
    assert sorted(ids(model)) == [1, 4]
    model.set_filter("zed alpha beta")
    assert ids(model) == [1]
    model.set_filter("cd2")  # path only
    assert ids(model) == [5]
    model.set_filter("gamma")  # untagged file, found by its path
    assert ids(model) == [3]
    model.set_filter("zedalpha")  # never across two fields
    assert ids(model) == []
    model.set_filter("  ")
    assert model.rowCount() == 5


def test_typing_on_narrows_and_backspacing_widens(model: LibraryModel) -> None:
    seen = []
    for typed in ("a", "al", "alp", "alph", "alpha", "alph", "a", ""):
        model.set_filter(typed)
        seen.append(model.rowCount())
    assert seen == [5, 4, 4, 4, 4, 4, 5, 5]
    model.set_filter("zulu")
    model.set_filter("zulu abba")  # narrowing from a word that is not a prefix
    assert sorted(ids(model)) == [2, 5]


def test_filter_and_sort_compose_and_survive_new_rows(model: LibraryModel) -> None:
    model.set_filter("alpha")
    model.sort(Column.SIZE, DESC)
    assert ids(model) == [2, 4, 1, 5]
    model.set_rows(list(reversed(ROWS)))  # a refresh: new list, same files
    assert ids(model) == [2, 4, 1, 5]
    assert model.filter_text() == "alpha" and model.sort_state() == (Column.SIZE, True)


def test_set_rows_hands_back_only_what_it_no_longer_uses(model: LibraryModel) -> None:
    rows = list(ROWS)
    model.set_rows(rows)
    replaced = model.set_rows(rows)  # the same list again: still in use, never handed back
    assert not any(c is rows for c in replaced)
    free_in_chunks(replaced, chunk=2)
    assert ids(model) == [1, 2, 3, 4, 5] and model.row_for_file(3) == 2


def many_rows(n: int) -> list[LibraryRow]:
    """Rows with plenty of ties and missing values, so sort stability shows."""
    return [row(i, f"/m/{i % 7}/{i:03d}.flac", f"t{i % 5}" if i % 4 else None,
                f"a{i % 3}" if i % 6 else None, "b", i % 4 or None, 1, "FLAC",
                float(i % 9) if i % 5 else None, 16, 44100, 1000 + i % 11, "ok", None)
            for i in range(1, n + 1)]  # fmt: skip


def test_a_reload_prepared_off_the_ui_thread_matches_one_made_here() -> None:
    rows = many_rows(100)
    here = LibraryModel()
    for column, order in ((Column.DURATION, ASC), (Column.ARTIST, DESC), (Column.TITLE, ASC)):
        here.sort(column, order)
    here.set_filter("t1")
    here.set_rows(list(rows))
    sorts, words = here.sort_spec(), here.filter_words()
    assert sorts == [(Column.DURATION, False), (Column.ARTIST, True), (Column.TITLE, False)]
    # chunk=7: each sort is made of slices sorted alone and merged, as on the loader thread
    prepared = prepare(compact_rows(list(rows)), sorts, words, chunk=7)
    there = LibraryModel()
    for column, descending in sorts:
        there.sort(column, DESC if descending else ASC)
    there.set_filter("t1")
    there.set_prepared(prepared)
    assert ids(there) == ids(here) and ids(here)
    assert [there.row_data(r) for r in range(there.rowCount())] == [
        here.row_data(r) for r in range(here.rowCount())
    ]
    assert type(there.row_data(0)) is LibraryRow  # plain tuples inside, rows outside
    assert there.row_for_file(here.file_id(3)) == 3


def test_a_reload_prepared_for_another_sort_or_filter_is_redone() -> None:
    rows = many_rows(60)
    model = LibraryModel()
    model.set_rows(list(rows))
    prepared = prepare(compact_rows(list(rows)), model.sort_spec(), model.filter_words())
    model.sort(Column.SIZE, DESC)  # the user clicked and typed while it was read
    model.set_filter("t2")
    expected = ids(model)
    model.set_prepared(prepared)
    assert ids(model) == expected and model.rowCount() < 60


def fresh_sorted(rows: list[LibraryRow], text: str) -> list[int]:
    """What a model that never saw another filter shows for ``text`` (sorted by title)."""
    model = LibraryModel()
    model.set_rows(list(rows))
    model.sort(Column.TITLE, DESC)
    model.set_filter(text)
    return ids(model)


def test_typing_deleting_and_retyping_match_a_fresh_filter() -> None:
    rows = many_rows(120)
    model = LibraryModel()
    model.set_rows(list(rows))
    model.sort(Column.TITLE, DESC)
    typed = ["t", "t1", "t1 ", "t1 /", "t1 /3", "t1 /", "t1", "t", "", "a", "a1", "a1 t2",
             "a1 t", "a1", "/1", "/12", "/1", "t1 /3", "3 t1", "3 t11", "flac 2"]  # fmt: skip
    for text in typed:  # narrowing, remembered filters, and fresh searches alike
        model.set_filter(text)
        assert ids(model) == fresh_sorted(rows, text), text


def test_a_filter_survives_a_sort_and_a_reload_unchanged() -> None:
    rows = many_rows(90)
    model = LibraryModel()
    model.set_rows(list(rows))
    model.set_filter("a2 /4")
    model.sort(Column.SIZE, ASC)
    model.set_filter("a2 /")  # backspacing after a sort: the remembered rows, in sorted order
    model.set_rows(list(reversed(rows)))
    model.set_filter("a2 /4")
    expected = LibraryModel()
    expected.set_rows(list(reversed(rows)))
    expected.sort(Column.SIZE, ASC)
    expected.set_filter("a2 /4")
    assert ids(model) == ids(expected) and ids(model)


def test_a_word_with_a_nul_still_matches_across_fields() -> None:
    model = LibraryModel()
    model.set_rows(list(ROWS))
    model.set_filter("zed\0alpha")  # artist then album: only in the full filter text
    assert sorted(ids(model)) == [1, 4]
    assert len(haystacks(ROWS)[0]) < len(haystacks(ROWS, whole=True)[0])  # tags in the path


@pytest.mark.parametrize("unique", [0, 600], ids=["many-ties", "few-ties"])
@pytest.mark.parametrize("column", list(Column), ids=lambda c: c.name)
def test_every_sort_path_matches_a_plain_stable_sort(column: Column, unique: int) -> None:
    """Sort indexes (no ties, few ties, many ties, missing values) against the plain sort,
    from a shuffled order and from a filtered one, both ways."""
    import random

    rows = many_rows(150) + [row(200 + i, f"/u/{i}", f"u{i}", f"u{i}", f"u{i}", i + 1, 1,
                                  f"F{i}", 1000.0 + i, 24, 96000 + i, 5000 + i, "ok", float(i))
                              for i in range(unique)]  # fmt: skip
    keys, has_none = sort_keys(rows, column)
    start = list(range(len(rows)))
    random.Random(column).shuffle(start)
    for descending in (False, True):
        model = LibraryModel()
        model.set_rows(list(rows))
        model.sort(Column.PATH, ASC)
        model._order = list(start)  # the order the previous clicks left
        model.sort(column, DESC if descending else ASC)
        expected = sorted_rows(start, keys, has_none, descending)
        assert [model.row_data(r).id for r in range(model.rowCount())] == [
            rows[i].id for i in expected
        ]
        model.set_filter("t1")
        shown = set(ids(model))
        model.sort(column, ASC if descending else DESC)
        again = sorted_rows(expected, keys, has_none, not descending)
        assert ids(model) == [rows[i].id for i in again if rows[i].id in shown]


def test_compact_rows_empties_the_named_rows_and_keeps_their_order() -> None:
    rows = many_rows(25)
    named = list(rows)
    plain = compact_rows(named, chunk=4)
    assert named == [] and plain == [tuple(r) for r in rows]
    assert all(type(r) is tuple for r in plain)


def test_selection_follows_its_rows_through_sort_and_filter(qtbot, model) -> None:
    from PySide6.QtWidgets import QTableView

    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.setCurrentIndex(model.index(model.row_for_file(4), 0))
    model.sort(Column.SIZE, ASC)
    assert model.file_id(view.currentIndex().row()) == 4
    model.set_filter("zed")
    assert model.file_id(view.currentIndex().row()) == 4
    model.set_filter("abba")  # file 4 filtered out: no current row
    assert view.currentIndex() == QModelIndex()


def test_a_big_selection_follows_its_rows_too(qtbot) -> None:
    from PySide6.QtCore import QItemSelection, QItemSelectionModel
    from PySide6.QtWidgets import QTableView

    many = [row(i, f"/m/{i:03d}.flac", f"t{i}", "a", "b", i, 1, "FLAC", float(i), 16, 44100,
                1000 - i, "ok", None) for i in range(1, 41)]  # fmt: skip
    model = LibraryModel()
    model.set_rows(many)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    chosen = set(range(2, 41, 2))  # 20 files: more than the few looked up one by one
    selection = QItemSelection()
    for r in model.rows_for_files(chosen):
        selection.select(model.index(r, 0), model.index(r, len(Column) - 1))
    view.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.Select)
    model.sort(Column.SIZE, ASC)  # reverses the rows
    selected = {model.file_id(i.row()) for i in view.selectionModel().selectedRows()}
    assert selected == chosen and model.rows_for_files(chosen) == list(range(0, 40, 2))
    model.set_filter("/01")  # files 10..19
    selected = {model.file_id(i.row()) for i in view.selectionModel().selectedRows()}
    assert selected == {10, 12, 14, 16, 18}


# -- the page on a real catalog ---------------------------------------------------------------


@pytest.fixture
def library(tmp_path: Path, make_file) -> tuple[Path, Path, list[Path]]:
    """A scanned catalog of four real files; returns (catalog path, root, files)."""
    root = tmp_path / "Music"
    files = [
        make_file("flac16", "Miles/Blue/01 So What.flac", root=root),
        make_file("mp3", "Miles/Blue/02 Freddie.mp3", root=root),
        make_file("vorbis", "Nina/Live/01 Feeling.ogg", root=root),
        make_file("flac24", "Nina/Live/02 Sinnerman.flac", root=root),
    ]
    catalog_path = tmp_path / "c.sqlite"
    with Catalog(catalog_path) as catalog:
        add_root(catalog, root)
        scan(catalog)
    return catalog_path, root, files


def open_window(qtbot, catalog_path: Path):
    ctx, window = build(catalog_path, catalog_path.with_name("settings.json"))
    qtbot.addWidget(window)
    window.show()
    page = window.library
    qtbot.waitUntil(lambda: page.model.total_count() > 0 and not page.is_loading(), timeout=5000)
    return ctx, window, page


def file_id_of(ctx, path: Path) -> int:
    return next(r.id for r in ctx.catalog.library_rows() if r.path == os.fspath(path))


def test_page_counts_and_filters_after_a_pause(qtbot, library) -> None:
    _ctx, window, page = open_window(qtbot, library[0])
    assert page.count_label.text() == "4 files"
    assert page.view.isColumnHidden(Column.PATH)
    assert page.model.sort_state() == (Column.ARTIST, False)
    qtbot.keyClicks(page.filter_edit, "NINA flac")
    qtbot.waitUntil(lambda: page.count_label.text() == "1 of 4 files", timeout=2000)
    assert page.model.row_data(0).path.endswith("02 Sinnerman.flac")
    page.filter_edit.clear()
    qtbot.waitUntil(lambda: page.count_label.text() == "4 files", timeout=2000)
    window.close()


def test_clicking_a_row_shows_the_file_in_the_details_pane(qtbot, library) -> None:
    ctx, window, page = open_window(qtbot, library[0])
    target = file_id_of(ctx, library[2][1])
    row = page.model.row_for_file(target)
    rect = page.view.visualRect(page.model.index(row, Column.TITLE))
    with qtbot.waitSignal(page.file_selected, timeout=2000) as blocker:
        qtbot.mouseClick(page.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [target]
    record = ctx.catalog.file(target)
    details = window.details
    assert details.title.text() == record.title
    assert details.fixity_tree.value_of("File hash") == record.file_hash
    assert details.fixity_tree.value_of("Audio hash") == record.audio_hash
    assert details.history.count() == len(ctx.catalog.history(target)) > 0
    window.close()


def test_refresh_keeps_filter_sort_and_selection(qtbot, library) -> None:
    ctx, window, page = open_window(qtbot, library[0])
    page.filter_edit.setText("miles")
    page.apply_filter()
    page.view.sortByColumn(Column.TITLE, DESC)
    chosen = file_id_of(ctx, library[2][0])
    assert page.select_file(chosen)
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.refresh()
    assert page.model.filter_text() == "miles" and page.model.rowCount() == 2
    assert page.model.sort_state() == (Column.TITLE, True)
    assert [page.model.row_data(r).title for r in range(2)] == ["T mp3", "T flac16"]
    assert page.current_file_id() == chosen and page.selected_file_ids() == [chosen]
    window.close()


def test_select_file_clears_a_filter_that_hides_it(qtbot, library) -> None:
    ctx, window, page = open_window(qtbot, library[0])
    page.filter_edit.setText("nina")
    page.apply_filter()
    hidden = file_id_of(ctx, library[2][0])
    assert page.model.row_for_file(hidden) == -1
    with qtbot.waitSignal(page.file_selected, timeout=1000):
        assert page.select_file(hidden)
    assert page.filter_edit.text() == "" and page.current_file_id() == hidden
    assert not page.select_file(999_999)
    window.close()


def test_show_in_folder_opens_the_files_folder(qtbot, library, monkeypatch) -> None:
    ctx, window, page = open_window(qtbot, library[0])
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    page.select_file(file_id_of(ctx, library[2][1]))
    actions = {a.text(): a for a in page.context_menu().actions()}
    actions["Show in folder"].trigger()
    assert [u.toLocalFile() for u in opened] == [str(library[2][1].parent)]
    window.close()


def damage_audio(path: Path) -> None:
    """Flip a byte of the last audio frame and move the mtime on (a write that changed the
    audio: verify calls it audio-changed)."""
    data = bytearray(path.read_bytes())
    data[-200] ^= 0xFF
    path.write_bytes(bytes(data))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


def test_accept_from_the_row_menu_makes_an_audio_changed_file_ok(
    qtbot, library, monkeypatch
) -> None:
    catalog_path, _root, files = library
    damage_audio(files[0])
    with Catalog(catalog_path) as catalog:
        assert verify(catalog).summary == {"audio-changed": 1, "ok": 3}
    ctx, window, page = open_window(qtbot, catalog_path)
    changed = file_id_of(ctx, files[0])
    page.select_file(changed)
    questions: list[str] = []

    def answer(*args, **kwargs):
        questions.append(args[2])
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer)
    actions = {a.text(): a for a in page.context_menu().actions()}
    with qtbot.waitSignal(ctx.jobs.idle, timeout=20000):
        actions["Accept as new baseline…"].trigger()
    assert len(questions) == 1 and "new baseline" in questions[0]
    assert ctx.catalog.file(changed).state == "ok"
    assert ctx.catalog.history(changed)[-1].state == "accepted"

    def row_is_ok() -> bool:
        row = page.model.row_for_file(changed)
        return row >= 0 and page.model.row_data(row).state == "ok"

    qtbot.waitUntil(row_is_ok, timeout=5000)  # the window refreshed itself after the job
    qtbot.waitUntil(lambda: window.details.state_label.text() == "OK", timeout=2000)
    window.close()


def test_accept_is_offered_only_for_changed_files_and_can_be_declined(
    qtbot, library, monkeypatch
) -> None:
    catalog_path, _root, files = library
    damage_audio(files[1])
    with Catalog(catalog_path) as catalog:
        verify(catalog)
    ctx, window, page = open_window(qtbot, catalog_path)
    page.select_file(file_id_of(ctx, files[0]))  # ok
    assert "Accept as new baseline…" not in [a.text() for a in page.context_menu().actions()]
    page.select_file(file_id_of(ctx, files[1]))  # audio-changed
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    assert page.accept_selected() is False
    assert not ctx.jobs.is_busy() and ctx.jobs.history == []
    assert ctx.catalog.file(file_id_of(ctx, files[1])).state == "audio-changed"
    window.close()


def test_the_format_column_names_the_mp4_codec(tmp_path: Path, make_file) -> None:
    """AAC and ALAC are both MP4 containers; the Format column says which one a file is."""
    from phonovault.core.catalog import Catalog
    from phonovault.core.fixity.scan import scan
    from phonovault.core.library.roots import add_root

    root = tmp_path / "Music"
    for kind in ("aac", "alac", "flac16"):
        make_file(kind, f"{kind}.m4a" if kind != "flac16" else "f.flac", root=root)
    with Catalog(tmp_path / "c.sqlite") as catalog:
        add_root(catalog, root)
        scan(catalog)
        shown = {Path(r.path).name: r.format for r in catalog.library_rows()}
    assert shown == {"aac.m4a": "AAC", "alac.m4a": "ALAC", "f.flac": "FLAC"}


def test_show_in_folder_without_a_file_manager_says_so_and_offers_the_path(
    qtbot, library, monkeypatch
) -> None:
    """Offscreen (like a desktop without a file manager) openUrl fails: a sentence and Copy
    Path instead of silence."""
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication, QMessageBox

    from phonovault.gui.reveal import show_in_folder

    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: False)
    path = "/music/Artist/Album/01 Song.flac"
    assert show_in_folder(None, path) is False
    box = next(w for w in QApplication.topLevelWidgets() if w.objectName() == "no-file-manager")
    assert isinstance(box, QMessageBox) and "/music/Artist/Album" in box.informativeText()
    copy = next(b for b in box.buttons() if b.text() == "Copy Path")
    copy.click()
    assert QGuiApplication.clipboard().text() == path
