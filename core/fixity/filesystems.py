"""What a root's file system keeps of a file's stat, so a stat is weighed for what it is worth.

DESIGN.md, "Evidence of a write": inode numbers are no evidence on FAT/vfat/exFAT/msdos (also
under FUSE) nor on SMB without server inode numbers; ctime is not kept on FAT and exFAT (and on
Windows ``st_ctime`` is the creation time); FAT mtimes have 2-second granularity and, stored in
local time, shift by exact whole hours when the clock's offset changes (daylight saving, a
machine in another time zone). A whole root renumbered at once says nothing about any one
file either (:func:`looks_renumbered`).

The file system is found per root: Linux reads ``/proc/self/mountinfo`` (a FUSE mount names
its driver as ``fuse.<subtype>``; a ``fuseblk`` mount without one, such as exfat-fuse or
ntfs-3g, is told apart by the boot sector of its device when that can be read); macOS asks
``statfs``; Windows asks the volume. What is not known gets :data:`DEFAULT_TRAITS`, those of a
POSIX disk file system, except under FUSE, where an unknown driver gets nothing trusted.
"""

from __future__ import annotations

import ctypes
import os
import sys
from dataclasses import dataclass, replace

__all__ = [
    "DEFAULT_TRAITS",
    "FsTraits",
    "fs_type",
    "looks_renumbered",
    "same_write_stat",
    "traits_for",
    "traits_of_type",
]

SECOND = 1_000_000_000
HOUR = 3600 * SECOND
# Offsets a local-time mtime can shift by: daylight saving, or a drive read on a machine in
# another zone (UTC-12 to UTC+14).
MAX_SHIFT_HOURS = 26


@dataclass(frozen=True, slots=True)
class FsTraits:
    """What one file system keeps of a stat."""

    name: str  # the file system, as the platform names it ("ext4", "vfat", "fuse.sshfs")
    inode_stable: bool = True  # the same file keeps its inode number across mounts
    ctime_kept: bool = True  # st_ctime is a change time that every write moves
    mtime_step_ns: int = 1  # the granularity mtimes are stored with
    local_time: bool = False  # mtimes stored in local time: may shift by whole hours

    def same_mtime(self, a: int, b: int) -> bool:
        """Whether two mtimes of one file can be the same stored time."""
        if a == b:
            return True
        step = self.mtime_step_ns
        if step > 1 and abs(a - b) < step:
            return True
        if not self.local_time:
            return False
        delta = abs(a - b)
        hours, rest = divmod(delta, HOUR)
        return 0 < hours <= MAX_SHIFT_HOURS and (rest < step or HOUR - rest < step)


DEFAULT_TRAITS = FsTraits("unknown")
_FAT = FsTraits("fat", inode_stable=False, ctime_kept=False, mtime_step_ns=2 * SECOND,
                local_time=True)  # fmt: skip
# exFAT stores a 10 ms mtime with a UTC offset that not every writer sets.
_EXFAT = FsTraits("exfat", inode_stable=False, ctime_kept=False, mtime_step_ns=10_000_000,
                  local_time=True)  # fmt: skip
_NOTHING = FsTraits("untrusted", inode_stable=False, ctime_kept=False)
_FAT_NAMES = ("vfat", "msdos", "fat", "umsdos", "fat12", "fat16", "fat32", "fusefat", "pcfs")
_KNOWN: dict[str, FsTraits] = {
    **dict.fromkeys(_FAT_NAMES, _FAT),
    **dict.fromkeys(("exfat", "exfat-fuse"), _EXFAT),
    # SFTP (v3) carries whole seconds and no ctime; sshfs numbers inodes per mount.
    "sshfs": FsTraits("sshfs", inode_stable=False, ctime_kept=False, mtime_step_ns=SECOND),
    "hfs": FsTraits("hfs", mtime_step_ns=SECOND, local_time=True),
    "hfsplus": FsTraits("hfsplus", mtime_step_ns=SECOND),
    "iso9660": FsTraits("iso9660", mtime_step_ns=SECOND),
    "smbfs": FsTraits("smbfs", inode_stable=False),  # macOS
    **dict.fromkeys(("webdav", "davfs", "rclone", "gvfsd-fuse"), _NOTHING),
}
# FUSE drivers whose stat is that of the file system they serve.
_PASSTHROUGH = {"ext2", "ext3", "ext4", "fuse2fs", "ntfs", "ntfs-3g", "ntfs3", "bindfs",
                "mergerfs", "unionfs", "zfs", "apfs", "apfs-fuse", "hfsfuse"}  # fmt: skip


def traits_of_type(name: str, options: str = "") -> FsTraits:
    """The traits of a file system named ``name`` (as Linux's mount table, macOS's statfs or
    Windows's volume information give it), mounted with ``options``."""
    low = name.lower()
    fuse = low.startswith(("fuse.", "fuseblk.")) or low in ("fuse", "fuseblk")
    base = low.split(".", 1)[1] if fuse and "." in low else low
    if base in ("cifs", "smb3", "smb2"):
        opts = set(options.split(","))
        return FsTraits(name, inode_stable="noserverino" not in opts)
    if base in _KNOWN:
        return replace(_KNOWN[base], name=name)
    if fuse and base not in _PASSTHROUGH:
        return replace(_NOTHING, name=name)
    return FsTraits(name)


