"""Run FFmpeg (through PyAV) over a file's audio and record everything it reports.

FFmpeg *conceals* most damage: a FLAC frame failing its CRC, an Ogg page failing its checksum,
an MP3 frame without a header are logged and skipped (or decoded anyway), and decoding goes on
without an exception. So the log is the main signal and exceptions the second:

* ``err_detect=crccheck+bitstream+buffer`` must be set on the *codec context's* options before
  the first packet (``av.open(options=...)`` does not reach the decoder); without it FLAC frame
  CRCs are not even checked.
* Logs are captured per thread (``av.logging.Capture(local=True)``), so the decoder runs with
  one thread of its own; repeated lines must not be folded (the "repeated N times" summary
  would land in the next file's capture).
* Opening a file reads ahead: checksum errors the demuxer logged then are not logged again,
  while the decoder's are (those packets are decoded again); the demuxer's other complaints
  then and the image decoders probing cover art are about tags, not audio.

This module judges nothing; :mod:`phonovault.core.integrity.checks` turns what it saw into findings.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, cast

import av
import av.logging
import numpy as np
import numpy.typing as npt
from av.video.codeccontext import VideoCodecContext

__all__ = ["ERR_DETECT", "AudioRun", "DecodeCancelled", "decode_audio", "image_decodes"]

ERR_DETECT = {"err_detect": "crccheck+bitstream+buffer"}
_STOP_EVERY = 0.05  # seconds between should_stop() calls while decoding
_GAP = 0.001  # seconds of missing audio between two frames that count as a gap

_Logs = list[tuple[int, str, str]]


class DecodeCancelled(Exception):
    """``should_stop`` said stop; nothing is known about the file."""


@dataclass(slots=True)
class AudioRun:
    """What decoding saw: frames, where the audio ends, where errors were, the samples' MD5."""

    frames: int = 0
    end: float = 0.0  # seconds: the end of the latest decoded frame
    longest_frame: float = 0.0  # seconds
    errors: list[float] = field(default_factory=list)  # seconds into the track, one per packet
    failure: str | None = None  # a sentence saying why nothing could be decoded at all
    md5: bytes | None = None  # MD5 of the samples as FLAC defines it, when asked for


def decode_audio(
    fh: IO[bytes], *, end: int, md5_bits: int | None, stop: Callable[[], bool]
) -> AudioRun:
    """Decode the first audio stream of ``fh``, whose bytes after ``end`` are not audio.
    ``md5_bits``: compute the FLAC-style MD5 of the samples at this bit depth. Raises
    :class:`DecodeCancelled` when ``stop()`` turns true, and OSError when reading fails."""
    run = AudioRun()
    md5 = _SampleMd5(md5_bits) if md5_bits else None
    with _capture() as logs:
        try:
            container = av.open(_Source(fh, end), "r", metadata_errors="replace")
        except (av.error.FFmpegError, ValueError) as exc:
            run.failure = _undecodable(exc, logs)
            return run
        with container:
            if not container.streams.audio:
                run.failure = "The file has no audio stream."
                return run
            stream = container.streams.audio[0]
            ctx = stream.codec_context
            if ctx is None:  # FFmpeg has no decoder for it, or its parameters are garbage
                run.failure = "The file's audio stream cannot be decoded (no decoder for it)."
                return run
            ctx.thread_count = 1
            ctx.options = dict(ERR_DETECT)
            if _read_ahead_damage(logs, container.format.name, ctx.name):
                run.errors.append(0.0)
            del logs[:]
            _decode_packets(container.demux(stream), run, md5, logs, stop)
    if not run.frames and run.failure is None:
        run.failure = "Nothing in the file decoded as audio."
    if md5 is not None:
        run.md5 = md5.digest()
    return run


def _read_ahead_damage(logs: _Logs, demuxer: str, decoder: str) -> bool:
    """Whether opening the file met damaged audio that the decoding will not meet again: a
    checksum the demuxer found wrong while reading ahead (an Ogg page failing its CRC is
    dropped). Only checksum failures count: the other errors a demuxer logs while opening
    are about tags and cover art (an Ogg picture without a MIME type), which are not audio,
    and the decoder's own complaints come again when its packets are decoded."""
    return any(
        level <= av.logging.ERROR
        and name == demuxer != decoder
        and ("crc" in text.lower() or "checksum" in text.lower())
        for level, name, text in logs
    )


class _Source:
    """The file as PyAV reads it, ending at ``end`` (before trailing ID3v1/APEv2 tags, which
    are not audio but which FFmpeg's FLAC and WavPack decoders would take for a broken frame).
    A read error (EIO) still raises, and PyAV passes it on; a seek before the start, which
    FFmpeg computes from a damaged header (or an empty file), is only a failed seek, so it
    must not look like an unreadable file."""

    def __init__(self, fh: IO[bytes], end: int) -> None:
        self._fh = fh
        self._end = end
        self._pos = fh.seek(0)

    def read(self, size: int = -1) -> bytes:
        left = max(0, self._end - self._pos)
        data = self._fh.read(left if size < 0 else min(size, left))
        self._pos += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._end}.get(whence)
        if base is None or base + offset < 0:
            return -errno.EINVAL  # an AVERROR: this seek failed, and that is all
        try:
            self._pos = self._fh.seek(base + offset)
        except (OverflowError, ValueError):
            return -errno.EINVAL
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.EOVERFLOW):
                raise
            return -errno.EINVAL  # beyond what the file system allows: a header's fantasy
        return self._pos

    def tell(self) -> int:
        return self._pos


