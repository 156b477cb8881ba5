"""The libraries the comparison runs on: generated, seeded, and cached under bench/out.

Encoding 2,000 real four-minute tracks would take an hour, so (as ``audiogen.make_library``
does) one template is encoded per format and duration, given a front cover, and every track is
a copy of one with its own tags: each file has a distinct file hash, real codec data, and the
size a real track of that length has.

A library is re-used while its manifest (``lib-NAME.json``: the generator's parameters and a
digest of every path and size) still matches what is on disk; otherwise it is made anew.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import shutil
import struct
import sys
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import audiogen  # noqa: E402
import mutagen  # noqa: E402
from mutagen.apev2 import BINARY, APEv2File, APEValue  # noqa: E402
from mutagen.flac import FLAC, Picture  # noqa: E402
from mutagen.id3 import APIC  # noqa: E402
from mutagen.mp4 import MP4, MP4Cover  # noqa: E402

GENERATOR = 1  # bump when the way files are made changes: cached libraries are then remade

UNIFORM = tuple((kind, 1) for kind in audiogen.KINDS)
# A mixed personal collection: mostly lossy purchases and rips, some lossless, a little hi-res.
# Every format is present; lossless is 13 % of the tracks and about 55 % of the bytes.
COLLECTION = (("mp3", 42), ("aac", 22), ("opus", 12), ("vorbis", 6), ("flac16", 7),
              ("alac", 2), ("wavpack", 2), ("flac24", 1), ("wav", 1), ("aiff", 1))  # fmt: skip
# What tools leave in a folder they check; removed before every round and on re-use.
TOOL_STATE = (".bitrot.db", ".bitrot.sha512", ".chkbit", ".chkbitignore")


@dataclass(frozen=True, slots=True)
class LibrarySpec:
    name: str
    tracks: int
    mix: tuple[tuple[str, int], ...]
    seconds: tuple[float, ...]  # durations of the templates; each track picks one
    cover: bool  # every template carries a front cover (PNG, about 270 KB)
    seed: int = 7


@dataclass(frozen=True, slots=True)
class Library:
    spec: LibrarySpec
    root: Path
    files: tuple[Path, ...]
    bytes: int


def spec_for(*, small: bool, files: int | None, tracks: int | None = None,
             minutes: tuple[float, float] | None = None) -> LibrarySpec:  # fmt: skip
    """The variant the command line asked for (see compare.py's help)."""
    if files is not None:
        return LibrarySpec(f"tiny-{files}", files, UNIFORM, (0.2,), cover=False)
    if small:
        return LibrarySpec("small", tracks or 60, UNIFORM, (1.0, 2.0), cover=True)
    lo, hi = minutes or (3.0, 5.0)
    seconds = tuple(round(60 * (lo + (hi - lo) * i / 2), 1) for i in range(3))
    name = "default" if (tracks or 2000, minutes or (3.0, 5.0)) == (2000, (3.0, 5.0)) else (
        f"{tracks or 2000}-{lo:g}-{hi:g}min")  # fmt: skip
    return LibrarySpec(name, tracks or 2000, COLLECTION, seconds, cover=True)


def clean_tool_state(root: Path) -> int:
    """Remove every competitor's state files from the library; returns how many."""
    removed = 0
    for folder, _, names in os.walk(root):
        for name in names:
            if name in TOOL_STATE or name.startswith(".bitrot."):
                os.unlink(os.path.join(folder, name))
                removed += 1
    return removed


def listing(root: Path) -> tuple[list[Path], int, str]:
    """Every file of the library (sorted), their total size and a digest of paths and sizes."""
    files: list[Path] = []
    digest = hashlib.sha256()
    total = 0
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder, name)
            size = path.stat().st_size
            files.append(path)
            total += size
            digest.update(f"{path.relative_to(root)}\0{size}\n".encode())
    return files, total, digest.hexdigest()


def ensure_library(spec: LibrarySpec, out: Path, *, log=print) -> Library:  # type: ignore[no-untyped-def]
    root, manifest = out / f"lib-{spec.name}", out / f"lib-{spec.name}.json"
    params = {"generator": GENERATOR, **asdict(spec)}
    params = json.loads(json.dumps(params))  # tuples as lists, as the manifest holds them
    if root.is_dir() and manifest.is_file():
        clean_tool_state(root)
        saved = json.loads(manifest.read_text())
        if saved.get("params") == params:
            files, total, digest = listing(root)
            if (len(files), total, digest) == (saved["files"], saved["bytes"], saved["digest"]):
                return Library(spec, root, tuple(files), total)
            log(f"library {root} differs from its manifest: making it anew")
    shutil.rmtree(root, ignore_errors=True)
    partial = out / f"lib-{spec.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    log(f"generating {spec.tracks} files into {root} (once; cached) ...")
    generate(spec, partial, out / f"lib-{spec.name}.templates")
    partial.rename(root)
    files, total, digest = listing(root)
    manifest.write_text(
        json.dumps(
            {"params": params, "files": len(files), "bytes": total, "digest": digest}, indent=1
        )
    )
    return Library(spec, root, tuple(files), total)