def same_write_stat(
    old_size: int,
    old_mtime_ns: int,
    old_inode: int,
    new_size: int,
    new_mtime_ns: int,
    new_inode: int,
    traits: FsTraits = DEFAULT_TRAITS,
    *,
    inode_trusted: bool = True,
) -> bool:
    """Whether two stats of one path show no write between them, as far as size, mtime and
    (where it is evidence) the inode can tell on a file system with ``traits``."""
    if old_size != new_size or not traits.same_mtime(old_mtime_ns, new_mtime_ns):
        return False
    return not (inode_trusted and traits.inode_stable) or old_inode == new_inode


def looks_renumbered(pairs: list[tuple[int, int]], *, least: int = 4) -> bool:
    """Whether (old inode, new inode) pairs of files whose size and mtime are unchanged show a
    root whose inode numbers were all renewed at once (a remount, a re-exported share): at
    least ``least`` files and nine in ten of them with a new number. A tagger rewriting a few
    files through a temp file renews their inodes, never a whole root's."""
    if len(pairs) < least:
        return False
    moved = sum(1 for old, new in pairs if old != new)
    return moved * 10 >= len(pairs) * 9


def traits_for(path: str | os.PathLike[str]) -> FsTraits:
    """The traits of the file system holding ``path``; :data:`DEFAULT_TRAITS` when it cannot
    be told."""
    try:
        name, options = fs_type(path)
    except (OSError, ValueError):
        return DEFAULT_TRAITS
    if not name:
        return DEFAULT_TRAITS
    traits = traits_of_type(name, options)
    if sys.platform == "win32":  # st_ctime is the creation time there
        traits = replace(traits, ctime_kept=False)
    return traits


def fs_type(path: str | os.PathLike[str]) -> tuple[str, str]:
    """(file system name, mount options) of the file system holding ``path``; ("", "") when
    the platform does not say."""
    real = os.path.realpath(os.fspath(path))
    if sys.platform.startswith("linux"):
        return _linux_fs_type(real)
    if sys.platform == "darwin":
        return _darwin_fs_type(real), ""
    if sys.platform == "win32":
        return _windows_fs_type(real), ""
    return "", ""


# -- Linux ----------------------------------------------------------------------------------


def _unescape(field: str) -> str:
    """A mountinfo path, whose space, tab, newline and backslash are written as octal."""
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 4 <= len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[tuple[str, str, str, str]]:
    """(mount point, file system type, source, options) per line of a mountinfo."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(" "), right.split(" ")
        if len(fields) < 6 or len(tail) < 2:
            continue
        options = fields[5] + ("," + tail[2] if len(tail) > 2 else "")
        mounts.append((_unescape(fields[4]), tail[0], _unescape(tail[1]), options))
    return mounts


def _linux_fs_type(real: str) -> tuple[str, str]:
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        mounts = parse_mountinfo(f.read())
    best: tuple[str, str, str, str] | None = None
    for mount in mounts:  # the last of equal mount points is the one on top
        point = mount[0]
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[0])):
            best = mount
    if best is None:
        return "", ""
    _point, kind, source, options = best
    if kind == "fuseblk":
        kind = _boot_sector_kind(source) or kind
    return kind, options


def _boot_sector_kind(device: str) -> str | None:
    """exFAT, NTFS or FAT, read from a block device's boot sector (a ``fuseblk`` mount names
    no driver); None when the device cannot be read (not root) or is none of them."""
    try:
        with open(device, "rb") as f:
            sector = f.read(512)
    except OSError:
        return None
    if sector[3:11] == b"EXFAT   ":
        return "fuseblk.exfat"
    if sector[3:11] == b"NTFS    ":
        return "fuseblk.ntfs-3g"
    if sector[54:59] == b"FAT12" or sector[54:59] == b"FAT16" or sector[82:87] == b"FAT32":
        return "fuseblk.vfat"
    return None


# -- macOS and Windows (best effort: a failure gives the defaults) ---------------------------


def _darwin_fs_type(real: str) -> str:
    class _Statfs(ctypes.Structure):  # struct statfs with 64-bit inodes
        _fields_ = [
            ("f_bsize", ctypes.c_uint32), ("f_iosize", ctypes.c_int32),
            ("f_blocks", ctypes.c_uint64), ("f_bfree", ctypes.c_uint64),
            ("f_bavail", ctypes.c_uint64), ("f_files", ctypes.c_uint64),
            ("f_ffree", ctypes.c_uint64), ("f_fsid", ctypes.c_int32 * 2),
            ("f_owner", ctypes.c_uint32), ("f_type", ctypes.c_uint32),
            ("f_flags", ctypes.c_uint32), ("f_fssubtype", ctypes.c_uint32),
            ("f_fstypename", ctypes.c_char * 16), ("f_mntonname", ctypes.c_char * 1024),
            ("f_mntfromname", ctypes.c_char * 1024), ("f_flags_ext", ctypes.c_uint32),
            ("f_reserved", ctypes.c_uint32 * 7),
        ]  # fmt: skip

    libc = ctypes.CDLL(None, use_errno=True)
    fn = getattr(libc, "statfs$INODE64", None) or libc.statfs
    buf = _Statfs()
    if fn(os.fsencode(real), ctypes.byref(buf)) != 0:
        return ""
    return buf.f_fstypename.decode("ascii", "replace")


def _windows_fs_type(real: str) -> str:
    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    root = os.path.splitdrive(real)[0] + "\\"
    if root.startswith("\\\\"):
        root = real if real.endswith("\\") else real + "\\"
    name = ctypes.create_unicode_buffer(64)
    ok = kernel32.GetVolumeInformationW(ctypes.c_wchar_p(root), None, 0, None, None, None,
                                        name, len(name))  # fmt: skip
    return name.value if ok else ""
