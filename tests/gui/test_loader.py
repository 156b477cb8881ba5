"""BackgroundQuery: catalog reads off the UI thread, latest request wins; and the one-query
status-line numbers it reads for the window."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import shiboken6

from phonovault.core.catalog import Catalog, Observation
from phonovault.core.errors import PhonovaultError
from phonovault.core.tags.reading import TrackInfo
from phonovault.gui.loader import BackgroundQuery, full_collections_deferred


def add_file(catalog: Catalog, root_id: int, n: int, *, album: str, state: str = "ok") -> int:
    info = TrackInfo(format="FLAC", codec="flac", duration=60.0 + n, sample_rate=44100,
                     bit_depth=16, channels=2, bitrate=900_000, title=f"Song {n}",
                     artist="Artist", album=album, track=n)  # fmt: skip
    obs = Observation(f"{album}/{n:02d}.flac".encode(), 1000 + n, n, n, None, info, None)
    return catalog.insert_file(root_id, obs, state=state, now=1000.0 + n)


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    """Five files in two albums (one never verified), findings of every severity."""
    with Catalog(tmp_path / "c.sqlite") as cat:
        root = cat.add_root(tmp_path / "Music")
        with cat.transaction():
            ids = [add_file(cat, root.id, n, album="A") for n in range(3)]
            ids += [add_file(cat, root.id, 3, album="B", state="corrupt")]
            ids += [add_file(cat, root.id, 4, album="", state="tags-changed")]
            for file_id in ids[:4]:
                cat.update_file(file_id, last_verified=2000.0 + file_id)
            cat.set_finding(ids[3], "corrupt", "changed", 3000.0)  # error
            cat.set_finding(ids[4], "unreadable-tags", "bad", 3000.0)  # warning
            cat.set_finding(ids[4], "tags-changed", "edited", 3000.0)  # info
        yield cat


class Recorder:
    """What a query delivered, and on which thread."""

    def __init__(self, query: BackgroundQuery) -> None:
        self.results: list[object] = []
        self.errors: list[str] = []
        self.threads: set[int] = set()
        query.finished.connect(self._result)
        query.failed.connect(self._error)

    def _result(self, value: object) -> None:
        self.results.append(value)
        self.threads.add(threading.get_ident())

    def _error(self, message: str) -> None:
        self.errors.append(message)
        self.threads.add(threading.get_ident())


def test_the_result_arrives_on_the_ui_thread_from_another_thread(qtbot, catalog) -> None:
    query = BackgroundQuery(catalog)
    seen = Recorder(query)
    ran_on: list[int] = []

    def read(cat: Catalog) -> int:
        ran_on.append(threading.get_ident())
        assert cat is not catalog  # its own connection
        return len(cat.library_rows())

    with qtbot.waitSignal(query.finished, timeout=5000):
        query.request(read)
        assert query.is_busy()
    assert seen.results == [5] and not query.is_busy()
    assert seen.threads == {threading.get_ident()}
    assert ran_on and ran_on[0] != threading.get_ident()


def test_a_newer_request_drops_the_result_of_the_one_running(qtbot, catalog) -> None:
    query = BackgroundQuery(catalog)
    seen = Recorder(query)
    release = threading.Event()
    ran: list[str] = []

    def slow(_cat: Catalog) -> str:
        ran.append("slow")
        release.wait(5)
        return "stale"

    def named(name: str) -> Callable[[Catalog], str]:
        def read(_cat: Catalog) -> str:
            ran.append(name)
            return name

        return read

    query.request(slow)
    qtbot.waitUntil(lambda: ran == ["slow"], timeout=5000)  # running now
    query.request(named("overtaken"))  # waits, then is replaced before it starts
    query.request(named("latest"))
    release.set()
    qtbot.waitUntil(lambda: not query.is_busy(), timeout=5000)
    qtbot.wait(50)  # nothing else trails in
    assert seen.results == ["latest"]
    assert ran == ["slow", "latest"]  # one read at a time; the overtaken one never ran


def test_errors_arrive_as_messages_and_bugs_are_logged(qtbot, catalog, caplog) -> None:
    query = BackgroundQuery(catalog)
    seen = Recorder(query)

    def expected(_cat: Catalog) -> None:
        raise PhonovaultError("the disk went away")

    def bug(_cat: Catalog) -> None:
        raise KeyError("oops")

    with qtbot.waitSignal(query.failed, timeout=5000):
        query.request(expected)
    with caplog.at_level(logging.ERROR), qtbot.waitSignal(query.failed, timeout=5000):
        query.request(bug)
    assert seen.errors == ["the disk went away", "internal error (details in the log)"]
    assert "KeyError" in caplog.text
    assert seen.results == []


def test_a_catalog_gone_from_disk_is_an_error_not_a_new_catalog(qtbot, tmp_path) -> None:
    path = tmp_path / "c.sqlite"
    with Catalog(path) as catalog:
        query = BackgroundQuery(catalog)
        seen = Recorder(query)
    for leftover in tmp_path.glob("c.sqlite*"):
        leftover.unlink()
    with qtbot.waitSignal(query.failed, timeout=5000):
        query.request(Catalog.roots)
    assert "no catalog" in seen.errors[0] and not path.exists()


def test_an_in_memory_catalog_is_read_at_once_on_its_own_connection(qtbot) -> None:
    with Catalog(":memory:") as catalog:
        query = BackgroundQuery(catalog)
        seen = Recorder(query)
        used: list[Catalog] = []
        query.request(lambda cat: used.append(cat) or "now")
        assert seen.results == ["now"] and used == [catalog]  # before request() returned
        assert not query.is_busy()


def test_full_collections_are_deferred_and_then_restored() -> None:
    before = gc.get_threshold()
    with full_collections_deferred():
        deferred = gc.get_threshold()
        with full_collections_deferred():  # nests
            assert gc.get_threshold() == deferred
        assert gc.get_threshold() == deferred
    assert deferred[:2] == before[:2] and deferred[2] > 10_000
    assert gc.get_threshold() == before


def test_summary_counts_match_the_separate_queries(catalog: Catalog) -> None:
    files, size, oldest = catalog.totals()
    assert catalog.summary_counts() == (
        files,
        size,
        oldest,
        catalog.state_counts(),
        catalog.album_count(),
        len(catalog.findings(min_severity="warning")),
    )
    assert catalog.summary_counts()[:3] == (5, 5010, None)  # one file was never verified
    assert catalog.summary_counts()[3:] == ({"ok": 3, "corrupt": 1, "tags-changed": 1}, 3, 2)


def test_summary_counts_of_an_empty_catalog(tmp_path: Path) -> None:
    with Catalog(tmp_path / "c.sqlite") as catalog:
        assert catalog.summary_counts() == (0, 0, None, {}, 0, 0)
        assert catalog.totals() == (0, 0, None)


def test_summary_counts_oldest_verification(catalog: Catalog) -> None:
    catalog.update_file(5, last_verified=2500.0)  # now every file was verified
    assert catalog.summary_counts()[2] == catalog.totals()[2] == 2001.0


def test_read_waits_for_nothing_on_the_ui_thread(qtbot, catalog) -> None:
    """A slow read never blocks request(): the UI thread stays free."""
    query = BackgroundQuery(catalog)
    release = threading.Event()
    started = time.perf_counter()
    query.request(lambda _cat: release.wait(5))
    assert time.perf_counter() - started < 0.5
    release.set()
    qtbot.waitUntil(lambda: not query.is_busy(), timeout=5000)


def test_a_query_destroyed_while_it_reads_waits_for_the_read(qtbot, catalog) -> None:
    query = BackgroundQuery(catalog)
    finished: list[str] = []
    release = threading.Event()

    def read(_cat: Catalog) -> str:
        release.wait(5)
        finished.append("read")
        return "late"

    query.request(read)
    threading.Timer(0.1, release.set).start()
    shiboken6.delete(query)  # its pool waits for the read; the late result goes nowhere
    assert finished == ["read"]
    qtbot.wait(50)