def plan(spec: LibrarySpec) -> list[tuple[str, float]]:
    """(kind, seconds) of every track, in order: the mix shuffled, durations drawn, seeded."""
    rng = random.Random(spec.seed)
    cycle = [kind for kind, weight in spec.mix for _ in range(weight)]
    rng.shuffle(cycle)
    return [(cycle[n % len(cycle)], rng.choice(spec.seconds)) for n in range(spec.tracks)]


def generate(spec: LibrarySpec, root: Path, tmpl_dir: Path) -> None:
    tracks = plan(spec)
    wanted = sorted(set(tracks))
    shutil.rmtree(tmpl_dir, ignore_errors=True)
    jobs = [(tmpl_dir / f"{kind}-{secs:g}s{audiogen.KINDS[kind].suffix}", kind, secs, i,
             spec.cover) for i, (kind, secs) in enumerate(wanted)]  # fmt: skip
    workers = os.cpu_count() or 1
    with ProcessPoolExecutor(workers) as pool:
        templates = dict(zip(wanted, pool.map(_make_template, jobs), strict=True))
        todo = [(root, n, templates[t]) for n, t in enumerate(tracks)]
        list(pool.map(_make_copy, todo, chunksize=max(1, len(todo) // (workers * 8))))
    shutil.rmtree(tmpl_dir, ignore_errors=True)


def _make_template(job: tuple[Path, str, float, int, bool]) -> Path:
    path, kind, seconds, seed, cover = job
    audiogen.encode(path, kind, seconds=seconds, seed=seed, freq=220.0 + 37 * seed)
    if cover:
        add_cover(path, cover_png(seed))
    return path


def _make_copy(job: tuple[Path, int, Path]) -> None:
    root, n, template = job
    album_no, track_no = divmod(n, 10)
    artist, album = f"Artist {album_no // 3:03d}", f"Album {album_no:04d}"
    path = root / artist / album / f"{track_no + 1:02d} Song {n}{template.suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    audiogen.tag(path, {"title": f"Song {n}", "artist": artist, "album": album,
                        "albumartist": artist, "tracknumber": f"{track_no + 1}/10",
                        "discnumber": "1/1", "date": "2001", "genre": "Jazz"})  # fmt: skip


def cover_png(seed: int, side: int = 600) -> bytes:
    """A real PNG front cover: a quarter of it noise (so it compresses like a photo), about
    270 KB at 600x600."""
    rng = random.Random(seed)
    noisy = side // 4
    rows = [b"\0" + rng.randbytes(side * 3) for _ in range(noisy)]
    rows += [b"\0" + bytes([(seed * 40) % 256, 80, 160]) * side] * (side - noisy)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))  # fmt: skip

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 6)) + chunk(b"IEND", b""))  # fmt: skip


def add_cover(path: Path, png: bytes) -> None:
    """Embed ``png`` as the front cover, the way common taggers store it in each format."""
    f = mutagen.File(path)
    if isinstance(f, FLAC):
        f.add_picture(_flac_picture(png))
    elif isinstance(f, MP4):
        f["covr"] = [MP4Cover(png, imageformat=MP4Cover.FORMAT_PNG)]
    elif isinstance(f, APEv2File):
        if f.tags is None:
            f.add_tags()
        f.tags["Cover Art (Front)"] = APEValue(b"cover.png\0" + png, BINARY)
    elif path.suffix in {".mp3", ".wav", ".aiff"}:
        if f.tags is None:
            f.add_tags()
        f.tags.add(APIC(encoding=3, mime="image/png", type=3, desc="Cover", data=png))
    else:  # Ogg Vorbis, Opus: METADATA_BLOCK_PICTURE
        if f.tags is None:
            f.add_tags()
        block = base64.b64encode(_flac_picture(png).write()).decode("ascii")
        f.tags["metadata_block_picture"] = [block]
    f.save()


def _flac_picture(png: bytes) -> Picture:
    pic = Picture()
    pic.type, pic.mime, pic.desc, pic.data = 3, "image/png", "Cover", png
    pic.width = pic.height = 600
    pic.depth = 24
    return pic
