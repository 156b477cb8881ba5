"""Fuzzing the audio-payload parser and the readers with hypothesis.

tests/core/test_fixity.py already fuzzes plain truncations and overwrites; this goes further:
flips, insertions, deletions and absurd size words aimed at the structure boundaries the
independent parsers of ``badfiles`` find, on every kind; the chunking invariance of the
result whatever the damage; and file objects that fail with EIO at their N-th call, fed to
every reader (hash, tags, the scanner's unit of work). The contract under test: only
``OSError`` and cancellation leave ``hash_file``; only ``TagReadError`` leaves
``read_tags``; only ``FileReadError`` leaves ``observe``; every reason is readable.
"""

from __future__ import annotations

import errno
import io
from functools import cache
from pathlib import Path

import blake3
import pytest
from badfiles import KINDS, cut_points
from hostile import FailingReader, unreadable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phonovault.core.errors import TagReadError
from phonovault.core.fixity.reading import FileReadError, observe
from phonovault.core.identity.digests import Digests, hash_file
from phonovault.core.identity.payload import Malformed, locate
from phonovault.core.tags.reading import TrackInfo, read_tags

FUZZ = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI stays stable, failures reproduce
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SIZE_WORDS = [b"\xff\xff\xff\xff", b"\0\0\0\0", b"\x7f\xff\xff\xff", b"\0\0\0\x01", b"\x80\0\0\0",
              b"\0\0\0\x08", b"\xff\xff\xff\xff\xff\xff\xff\xff"]  # fmt: skip


@cache
def _points(path: Path) -> list[int]:
    return sorted(cut_points(path.read_bytes()))


def mutate(templates: dict[str, Path], data: st.DataObject) -> tuple[str, bytes]:
    """A real file of a drawn kind, damaged by 1 to 6 edits, mostly at structure boundaries."""
    kind = data.draw(st.sampled_from(KINDS), label="kind")
    blob = bytearray(templates[kind].read_bytes())
    points = _points(templates[kind])
    for _ in range(data.draw(st.integers(1, 6), label="edits")):
        near = data.draw(st.sampled_from(points)) + data.draw(st.integers(-4, 4))
        where = data.draw(st.one_of(st.just(near), st.integers(0, len(blob))), label="where")
        where = max(0, min(where, len(blob)))
        op = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate", "size"]))
        if op == "flip" and where < len(blob):
            blob[where] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "insert":
            blob[where:where] = data.draw(st.binary(min_size=1, max_size=64))
        elif op == "delete":
            del blob[where : where + data.draw(st.integers(1, 300))]
        elif op == "truncate":
            del blob[where:]
        elif op == "size":
            blob[where : where + 4] = data.draw(st.sampled_from(SIZE_WORDS))
    return kind, bytes(blob)


def hash_bytes(blob: bytes, chunk_size: int = 1 << 20) -> Digests:
    return hash_file("mem", opener=lambda *_: io.BytesIO(blob), chunk_size=chunk_size)


@FUZZ
@given(data=st.data())
def test_damaged_files_hash_cleanly_and_chunking_never_matters(
    templates: dict[str, Path], data: st.DataObject
) -> None:
    _, blob = mutate(templates, data)
    digests = hash_bytes(blob)
    assert (digests.size, digests.file_hash) == (len(blob), blake3.blake3(blob).hexdigest())
    if digests.audio_method == "file":
        assert digests.audio_hash == digests.file_hash
        assert unreadable(digests.fallback_reason) is None, digests.fallback_reason
    else:
        assert digests.fallback_reason is None
    # The payload filter is fed in arbitrary pieces: damage must not make it depend on them.
    chunk = data.draw(st.sampled_from([1, 7, 61, 4099]), label="chunk")
    if chunk > 1 or len(blob) < 40_000:  # 1-byte chunks of a big file only cost time
        assert hash_bytes(blob, chunk) == digests


