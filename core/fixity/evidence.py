"""Evidence of a write, judged per root by what its file system keeps (DESIGN.md).

A file's stat says whether something wrote to it: size, mtime and the inode, and ctime, which a
tagger that "preserves timestamps" still changes when it sets mtime back, while bit rot never
does. What each is worth depends on the file system (:mod:`.filesystems`): FAT and exFAT
renumber inodes on every mount, keep no ctime and store mtimes in 2-second local time that
shifts by whole hours with daylight saving. A whole root renumbered at once (a remount, a NAS
that re-exported its share) says nothing about any one file either.

One :class:`Evidence` serves one pass over one root: scan, verify and backup verify build it
the same way, so a file gets the same verdict whichever of them reads it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from phonovault.core.fixity.filesystems import (
    FsTraits,
    looks_renumbered,
    same_write_stat,
    traits_for,
)
from phonovault.core.records import KnownFile

# How many files of a root are looked at to tell whether it was renumbered: enough to be
# sure, few enough to cost nothing (one lstat each) on a 100k-file root.
SAMPLE = 64


@dataclass(frozen=True, slots=True)
class Stat:
    """The part of a stat that is evidence of a write."""

    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a stat proves on one root during one pass."""

    traits: FsTraits
    inode_trusted: bool = True  # False when the root's inode numbers were all renewed

    def unchanged(self, before: Stat, after: Stat) -> bool:
        """Nothing wrote to the file, as far as size, mtime and the inode can tell."""
        return same_write_stat(
            before.size, before.mtime_ns, before.inode,
            after.size, after.mtime_ns, after.inode,
            self.traits, inode_trusted=self.inode_trusted,
        )  # fmt: skip

    def nothing_wrote(self, before: Stat, after: Stat) -> bool:
        """Not even a timestamp-keeping tagger wrote: the stat and ctime are unchanged.
        False where ctime is not kept, or was not known: we cannot tell, so we do not
        accuse."""
        return (
            self.traits.ctime_kept
            and before.ctime_ns is not None
            and before.ctime_ns == after.ctime_ns
            and self.unchanged(before, after)
        )

    @property
    def inodes(self) -> bool:
        """Whether inode numbers are evidence on this root in this pass."""
        return self.inode_trusted and self.traits.inode_stable


def last_seen(k: KnownFile) -> Stat:
    """The stat a file was last read with."""
    return Stat(k.seen_size, k.seen_mtime_ns, k.seen_inode, k.seen_ctime_ns)


def for_root(path: str, pairs: Iterable[tuple[Stat, Stat]] = ()) -> Evidence:
    """The evidence rules of the root at ``path``. ``pairs`` are (last seen, now) stats of
    files whose size and mtime are unchanged: when (nearly) all their inodes differ, the
    root was renumbered and inodes prove nothing in this pass."""
    traits = traits_for(path)
    if not traits.inode_stable:
        return Evidence(traits, inode_trusted=False)
    same = [(a.inode, b.inode) for a, b in pairs
            if a.size == b.size and a.mtime_ns == b.mtime_ns]  # fmt: skip
    return Evidence(traits, inode_trusted=not looks_renumbered(same))


def sample_pairs(root: str, seen: Iterable[tuple[bytes, Stat]]) -> list[tuple[Stat, Stat]]:
    """(last seen, now) stats of up to :data:`SAMPLE` files, for :func:`for_root` where no
    walk has stat'ed them (a verify). Files that vanished or cannot be stat'ed are left out."""
    out: list[tuple[Stat, Stat]] = []
    for relpath, before in seen:
        if len(out) >= SAMPLE:
            break
        try:
            st = os.lstat(os.path.join(os.fsencode(root), relpath))
        except OSError:
            continue
        out.append((before, Stat(st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)))
    return out
