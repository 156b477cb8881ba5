"""The backup marker (``.phonovault-backup.json``) sits on a drive anyone may have written to: it
is untrusted input. Whatever it holds, or whatever it is (a FIFO, a link to /dev/zero, a folder,
a huge file, JSON nested beyond the parser's recursion limit), reading it answers "ours" or
"not ours" at once, and a target without a marker that is ours is offline, never judged."""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import tracemalloc
from functools import partial
from pathlib import Path

import pytest
from hostile import unblock_fifo, unreadable, within
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phonovault.core.backups.targets import (
    MARKER_NAME,
    add_target,
    read_marker,
    target_offline_reason,
    verify_target,
)
from phonovault.core.catalog import Catalog
from phonovault.core.cli.main import main
from phonovault.core.fixity.scan import scan
from phonovault.core.library.roots import add_root

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@FUZZ
@given(doc=st.dictionaries(st.sampled_from(["id", "root", "phonovault_backup", "x"]), JSON))
def test_any_json_document_is_ours_only_with_a_string_id(tmp_path: Path, doc: dict) -> None:
    (tmp_path / MARKER_NAME).write_text(json.dumps(doc))
    marker = read_marker(str(tmp_path))
    assert marker == (doc if isinstance(doc.get("id"), str) else None)


@FUZZ
@given(body=st.binary(max_size=2000) | st.text(max_size=500).map(str.encode))
def test_any_bytes_are_ours_or_not_never_an_error(tmp_path: Path, body: bytes) -> None:
    (tmp_path / MARKER_NAME).write_bytes(body)
    marker = read_marker(str(tmp_path))
    assert marker is None or isinstance(marker["id"], str)


HOSTILE = {
    "nested arrays": b"[" * 50_000,  # under the size cap: the parser must cope
    "nested objects": b'{"id": "x", "a": ' + b'{"a": ' * 8_000,
    "nested and closed": b"[" * 30_000 + b"]" * 30_000,
    "NUL bytes": b'{"id": "a\x00b"}\x00\x00',
    "non-UTF-8": b'{"id": "caf\xe9"}',
    "UTF-16": '{"id": "x"}'.encode("utf-16"),
    "huge integer": b'{"id": "x", "n": ' + b"9" * 100_000 + b"}",
    "huge id": b'{"id": "' + b"x" * 70_000 + b'"}',
    "a list": b'[{"id": "x"}]',
    "id is a number": b'{"id": 12}',
    "truncated": b'{"id": "x", "root": "/mu',
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_documents_are_not_ours(tmp_path: Path, body: bytes) -> None:
    (tmp_path / MARKER_NAME).write_bytes(body)
    assert within(10, "reading a hostile marker", lambda: read_marker(str(tmp_path))) is None


def test_a_huge_marker_is_never_read_whole(tmp_path: Path) -> None:
    with (tmp_path / MARKER_NAME).open("wb") as fh:
        fh.write(b'{"id": "x", "pad": "')
        fh.truncate(200 << 20)  # 200 MB, sparse
    tracemalloc.start()
    try:
        assert read_marker(str(tmp_path)) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"{peak / 1e6:.0f} MB to look at a marker"


def test_a_marker_that_is_not_a_regular_file_is_not_ours(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir()
    (real / MARKER_NAME).write_text('{"id": "some-other-target"}')
    cases = {"fifo": lambda p: os.mkfifo(p),
             "link": lambda p: p.symlink_to(real / MARKER_NAME), "folder": lambda p: p.mkdir(),
             "dangling": lambda p: p.symlink_to(tmp_path / "nothing"),
             "loop": lambda p: p.symlink_to(p)}  # fmt: skip
    for name, make in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        make(folder / MARKER_NAME)
        try:
            marker = within(10, f"reading a marker that is a {name}",
                            lambda f=folder: read_marker(str(f)))  # fmt: skip
        finally:
            if name == "fifo":
                unblock_fifo(folder / MARKER_NAME)
        assert marker is None, name


def test_a_marker_linked_to_dev_zero_is_not_read_forever(tmp_path: Path) -> None:
    """In a child with 1 GB of address space and a deadline: a reader that regressed to
    reading the whole marker would read /dev/zero into memory without end."""
    (tmp_path / MARKER_NAME).symlink_to("/dev/zero")
    probe = (
        "from phonovault.core.backups.targets import read_marker; "
        f"print(read_marker({str(tmp_path)!r}))"
    )

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    done = subprocess.run([sys.executable, "-c", probe], preexec_fn=limit, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "None\n"), done.stderr[-500:]


def test_a_fifo_marker_makes_the_target_offline_and_blocks_no_command(
    tmp_path: Path, make_file
) -> None:
    root, target = tmp_path / "Music", tmp_path / "Backup"
    make_file("flac16", "A/1.flac", root=root)
    make_file("flac16", "A/1.flac", root=target)
    cat = str(tmp_path / "c.sqlite")
    with Catalog(cat, create=True) as catalog:
        add_root(catalog, root)
        scan(catalog)
        registered = add_target(catalog, target, root)
        marker = target / MARKER_NAME
        marker.unlink()
        os.mkfifo(marker)  # the drive was swapped for one with something odd on it
        try:
            reason = within(10, "judging the target", lambda: target_offline_reason(registered))
            assert reason and unreadable(reason) is None and MARKER_NAME in reason
            report = within(10, "verifying the target", lambda: verify_target(catalog, registered))
            assert report.offline and report.results == []
            for argv in (["backups", "list"], ["backups", "verify"]):
                out = io.StringIO()
                argv = [*argv, "--json", "--catalog", cat]
                code = within(30, argv[1], partial(main, argv, out, io.StringIO()))
                assert code == 1, (argv, out.getvalue())
                json.loads(out.getvalue())
        finally:
            unblock_fifo(marker)