@FUZZ
@given(data=st.data())
def test_locate_gives_ranges_inside_the_file_or_a_readable_reason(
    templates: dict[str, Path], data: st.DataObject
) -> None:
    _, blob = mutate(templates, data)
    try:
        payload = locate(io.BytesIO(blob), len(blob))
    except Malformed as exc:
        assert unreadable(exc.reason) is None, exc.reason
        return
    if payload.ogg_start is not None:
        assert 0 <= payload.ogg_start < len(blob) and payload.ranges == ()
        return
    assert payload.ranges
    previous_end = 0
    for start, end in payload.ranges:  # sorted, disjoint, inside the file
        assert previous_end <= start <= end <= len(blob), payload
        previous_end = end


def _failing(blob: bytes, fail_at: int, made: list[FailingReader]):  # type: ignore[no-untyped-def]
    def opener(*_args: object) -> FailingReader:
        made.append(FailingReader(io.BytesIO(blob), fail_at))
        return made[-1]

    return opener


@FUZZ
@given(data=st.data(), fail_at=st.integers(1, 60), chunk=st.sampled_from([997, 1 << 16]))
def test_an_io_error_at_any_call_is_the_only_thing_that_leaves_hash_file(
    templates: dict[str, Path], data: st.DataObject, fail_at: int, chunk: int
) -> None:
    kind = data.draw(st.sampled_from(KINDS))
    damaged = data.draw(st.booleans(), label="damaged")
    blob = mutate(templates, data)[1] if damaged else templates[kind].read_bytes()
    made: list[FailingReader] = []
    try:
        digests = hash_file("x", opener=_failing(blob, fail_at, made), chunk_size=chunk)
    except OSError as exc:
        assert exc.errno == errno.EIO and made[0].calls >= fail_at
    else:
        assert made[0].calls < fail_at and digests.size == len(blob)
    assert made[0].closed


@pytest.fixture(scope="module")
def on_disk(tmp_path_factory: pytest.TempPathFactory, templates: dict[str, Path]) -> dict:
    """A scratch copy of each template (paths only: hypothesis prints its arguments)."""
    folder = tmp_path_factory.mktemp("eio")
    for path in templates.values():
        (folder / path.name).write_bytes(path.read_bytes())
    return {k: folder / p.name for k, p in templates.items()}


@settings(FUZZ, max_examples=250)
@given(kind=st.sampled_from(KINDS), fail_at=st.integers(1, 80))
def test_an_io_error_while_reading_tags_is_a_tag_read_error(
    on_disk: dict, kind: str, fail_at: int
) -> None:
    path: Path = on_disk[kind]
    made: list[FailingReader] = []

    def opener(p: object, mode: str) -> FailingReader:
        made.append(FailingReader(open(p, mode), fail_at))  # noqa: SIM115 - closed by reader
        return made[-1]

    try:
        info = read_tags(path, opener=opener)
    except TagReadError as exc:
        assert made[0].calls >= fail_at
        assert unreadable(exc.reason) is None, exc.reason
        # The I/O error is named as such, not mistaken for damage in the file.
        assert exc.reason.startswith("input/output error"), exc.reason
    else:
        assert isinstance(info, TrackInfo) and made[0].calls < fail_at
    assert made[0].closed


@settings(FUZZ, max_examples=60)
@given(kind=st.sampled_from(KINDS), fail_at=st.integers(1, 12))
def test_the_scanners_unit_of_work_turns_eio_into_a_file_read_error(
    on_disk: dict, kind: str, fail_at: int
) -> None:
    path: Path = on_disk[kind]

    def opener(p: object, mode: str) -> FailingReader:
        return FailingReader(open(p, mode), fail_at)

    with pytest.raises(FileReadError) as caught:  # hashing reads every byte: it must fail
        observe(str(path), path.name.encode(), opener=opener)
    assert caught.value.errno == errno.EIO and not caught.value.changed_during_read
    assert caught.value.reason.startswith("input/output error while reading")
