"""Time the GUI on a big catalog: open, sort, filter, memory, and UI stalls during a scan.

    python bench/gui_bench.py [--rows 200000] [--small] [--scan-files 300] [--scan-seconds 10]

Builds a synthetic catalog through the core API (``Catalog.insert_file`` with made-up
``Digests``/``TrackInfo`` in one transaction, in shuffled order so the catalog order is not
already the artist order), opens the real main window offscreen and measures what a user
feels: time until the table holds every row, header-click sorts, filter keystrokes (direct and
through the debounce), peak RSS, and the longest gap between 10 ms UI-thread ticks while a real
scan of a generated library runs through ``ctx.scan()`` and the window refreshes after it, per
phase (the scan; from its end until every view shows the new catalog; what trails after), with
the UI thread's time in each refresh step (in total, and its longest single call).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import audiogen  # noqa: E402
from PySide6.QtCore import QElapsedTimer, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from phonovault.core.catalog import Catalog, Observation  # noqa: E402
from phonovault.core.identity.digests import Digests  # noqa: E402
from phonovault.core.library.roots import add_root  # noqa: E402
from phonovault.core.tags.reading import TrackInfo  # noqa: E402
from phonovault.gui.app import build  # noqa: E402
from phonovault.gui.models.library_model import Column  # noqa: E402
from phonovault.gui.style import apply_theme  # noqa: E402

WORDS = ("blue", "night", "river", "golden", "echo", "velvet", "storm", "paper", "silent",
         "north", "glass", "fire", "garden", "ocean", "electric", "moon", "song", "dream",
         "city", "winter", "honey", "iron", "wild", "morning")  # fmt: skip
FORMATS = (("FLAC", "flac", 16, 44100), ("FLAC", "flac", 24, 96000), ("MP3", "mp3", None, 44100),
           ("Opus", "opus", None, 48000), ("MP4", "aac", None, 44100))  # fmt: skip
STATES = ("ok",) * 96 + ("tags-changed", "audio-changed", "corrupt", "missing")


def phrase(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).title()


def build_catalog(path: Path, rows: int, seed: int = 1) -> float:
    """A catalog of ``rows`` synthetic files (about 12 per album, 10 albums per artist)."""
    rng = random.Random(seed)
    started = time.perf_counter()
    catalog = Catalog(path)
    root = catalog.add_root(path.parent / "synthetic-root")  # absent: an offline root
    order = list(range(rows))
    rng.shuffle(order)
    now = time.time()
    with catalog.transaction():
        for n in order:
            artist_no, album_no, track = n // 120, n // 12, n % 12 + 1
            artist = f"{phrase(random.Random(artist_no), 2)} {artist_no}"
            album = f"{phrase(random.Random(album_no + 10**7), 3)} {album_no}"
            title = phrase(rng, rng.randint(1, 4))
            fmt, codec, bits, rate = FORMATS[album_no % len(FORMATS)]
            info = TrackInfo(format=fmt, codec=codec, duration=rng.uniform(60, 600),
                             sample_rate=rate, bit_depth=bits, channels=2, bitrate=900_000,
                             title=title, artist=artist, album=album, albumartist=artist,
                             track=track, tracktotal=12, disc=1, disctotal=1)  # fmt: skip
            size = rng.randint(3_000_000, 60_000_000)
            digests = Digests(size=size, file_hash=f"{n:064x}", audio_hash=f"{n + rows:064x}",
                              algorithm="blake3", audio_method=codec, fallback_reason=None,
                              sha256=None)  # fmt: skip
            relpath = f"{artist}/{album}/{track:02d} {title}.{codec}".encode()
            obs = Observation(relpath, size, n, n, digests, info, None)
            file_id = catalog.insert_file(root.id, obs, state=rng.choice(STATES), now=now)
            if rng.random() < 0.9:
                catalog.update_file(file_id, last_verified=now - rng.uniform(0, 3e7))
    catalog.close()
    return time.perf_counter() - started


class StallMeter:
    """Ticks every 10 ms on the UI thread; the longest gap between ticks is the worst stall
    (since :meth:`start`, and since the last :meth:`phase`)."""

    def __init__(self) -> None:
        self.timer = QTimer(interval=10)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.clock = QElapsedTimer()
        self.worst = 0
        self.phase_worst = 0

    def _tick(self) -> None:
        gap = self.clock.restart()
        self.worst = max(self.worst, gap)
        self.phase_worst = max(self.phase_worst, gap)

    def start(self) -> None:
        self.worst = self.phase_worst = 0
        self.clock.start()
        self.timer.start()

    def phase(self) -> int:
        """The worst stall since the last phase (or start); a new phase begins."""
        worst, self.phase_worst = self.phase_worst, 0
        return worst

    def stop(self) -> int:
        self.timer.stop()
        return self.worst


def pump_until(app: QApplication, done: Callable[[], bool], timeout: float = 300.0) -> float:
    started = time.perf_counter()
    while not done():
        app.processEvents()
        if time.perf_counter() - started > timeout:
            raise SystemExit("timed out")
        time.sleep(0.001)
    return time.perf_counter() - started


def rss_mb() -> float:
    """Resident memory now (Linux), else the peak so far."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def settle(app: QApplication, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def instrument(obj: object, name: str, spent: dict[str, list[float]], label: str) -> None:
    """Wrap ``obj.name`` to add its wall time to ``spent[label]`` = [total, longest call]
    (who stalls the UI). Signals connected to a QObject's method find the wrapper too."""
    if not hasattr(obj, name):
        return
    original = getattr(obj, name)

    def wrapper(*args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            took = time.perf_counter() - started
            total, longest = spent.get(label, (0.0, 0.0))
            spent[label] = [total + took, max(longest, took)]

    setattr(obj, name, wrapper)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--small", action="store_true", help="5,000 rows: a CI smoke run")
    ap.add_argument("--scan-files", type=int, default=300)
    ap.add_argument("--scan-seconds", type=float, default=10.0, help="length of each track")
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--build-only", type=Path, help=argparse.SUPPRESS)  # the child process
    args = ap.parse_args()
    if args.build_only:
        built = build_catalog(args.build_only, args.rows)
        with Catalog(args.build_only) as probe:
            print(f"{built:.1f} {timed(probe.library_rows):.2f}")
        return 0
    if args.small:
        args.rows = 5_000
    results: list[tuple[str, str]] = []
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    apply_theme(app)
    lib = args.out / f"gui-lib-{args.scan_files}-{args.scan_seconds:g}s"
    if not lib.exists():
        tmp = lib.with_suffix(".partial")
        audiogen.make_library(tmp, args.scan_files, seconds=args.scan_seconds)
        tmp.rename(lib)

    with tempfile.TemporaryDirectory(prefix="pv-gui-bench-") as tmp:
        catalog_path = Path(tmp) / "catalog.sqlite"
        # In a child process, so its memory does not count against the GUI's peak RSS.
        child = [sys.executable, __file__, "--rows", str(args.rows), "--build-only"]
        built, query = subprocess.run([*child, str(catalog_path)], capture_output=True, text=True,
                                      check=True).stdout.split()  # fmt: skip
        results.append((f"build catalog: {args.rows:,} rows via the core API", f"{built} s"))
        results.append(("catalog.library_rows() alone (why loading is async)", f"{query} s"))

        spent: dict[str, list[float]] = {}
        meter = StallMeter()
        started = time.perf_counter()
        ctx, window = build(catalog_path, Path(tmp) / "settings.json")
        window.show()
        constructed = time.perf_counter() - started
        page = window.library
        meter.start()
        pump_until(app, lambda: page.model.total_count() >= args.rows and not page.is_loading())
        opened = time.perf_counter() - started
        open_stall = meter.stop()
        results.append(("open: window built (UI thread)", f"{constructed:.2f} s"))
        results.append(("open: until the table holds every row", f"{opened:.2f} s"))
        results.append(("open: worst UI stall while rows load", f"{open_stall} ms"))
        results.append(("first paint of the window (grab)", f"{timed(window.grab):.3f} s"))
        results.append(("RSS with the window open", f"{rss_mb():.0f} MB"))

        view = page.view
        for column in (Column.ARTIST, Column.DURATION):
            name = column.name.title()
            for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
                t = timed(lambda c=column, o=order: view.sortByColumn(c, o))
                way = "ascending" if order == Qt.SortOrder.AscendingOrder else "descending"
                results.append((f"sort by {name} {way} (header click)", f"{t * 1000:.0f} ms"))
        model = page.model
        for text in ("e", "ec", "echo", "echo n", "echo night 1", ""):
            t = timed(lambda s=text: model.set_filter(s))
            label = f"filter keystroke set_filter({text!r})"
            results.append((label, f"{t * 1000:.0f} ms -> {model.rowCount():,} rows"))
        before = page.count_label.text()
        started = time.perf_counter()
        page.filter_edit.setText("golden")  # one keystroke's textChanged, then the debounce
        handler = time.perf_counter() - started
        pump_until(app, lambda: page.count_label.text() != before)
        debounced = time.perf_counter() - started
        results.append(("filter via the line edit: handler", f"{handler * 1000:.1f} ms"))
        shown = f"{debounced * 1000:.0f} ms (150 ms of it debounce)"
        results.append(("filter via the line edit: until shown", shown))
        page.filter_edit.clear()
        page.apply_filter()

        with Catalog(catalog_path) as writer:
            root_id = add_root(writer, lib).id
        for obj, label in ((page, "library"), (window.albums, "albums"),
                           (window.findings, "findings"), (window.backups, "backups"),
                           (window.activity, "activity")):  # fmt: skip
            instrument(obj, "refresh", spent, f"{label}.refresh()")
        instrument(page, "_apply_rows", spent, "library: swap rows in (UI thread)")
        instrument(window, "_update_summary", spent, "window._update_summary()")
        instrument(window, "_show_summary", spent, "window: show the summary")
        instrument(window.albums, "_albums_loaded", spent, "albums: show the albums")
        instrument(window.albums, "_tracks_loaded", spent, "albums: show the tracks")
        instrument(window.findings, "_findings_loaded", spent, "findings: show the findings")
        instrument(window.details, "reload", spent, "details.reload()")
        meter.start()
        started = time.perf_counter()
        job = ctx.scan([root_id], title="Bench scan")
        pump_until(app, lambda: job.finished_at is not None)
        scan_time = time.perf_counter() - started
        scan_stall = meter.phase()
        expected = args.rows + args.scan_files
        started = time.perf_counter()
        pump_until(
            app,
            lambda: (
                model.total_count() >= expected
                and not page.is_loading()
                and not (hasattr(window, "is_loading") and window.is_loading())
                and f"{expected:,} files" in window.summary.text()
            ),
        )
        refreshed = time.perf_counter() - started
        refresh_stall = meter.phase()
        settle(app, 0.5)  # trailing work (details reload, freeing old rows) counts too
        trailing_stall = meter.phase()
        total_stall = meter.stop()
        indexed = getattr(job.result, "indexed", None)
        if indexed != args.scan_files:
            raise SystemExit(f"the scan indexed {indexed} files ({job.state}: {job.error})")
        scanned = f"{scan_time:.1f} s, {args.scan_files * args.scan_seconds / 60:.0f} min audio"
        results.append((f"scan of {args.scan_files} real files via ctx.scan()", scanned))
        results.append(("worst UI stall during the scan job", f"{scan_stall} ms"))
        results.append(("  job end until every view refreshed", f"{refreshed:.2f} s"))
        results.append(("  worst UI stall in that time", f"{refresh_stall} ms"))
        results.append(("  worst UI stall in the 0.5 s after", f"{trailing_stall} ms"))
        results.append(("worst UI stall incl. refresh after it", f"{total_stall} ms"))
        for label, (seconds, longest) in sorted(spent.items(), key=lambda kv: -kv[1][0]):
            took = f"{seconds * 1000:.0f} ms (longest call {longest * 1000:.0f} ms)"
            results.append((f"  UI thread in {label}", took))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        results.append(("peak RSS (ru_maxrss)", f"{peak:.0f} MB"))
        window.close()
        ctx.catalog.close()

    width = max(len(k) for k, _ in results)
    print(f"\nPhonovault GUI, {args.rows:,} rows, offscreen, Python {sys.version.split()[0]}")
    for label, value in results:
        print(f"  {label:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
