"""The verdict matrix: every generated format x every decode-critical structure flipped.

    python bench/identity_matrix.py [--markdown]

For each format the test suite generates, one byte is flipped (size and mtime kept) in each
structure a decoder needs, found by the independent spec parsers of tests/decode_critical.py,
and in the title (a write whose mtime was put back: ctime shows it, so it is an edit, except
in Ogg, where the page CRC fails and a decoder drops the page); then the same file is edited
by mutagen (title). Each case runs the real scan
and verify on a fresh catalog and prints the verdict, with whether the audio identity moved
and what a decoder (PyAV, through ``verify --decode``) says about the damaged file. This is
the table the README's "verdicts" section and issue 13's closing note quote.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import audiogen  # noqa: E402
from decode_critical import critical_structures  # noqa: E402

from phonovault.core.catalog import Catalog  # noqa: E402
from phonovault.core.fixity.scan import scan  # noqa: E402
from phonovault.core.fixity.verify import verify  # noqa: E402
from phonovault.core.library.roots import add_root  # noqa: E402

DECODE = {"decode-error", "truncated", "md5-mismatch", "undecodable"}


def judge(template: Path, work: Path, change) -> tuple[str, str]:
    """(fixity verdict, decode findings) after ``change`` on a catalogued copy."""
    root = work / "Music"
    root.mkdir(parents=True)
    path = root / template.name
    path.write_bytes(template.read_bytes())
    with Catalog(work / "c.sqlite") as catalog:
        add_root(catalog, root)
        scan(catalog)
        change(path)
        report = verify(catalog, decode=True)
        [result] = report.results
        kinds = {f.kind for f in catalog.findings_for_file(result.file_id or 0)} & DECODE
    return result.state, ", ".join(sorted(kinds)) or "plays"


def flip_at(offset: int):
    def change(path: Path) -> None:
        st = path.stat()
        data = bytearray(path.read_bytes())
        data[offset] ^= 0x5A
        path.write_bytes(bytes(data))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))

    return change


def retitle(path: Path) -> None:
    audiogen.tag(path, {"title": "Edited by a tagger"})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args()
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        n = 0
        for kind, k in audiogen.KINDS.items():
            where = base / "t" / f"{kind}{k.suffix}"
            template = audiogen.make_track(where, kind, title=f"T {kind}")
            cases = [(name, flip_at(at)) for name, at in critical_structures(template).items()]
            title_at = template.read_bytes().index(f"T {kind}".encode()) + 2
            cases += [("a title byte, mtime put back", flip_at(title_at)),
                      ("mutagen title edit", retitle)]  # fmt: skip
            for name, change in cases:
                n += 1
                state, decoded = judge(template, base / f"case{n}", change)
                rows.append((kind, name.split(":", 1)[-1], state, decoded))
    if args.markdown:
        print("| format | changed | verdict | decoder |")
        print("|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in [("format", "changed", "verdict", "decoder"), *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
