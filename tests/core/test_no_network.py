"""The README promises that Phonovault never opens a network connection: hold it to that."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from phonovault.core.catalog import Catalog
from phonovault.core.config import Settings
from phonovault.core.fixity.scan import scan
from phonovault.core.fixity.verify import verify
from phonovault.core.library.roots import add_root
from phonovault.core.plugin_api import load_plugins
from phonovault.core.rules.engine import check


def test_scan_verify_and_check_open_no_socket(
    tmp_path: Path, make_file, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[tuple] = []

    class NoSocket(socket.socket):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            opened.append(args)
            raise OSError("network use is not allowed in Phonovault")

    monkeypatch.setattr(socket, "socket", NoSocket)
    monkeypatch.setattr(socket, "create_connection", NoSocket)
    root = tmp_path / "Music"
    for kind in ("flac16", "mp3", "opus", "aac"):
        make_file(kind, root=root)
    with Catalog(tmp_path / "c.sqlite") as catalog:
        add_root(catalog, root)
        assert scan(catalog).indexed == 4
        assert verify(catalog).summary == {"ok": 4}
        report = check(catalog, plugins=load_plugins(), settings=Settings())
        assert report is not None
    assert opened == []
