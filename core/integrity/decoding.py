"""Decode checks over catalog files: the cache, the worker processes, the findings.

:mod:`phonovault.core.integrity.checks` judges one file; this module runs it for many. A verdict is
cached per audio payload and cover (``DecodeTarget.cache_key``), so an unchanged file, a tag
edit or an identical copy at another path is decoded once. Each verdict is committed as it
arrives, so an interrupted run loses at most the files being decoded at that moment and the
next run carries on where it stopped. Decoding is read-only, like every check.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field

from phonovault.core.catalog import Catalog, DecodeTarget, Root
from phonovault.core.integrity.checks import DecodePool, DecodeProblem, DecodeResult
from phonovault.core.jobs import CancelToken, ProgressCallback, ProgressMeter

__all__ = ["DECODE_KINDS", "DecodeReport", "decode_files", "last_decode"]

_UNCACHED = "file:"  # the key of a file decoded without caching its verdict
DECODE_KINDS = ("decode-error", "truncated", "md5-mismatch", "undecodable", "cover-damaged")


@dataclass(slots=True)
class DecodeReport:
    """What a decode run did: files judged now, files answered from the cache, problems."""

    checked: int = 0
    cached: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, why it was not read)
    problems: list[tuple[str, DecodeProblem]] = field(default_factory=list)
    audio_seconds: float = 0.0  # of audio decoded now (for "x realtime")
    bytes: int = 0  # of files decoded now or answered from the cache
    seconds: float = 0.0
    cancelled: bool = False

    @property
    def realtime(self) -> float | None:
        """How many times faster than playback the decoding ran."""
        return self.audio_seconds / self.seconds if self.seconds > 0 else None


def decode_files(
    catalog: Catalog,
    targets: Sequence[DecodeTarget],
    *,
    workers: int | None = None,
    pool: DecodePool | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    should_stop: Callable[[], bool] | None = None,
    force: bool = False,
    meter: ProgressMeter | None = None,
) -> DecodeReport:
    """Decode-check these files (cached verdicts are reused unless ``force``) and file a
    finding for each problem; a file that decodes cleanly has its old decode findings
    cleared. Files sharing a cache key (identical audio) are decoded once.

    Decoding runs in ``pool`` (a caller running several batches keeps one), else in a pool
    of ``workers`` processes started for this call. ``should_stop`` (a time budget) and
    ``cancel`` both end it early; what was judged so far is kept. A caller with its own
    ``meter`` (verify) has the decoded files and bytes counted on it."""
    started = time.monotonic()
    cancel = cancel or CancelToken()

    def stop() -> bool:
        return cancel.cancelled or (should_stop is not None and should_stop())

    run = _Decoding(catalog, targets)
    run.answer_cached(force)
    own_meter = meter is None
    if meter is not None:
        meter.add_bytes(run.report.bytes)  # the caller counted them in its total
    else:
        meter = run.meter(progress)
    run.decode(pool, workers, stop, meter, own_meter)
    if own_meter:
        meter.finish()
    run.report.cancelled = stop()
    run.report.seconds = time.monotonic() - started
    return run.report


class _Decoding:
    """One :func:`decode_files` call: the files left to decode, grouped by cache key (so
    identical audio is decoded once), and the report of what was found."""

    def __init__(self, catalog: Catalog, targets: Sequence[DecodeTarget]) -> None:
        self.catalog = catalog
        self.roots = {r.id: r for r in catalog.roots()}
        self.report = DecodeReport()
        self.by_key: dict[str, list[DecodeTarget]] = defaultdict(list)
        for t in targets:
            if t.root_id in self.roots:  # a file whose bytes are not its baseline's: never cached
                self.by_key[t.cache_key or f"{_UNCACHED}{t.id}"].append(t)

    def answer_cached(self, force: bool) -> None:
        """Judge the files whose audio has a cached verdict (unless ``force``): they are
        not decoded again."""
        cached = {} if force else self.catalog.decode_results(self.by_key)
        report = self.report
        with self.catalog.transaction():
            for key, text in cached.items():
                try:
                    result = DecodeResult.from_json(text)
                except ValueError:  # written by something else: decode again
                    continue
                for t in self.by_key.pop(key):
                    _file(self.catalog, self.roots, t, result, report)
                    report.cached += 1
                    report.bytes += t.size

    def meter(self, progress: ProgressCallback | None) -> ProgressMeter:
        """A meter of the decoding left to do, for a caller that brought none."""
        return ProgressMeter(
            "decode",
            progress,
            total=sum(len(ts) for ts in self.by_key.values()),
            bytes_total=sum(ts[0].size for ts in self.by_key.values()),
        )

    def decode(
        self, pool: DecodePool | None, workers: int | None, stop: Callable[[], bool],
        meter: ProgressMeter, own_meter: bool,
    ) -> None:  # fmt: skip
        """Decode one file of each key (in ``pool``, else in one started here), judging
        every file of the key by it; each verdict is committed as it arrives."""
        jobs = (
            (key, _path(self.roots[ts[0].root_id], ts[0].relpath), ts[0].duration)
            for key, ts in self.by_key.items()
        )
        with ExitStack() as stack:
            if self.by_key and pool is None:
                pool = stack.enter_context(DecodePool(workers))
            batch = stack.enter_context(self.catalog.batch())
            for key, outcome in pool.run(jobs, should_stop=stop) if pool else ():
                group = self.by_key[key]
                first = os.fsdecode(_path(self.roots[group[0].root_id], group[0].relpath))
                self._judge(key, group, first, outcome)
                done_bytes = sum(t.size for t in group)
                self.report.bytes += done_bytes
                meter.add_bytes(done_bytes)
                if own_meter:
                    meter.done += len(group) - 1
                    meter.file_done(first)
                else:
                    meter.current = f"decoded {first}"
                    meter.tick()
                batch.tick()

    def _judge(
        self, key: str, group: list[DecodeTarget], first: str,
        outcome: DecodeResult | BaseException,
    ) -> None:  # fmt: skip
        """File the verdict on one decoded file for every file of its key, and cache it."""
        report = self.report
        if isinstance(outcome, BaseException):
            # Unreadable now: verify's own read says why, with the right verdict (an
            # unplugged drive is offline, not damaged); no decode verdict is cached.
            report.failed.append((first, _reason(outcome)))
            return
        if not outcome.transient and not key.startswith(_UNCACHED):
            self.catalog.save_decode_result(
                key, ok=outcome.ok, result=outcome.to_json(), decoder=outcome.decoder,
                now=time.time(),
            )  # fmt: skip
        report.audio_seconds += outcome.decoded_seconds or 0.0
        for t in group:
            _file(self.catalog, self.roots, t, outcome, report)
        report.checked += len(group)


def last_decode(catalog: Catalog, file_id: int) -> tuple[float, DecodeResult] | None:
    """When the file's current audio was last decode-checked, and the verdict; None if never
    (or if the stored verdict cannot be read)."""
    found = catalog.decode_checked_at(file_id)
    if found is None:
        return None
    try:
        return found[0], DecodeResult.from_json(found[2])
    except ValueError:
        return None


def _path(root: Root, relpath: bytes) -> bytes:
    return os.path.join(os.fsencode(root.path), relpath)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc) or type(exc).__name__


def _file(
    catalog: Catalog,
    roots: dict[int, Root],
    target: DecodeTarget,
    result: DecodeResult,
    report: DecodeReport,
) -> None:
    """Make the file's decode findings say what this verdict says, and nothing older."""
    now = time.time()
    kinds = {p.kind for p in result.problems}
    catalog.clear_findings(target.id, [k for k in DECODE_KINDS if k not in kinds])
    path = os.fsdecode(_path(roots[target.root_id], target.relpath))
    for problem in result.problems:
        catalog.set_finding(target.id, problem.kind, problem.message, now)
        report.problems.append((path, problem))