def _decode_packets(
    packets: Any, run: AudioRun, md5: _SampleMd5 | None, logs: _Logs, stop: Callable[[], bool]
) -> None:
    """Decode every packet; a packet that raised or logged an error counts once."""
    next_check = time.monotonic() + _STOP_EVERY
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError as exc:  # the demuxer gives up: the rest is unreadable
            run.errors.append(run.end)
            if not run.frames:
                run.failure = _undecodable(exc, logs)
            return
        where = float(packet.pts * packet.time_base) if packet.pts is not None else run.end
        failed = False
        try:
            for frame in packet.decode():
                _add_frame(run, frame)
                if md5 is not None:
                    md5.update(frame)
        except av.error.FFmpegError:
            failed = True
        if failed or any(level <= av.logging.ERROR for level, _, _ in logs):
            run.errors.append(where)
        del logs[:]
        if time.monotonic() >= next_check:
            if stop():
                raise DecodeCancelled("stopped while decoding")
            next_check = time.monotonic() + _STOP_EVERY


def _add_frame(run: AudioRun, frame: av.AudioFrame) -> None:
    rate = frame.sample_rate or 1
    length = frame.samples / rate
    if frame.pts is not None and frame.time_base is not None:
        start = float(frame.pts * frame.time_base)
    else:
        start = run.end
    # A jump forward between frames is audio the demuxer or decoder dropped without a word
    # (a FLAC frame whose header no longer parses, an Ogg page that failed its CRC).
    if run.frames and start > run.end + max(_GAP, 1 / rate):
        run.errors.append(run.end)
    if frame.is_corrupt:
        run.errors.append(start)
    run.frames += 1
    run.end = max(run.end, start + length)
    run.longest_frame = max(run.longest_frame, length)


class _SampleMd5:
    """The FLAC STREAMINFO MD5 as the reference encoder computes it: interleaved little-endian
    signed samples, ceil(bits/8) bytes each. FFmpeg hands out s16 for up to 16 bits and s32
    above, samples shifted to the top (24-bit audio arrives as value << 8; 8-bit as << 8 in
    s16), so each sample is shifted back down first."""

    def __init__(self, bits: int) -> None:
        self._bits = bits
        self._md5 = hashlib.md5()

    def update(self, frame: av.AudioFrame) -> None:
        samples = cast("npt.NDArray[np.signedinteger[Any]]", frame.to_ndarray())
        if frame.format.is_planar:
            samples = samples.T  # (channels, n) -> interleaved
        samples = samples.reshape(-1)
        width = samples.dtype.itemsize * 8
        if width == self._bits == 16:
            self._md5.update(samples.astype("<i2", copy=False).tobytes())
            return
        if width > self._bits:
            samples = samples >> (width - self._bits)
        size = (self._bits + 7) // 8
        raw = samples.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :size]
        self._md5.update(raw.tobytes())

    def digest(self) -> bytes:
        return self._md5.digest()


_capturing = 0
_capturing_lock = threading.Lock()


@contextlib.contextmanager
def _capture() -> Iterator[_Logs]:
    """This thread's FFmpeg log lines, warnings and worse, none folded into "repeated" lines.

    The level is process-wide, and PyAV's Python log callback, once on, is called from every
    FFmpeg thread of the process: a process that decodes in-process (the tests) beside Qt
    threads must not keep it on. So it is on only while some thread is capturing."""
    global _capturing
    with _capturing_lock:
        if _capturing == 0:
            av.logging.set_level(av.logging.WARNING)
            av.logging.set_skip_repeated(False)
        _capturing += 1
    try:
        with av.logging.Capture(local=True) as logs:
            yield logs
    finally:
        with _capturing_lock:
            _capturing -= 1
            if _capturing == 0:
                av.logging.set_level(None)


def _undecodable(exc: Exception, logs: _Logs) -> str:
    return f"No audio could be decoded from the file (FFmpeg: {_ffmpeg_reason(exc, logs)})."


def _ffmpeg_reason(exc: Exception, logs: _Logs) -> str:
    """FFmpeg's own words for a failure: its last error line, else the exception's text."""
    lines = [m.strip() for level, _, m in logs if level <= av.logging.ERROR and m.strip()]
    if lines:
        return lines[-1]
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def image_decodes(data: bytes, codec: str) -> bool | None:
    """Whether ``data`` decodes cleanly with FFmpeg's image decoder ``codec`` (None: this
    FFmpeg has no such decoder, so nothing can be said)."""
    try:
        ctx = av.CodecContext.create(codec, "r")
    except (av.error.FFmpegError, ValueError):
        return None
    if not isinstance(ctx, VideoCodecContext):
        return None
    ctx.options = dict(ERR_DETECT)
    with _capture() as logs:
        try:
            frames = [*ctx.decode(av.Packet(data)), *ctx.decode(None)]
        except av.error.FFmpegError:
            return False
    return bool(frames) and not any(level <= av.logging.ERROR for level, _, _ in logs)
