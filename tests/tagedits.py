"""Tag edits the way a user's tagger makes them, through mutagen (tests/core/test_fixity.py
and test_identity.py): a longer title, a 300 KB cover, every tag deleted, ID3v1 and APEv2
appended where players put them."""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from pathlib import Path

import audiogen
import mutagen
from mutagen.apev2 import APEv2, APEValue
from mutagen.flac import FLAC, Picture
from mutagen.id3 import APIC, ID3
from mutagen.mp4 import MP4Cover

COVER = b"\xff\xd8\xff\xe0" + random.Random(7).randbytes(300_000)


def set_title(path: Path, kind: str) -> None:
    audiogen.tag(path, {"title": "A much longer title than the one before, to move things"})


def add_cover(path: Path, kind: str) -> None:
    f = mutagen.File(path)
    if kind.startswith("flac") or kind in ("vorbis", "opus"):
        pic = Picture()
        pic.type, pic.mime, pic.data = 3, "image/jpeg", COVER
        if isinstance(f, FLAC):
            f.add_picture(pic)
        else:
            f["metadata_block_picture"] = [base64.b64encode(pic.write()).decode("ascii")]
    elif kind in ("mp3", "wav", "aiff"):
        f.tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="front", data=COVER))
    elif kind in ("aac", "alac"):
        f["covr"] = [MP4Cover(COVER, imageformat=MP4Cover.FORMAT_JPEG)]
    else:  # wavpack: APEv2
        f.tags["Cover Art (Front)"] = APEValue(b"cover.jpg\x00" + COVER, 1)
    f.save()


def delete_tags(path: Path, kind: str) -> None:
    mutagen.File(path).delete()


def add_id3v1(path: Path, kind: str) -> None:
    if kind == "mp3":
        ID3(path).save(v1=2)
    else:  # mutagen writes ID3v1 only for MP3 files: append one by hand
        with path.open("ab") as out:
            out.write(b"TAG" + b"Title".ljust(30, b"\0") + bytes(94) + b"\xff")


def add_apev2(path: Path, kind: str) -> None:
    tag = APEv2()
    tag["Title"] = "From an APEv2 tagger"
    tag.save(path)


EDITS: dict[str, Callable[[Path, str], None]] = {
    "title": set_title,
    "cover": add_cover,
    "delete": delete_tags,
}
