"""Decode checks: does a file still play, all of it, bit for bit as its header promises?

A checksum only proves a file did not change since we first saw it. Decoding also catches
damage that was there before the first scan. :func:`decode_check` decodes every audio packet
with FFmpeg's strict error detection and compares what came out with what the file's own
structure declares (read by mutagen and a few small parsers, not by FFmpeg, so the two sides
are independent). Findings, at most one of each kind:

* ``decode-error``: the decoder or demuxer reported damage (CRC mismatch, invalid data), or
  audio silently went missing between two frames. FFmpeg *conceals* most damage and only logs
  it, so the per-thread log capture is the main signal, exceptions the second.
* ``truncated``: decoding stops short of the declared duration (FLAC STREAMINFO, MP3
  Xing/Info/VBRI frames, MP4 ``mdhd``, WAV/AIFF declared data, WavPack total samples), an Ogg
  file lacks its end-of-stream page, or an MP4 atom runs past the end of the file.
* ``md5-mismatch``: the decoded samples differ from the FLAC STREAMINFO MD5 while nothing else
  explains it (an all-zero MD5 was never set: not a problem). It is not reported on top of a
  decode error or a truncation, which already say the audio differs; ``md5`` still does.
* ``cover-damaged`` (a warning): the embedded front cover does not decode as an image.
* ``undecodable``: no audio could be decoded at all.

What this cannot see, measured: MP3, AAC, ALAC and PCM carry no checksum, so most flipped bits
decode "fine" into wrong samples; for those the fixity audio hash is the primary detector.

Decoding holds the GIL, so :class:`DecodePool` runs checks in long-lived worker processes
(spawned, never forked: the GUI calls it from a thread) and survives a worker that crashes or
runs out of time.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import signal
import stat
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as mp_wait
from multiprocessing.context import SpawnContext
from multiprocessing.synchronize import Event
from typing import IO, Any, TypeVar

import av

from phonovault.core.errors import TagReadError
from phonovault.core.identity.payload import Malformed, locate
from phonovault.core.integrity.declared import Declared, read_declared
from phonovault.core.integrity.ffdecode import (
    AudioRun,
    DecodeCancelled,
    decode_audio,
    image_decodes,
)
from phonovault.core.spawning import spawn_context, without_main
from phonovault.core.tags.art import probe_image
from phonovault.core.tags.reading import read_cover

__all__ = [
    "DECODER_VERSION",
    "DecodeCancelled",
    "DecodePool",
    "DecodeProblem",
    "DecodeResult",
    "decode_check",
    "default_time_limit",
]

#: Bump the last number whenever a verdict could change for the same file (cache key part).
DECODER_VERSION = f"FFmpeg {av.ffmpeg_version_info} / PyAV {av.__version__} / integrity 1"

_EXACT_SLACK = 0.001  # lossless headers count samples: only rounding is forgiven
_IMAGE_CODECS = {
    "image/jpeg": "mjpeg", "image/jpg": "mjpeg", "image/png": "png", "image/gif": "gif",
    "image/webp": "webp", "image/bmp": "bmp",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class DecodeProblem:
    """One finding: ``kind`` (see the module docstring), a sentence for people, a severity."""

    kind: str
    message: str
    severity: str  # "error" for audio problems, "warning" for cover-damaged


@dataclass(frozen=True, slots=True)
class DecodeResult:
    """The verdict on one file; cached per audio hash, so it round-trips through JSON."""

    problems: tuple[DecodeProblem, ...]
    decoded_seconds: float | None  # where the decoded audio ends
    expected_seconds: float | None  # what the file's structure declares
    md5: str  # "match" | "mismatch" | "unset" | "n/a"
    decoder: str  # DECODER_VERSION of the run that judged it
    seconds: float  # wall time spent
    # A verdict that says more about this run than about the file (the decoder crashed or
    # ran out of time: the OOM killer, a busy machine). Shown, never cached.
    transient: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> str:
        return json.dumps(
            {
                "problems": [[p.kind, p.message, p.severity] for p in self.problems],
                "decoded_seconds": self.decoded_seconds,
                "expected_seconds": self.expected_seconds,
                "md5": self.md5,
                "decoder": self.decoder,
                "seconds": self.seconds,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> DecodeResult:
        """Raises ValueError when ``text`` is not a result this module wrote."""
        try:
            d = json.loads(text)
            return cls(
                problems=tuple(DecodeProblem(str(k), str(m), str(s)) for k, m, s in d["problems"]),
                decoded_seconds=_opt_float(d["decoded_seconds"]),
                expected_seconds=_opt_float(d["expected_seconds"]),
                md5=str(d["md5"]),
                decoder=str(d["decoder"]),
                seconds=float(d["seconds"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a decode result: {exc}") from exc


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def default_time_limit(expected_seconds: float | None) -> float:
    """Seconds a worker may spend on one file: a minute for any file, plus twice a budget of
    decoding at 8x realtime (a fast machine does 300-1000x; a busy slow one still beats 8x).
    An unknown duration gets 15 minutes."""
    if expected_seconds is None or expected_seconds < 0:
        return 900.0
    return 60.0 + 2.0 * expected_seconds / 8.0


def decode_check(
    path: str | bytes | os.PathLike[str],
    *,
    should_stop: Callable[[], bool] | None = None,
) -> DecodeResult:
    """Decode all of ``path`` and judge it. Raises OSError when the file cannot be read (the
    caller decides what that means) and :class:`DecodeCancelled` when ``should_stop()``
    turns true; a damaged or hostile file is a verdict, never an exception."""
    started = time.monotonic()
    stop = should_stop or _never
    if stop():
        raise DecodeCancelled("stopped before decoding")
    with open(os.fspath(path), "rb", opener=_open_nonblocking) as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", os.fsdecode(path))
        header = read_declared(fh, st.st_size)
        wants_md5 = header.md5 is not None and any(header.md5)
        bits = header.bits if wants_md5 else None
        audio = decode_audio(fh, end=_audio_end(fh, st.st_size), md5_bits=bits, stop=stop)
    problems = _audio_problems(header, audio)
    md5 = _md5_state(header, audio)
    if md5 == "mismatch" and not problems:
        problems.append(_problem("md5-mismatch", _MD5_MESSAGE))
    cover = _cover_problem(path)
    if cover is not None:
        problems.append(cover)
    return DecodeResult(
        problems=tuple(problems),
        decoded_seconds=audio.end if audio.frames else None,
        expected_seconds=header.seconds,
        md5=md5,
        decoder=DECODER_VERSION,
        seconds=time.monotonic() - started,
    )


def _audio_end(fh: IO[bytes], size: int) -> int:
    """Where a FLAC or raw frame stream (MP3, WavPack, ...) ends once trailing ID3v1, APEv2
    and Lyrics3 tags are cut off: taggers append them, and they are not damage."""
    try:
        payload = locate(fh, size)
    except (Malformed, OverflowError, ValueError):
        return size
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EOVERFLOW):  # a hostile size's seek: garbage
            raise
        return size
    if payload.method in ("flac", "stream") and payload.ranges:
        return int(payload.ranges[-1][1])
    return size


def _never() -> bool:
    return False


def _open_nonblocking(path: str | bytes, flags: int) -> int:
    # A FIFO named "x.flac" must not hang a worker; the S_ISREG check then refuses it.
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def _problem(kind: str, message: str) -> DecodeProblem:
    return DecodeProblem(kind, message, "warning" if kind == "cover-damaged" else "error")


def _secs(value: float) -> str:
    return f"{value:.1f} s"


_MD5_MESSAGE = (
    "The decoded audio does not match the MD5 checksum stored in the FLAC header, "
    "although every frame decoded without an error."
)


# --- Verdicts ---------------------------------------------------------------------------------


def _audio_problems(header: Declared, audio: AudioRun) -> list[DecodeProblem]:
    problems: list[DecodeProblem] = []
    if audio.failure is not None:
        problems.append(_problem("undecodable", audio.failure))
    slack = _EXACT_SLACK if header.exact else 2 * audio.longest_frame + _EXACT_SLACK
    errors = audio.errors if audio.frames else []
    if errors:
        first = _secs(min(errors))
        message = (
            f"The decoder reported an error {first} into the track."
            if len(errors) == 1
            else f"The decoder reported {len(errors)} errors, the first {first} into the track."
        )
        problems.append(_problem("decode-error", message))
    short = audio.frames and header.seconds is not None and audio.end < header.seconds - slack
    if short:
        message = f"The audio ends at {_secs(audio.end)} but the file declares "
        message += _secs(header.seconds or 0.0)
        # Nothing but a cut explains it without errors; with errors, lost frames may.
        cut = header.cut_short or not errors
        problems.append(_problem("truncated", message + (": it was cut short." if cut else ".")))
    elif header.cut_short:
        problems.append(_problem("truncated", header.cut_short))
    return problems


def _md5_state(header: Declared, audio: AudioRun) -> str:
    if header.md5 is None or not audio.frames:
        return "n/a"
    if not any(header.md5):
        return "unset"
    return "match" if audio.md5 == header.md5 else "mismatch"


# --- The cover ---------------------------------------------------------------------------------


def _cover_problem(path: str | bytes | os.PathLike[str]) -> DecodeProblem | None:
    """The front cover (what players and our GUI show) must decode as an image."""
    try:
        picture = read_cover(path)
    except TagReadError:
        return None  # the tag rules already report tags that do not read
    if picture is None:
        return None
    fault = _image_fault(picture.data, (picture.mime or "").lower())
    if fault is None:
        return None
    kind = (probe_image(picture.data)[0] or picture.mime or "image").rpartition("/")[2].upper()
    size = (
        f"{len(picture.data) / 1024:.0f} KB"
        if len(picture.data) >= 1024
        else f"{len(picture.data)} bytes"
    )
    return _problem("cover-damaged", f"The embedded cover ({kind}, {size}) is damaged: {fault}.")


def _image_fault(data: bytes, claimed: str) -> str | None:
    """Why ``data`` is not a usable image, or None. Formats FFmpeg cannot decode are not judged."""
    sniffed = probe_image(data)[0]
    codec = _IMAGE_CODECS.get(sniffed or claimed)
    if codec is None:
        if claimed in ("", "image/", "application/octet-stream"):
            return "its bytes are not an image"
        return None
    return "it does not decode" if image_decodes(data, codec) is False else None


# --- The pool --------------------------------------------------------------------------------

K = TypeVar("K")
_GRACE = 0.5  # seconds a worker gets to notice a stop before it is killed
_POLL = 0.1  # seconds between should_stop() calls while waiting for workers
_RECYCLE_AFTER = 1000  # files a worker decodes before a fresh process replaces it


class _Worker:
    """One long-lived decoding process and the parent's end of its pipe."""

    def __init__(self, ctx: SpawnContext, cancel: Event) -> None:
        parent, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_worker_main, args=(child, cancel), name="phonovault-decode", daemon=True
        )
        with without_main():
            self.process.start()
        child.close()  # so a dead worker reads as EOF, not a hang
        self.conn = parent
        self.files = 0

    def kill(self) -> None:
        self.process.kill()
        self.process.join(2.0)
        self.conn.close()

    def close(self) -> None:
        """Ask the worker to exit; kill it if it does not within a second."""
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(1.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(2.0)
        self.conn.close()


@dataclass(frozen=True, slots=True)
class _Job:
    key: Any
    expected: float | None
    started: float
    limit: float


def _worker_main(conn: Connection, cancel: Event) -> None:
    """A worker's life: decode what the parent sends until it sends None or goes away."""
    # Ctrl-C in a terminal reaches the whole process group; stopping is the parent's call.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            path = conn.recv()
        except (EOFError, OSError):
            return
        if path is None:
            return
        reply: tuple[str, Any]
        try:
            reply = ("ok", decode_check(path, should_stop=cancel.is_set).to_json())
        except DecodeCancelled:
            reply = ("cancelled", None)
        except OSError as exc:  # unreadable: the caller decides what that means
            reply = ("error", _picklable(exc))
        except Exception as exc:  # a bug: the parent gets it with the worker's traceback
            exc.add_note(traceback.format_exc())
            reply = ("error", _picklable(exc))
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return


def _picklable(exc: Exception) -> Exception:
    try:
        pickle.dumps(exc)
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _verdict_without_decoding(message: str, job: _Job) -> DecodeResult:
    return DecodeResult(
        problems=(_problem("undecodable", message),),
        decoded_seconds=None,
        expected_seconds=job.expected,
        md5="n/a",
        decoder=DECODER_VERSION,
        seconds=time.monotonic() - job.started,
        transient=True,
    )


class DecodePool:
    """Runs decode_check in worker processes (decoding holds the GIL): one per core by default.

    Workers are spawned (never forked: the caller may be a thread beside Qt) when first
    needed and live until the pool closes, so a run pays process start-up once, not per file.
    A worker that crashes (FFmpeg on hostile input) or overruns its file's time limit is
    killed and replaced; that file gets an ``undecodable`` verdict and the run goes on.
    ``time_limit`` maps a job's expected duration to its limit in seconds (default:
    :func:`default_time_limit`). One :meth:`run` at a time; a pool may serve many runs.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        time_limit: Callable[[float | None], float] | None = None,
    ) -> None:
        self._size = max(1, workers or _cpu_count())
        self._time_limit = time_limit or default_time_limit
        self._ctx: SpawnContext = spawn_context()
        self._cancel = self._ctx.Event()
        self._idle: list[_Worker] = []

    @property
    def workers(self) -> int:
        return self._size

    def __enter__(self) -> DecodePool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker (politely, then by force)."""
        idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()

    def run(
        self,
        jobs: Iterable[tuple[K, bytes | str, float | None]],
        *,
        should_stop: Callable[[], bool] | None = None,
    ) -> Iterator[tuple[K, DecodeResult | BaseException]]:
        """Decode ``(key, path, expected seconds or None)`` jobs; yield ``(key, verdict)`` as
        each finishes, in any order. ``jobs`` is consumed lazily, at most ``workers`` files
        in flight. The verdict is an exception when the file could not be read (OSError) or
        on a bug. ``should_stop()`` turning true ends the run within about a second: files in
        flight are abandoned without a verdict."""
        stop = should_stop or _never
        pending = iter(jobs)
        busy: dict[_Worker, _Job] = {}
        try:
            while not stop():
                self._fill(pending, busy)
                if not busy:
                    return
                yield from self._collect(busy)
        finally:
            self._abandon(busy)

    def _fill(
        self, pending: Iterator[tuple[Any, bytes | str, float | None]], busy: dict[_Worker, _Job]
    ) -> None:
        while len(busy) < self._size:
            job = next(pending, None)
            if job is None:
                return
            key, path, expected = job
            worker = self._idle.pop() if self._idle else self._spawn()
            try:
                worker.conn.send(path)
            except OSError:  # it died while idle (the OOM killer?): a fresh one takes the job
                worker.kill()
                worker = self._spawn()
                worker.conn.send(path)
            busy[worker] = _Job(key, expected, time.monotonic(), self._time_limit(expected))

    def _spawn(self) -> _Worker:
        return _Worker(self._ctx, self._cancel)

    def _collect(
        self, busy: dict[_Worker, _Job]
    ) -> Iterator[tuple[Any, DecodeResult | BaseException]]:
        """Wait a little for results, crashes and overruns; yield what happened."""
        now = time.monotonic()
        timeout = min([_POLL] + [j.started + j.limit - now for j in busy.values()])
        ready = set(mp_wait(_waitables(busy), max(0.0, timeout)))
        for worker, job in list(busy.items()):
            if worker.conn in ready or worker.process.sentinel in ready:
                del busy[worker]
                outcome = self._receive(worker, job)
                if outcome is not None:
                    yield job.key, outcome
            elif time.monotonic() > job.started + job.limit:
                del busy[worker]
                worker.kill()
                message = f"Decoding took longer than {_secs(job.limit)}; stopped."
                yield job.key, _verdict_without_decoding(message, job)

    def _receive(self, worker: _Worker, job: _Job) -> DecodeResult | BaseException | None:
        try:
            status, payload = worker.conn.recv()
        except (EOFError, OSError):  # the process died mid-file
            worker.kill()
            return _verdict_without_decoding("The decoder crashed on this file.", job)
        worker.files += 1
        if worker.files >= _RECYCLE_AFTER or not worker.process.is_alive():
            worker.close()  # a fresh process now and then: FFmpeg's leaks stay small
        else:
            self._idle.append(worker)
        if status == "ok":
            return DecodeResult.from_json(payload)
        if status == "error":
            return payload if isinstance(payload, BaseException) else RuntimeError(str(payload))
        return None  # "cancelled": a stop we asked for

    def _abandon(self, busy: dict[_Worker, _Job]) -> None:
        """Files still in flight when a run ends early: ask their workers to drop them, give
        them a moment, kill the rest. Late verdicts are dropped (nobody is listening)."""
        if not busy:
            return
        self._cancel.set()
        deadline = time.monotonic() + _GRACE
        try:
            while busy and (left := deadline - time.monotonic()) > 0:
                ready = set(mp_wait(_waitables(busy), left))
                for worker in [w for w in busy if w.conn in ready or w.process.sentinel in ready]:
                    self._receive(worker, busy.pop(worker))
            for worker in busy:
                worker.kill()
            busy.clear()
        finally:
            self._cancel.clear()


def _waitables(busy: dict[_Worker, _Job]) -> list[Any]:
    return [w.conn for w in busy] + [w.process.sentinel for w in busy]


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1
