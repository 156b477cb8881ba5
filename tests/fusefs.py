"""Real drive file systems for the tests, mounted through FUSE from an image file.

Most external drives are FAT32 or exFAT; this machine's kernel (and CI's) has no driver for
them, but FUSE does: ``fusefat`` for FAT, ``exfat-fuse`` for exFAT and ``fuse2fs`` for ext4 (the
control: a POSIX file system whose stat can be trusted). Each :class:`Drive` is an image file
formatted by the real ``mkfs``, mounted and unmounted like a drive being plugged in and out,
and changed while unplugged the way bit rot changes a disk: in the image, under the file
system's nose, with no metadata touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from needs import unavailable

# kind: (image size, mkfs command, tools needed)
KINDS: dict[str, tuple[int, list[str], list[str]]] = {
    "fat": (64 << 20, ["mkfs.vfat", "-F", "32"], ["mkfs.vfat", "fusefat"]),
    "exfat": (64 << 20, ["mkfs.exfat"], ["mkfs.exfat", "mount.exfat-fuse", "losetup"]),
    "ext4": (64 << 20, ["mkfs.ext4", "-q", "-F"], ["mkfs.ext4", "fuse2fs"]),
}


def _run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}")


class Drive:
    """An image file holding a real ``kind`` file system, mounted at :attr:`mountpoint`."""

    def __init__(self, kind: str, workdir: Path) -> None:
        size, mkfs, tools = KINDS[kind]
        for tool in [*tools, "fusermount"]:
            if shutil.which(tool) is None:
                unavailable(f"{tool} is not installed (make test installs it)")
        if not os.path.exists("/dev/fuse"):
            unavailable("/dev/fuse is missing")
        if kind == "exfat" and os.geteuid() != 0:
            unavailable("exfat-fuse mounts a loop device, which needs root")
        self.kind = kind
        self.image = workdir / f"{kind}.img"
        self.mountpoint = workdir / f"{kind}-drive"
        self.mountpoint.mkdir()
        self._loop: str | None = None
        with open(self.image, "wb") as fh:
            fh.truncate(size)
        _run([*mkfs, str(self.image)])

    @property
    def mounted(self) -> bool:
        return os.path.ismount(self.mountpoint)

    def mount(self, tz: str = "UTC") -> None:
        """Plug the drive in; ``tz`` is the machine's time zone, which FAT mtimes follow."""
        env = {**os.environ, "TZ": tz}
        mnt = str(self.mountpoint)
        if self.kind == "fat":
            _run(["fusefat", "-o", "rw+", str(self.image), mnt], env)
        elif self.kind == "exfat":
            done = subprocess.run(["losetup", "-f", "--show", str(self.image)],
                                  capture_output=True, text=True, check=True)  # fmt: skip
            self._loop = done.stdout.strip()
            _run(["mount.exfat-fuse", self._loop, mnt], env)
        else:
            _run(["fuse2fs", "-o", "rw,fakeroot", str(self.image), mnt], env)
        for _ in range(100):
            if self.mounted:
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.kind} image did not mount at {mnt}")

    def unmount(self) -> None:
        """Unplug the drive, its data flushed to the image."""
        if self.mounted:
            os.sync()
            for _attempt in range(50):
                done = subprocess.run(["fusermount", "-u", str(self.mountpoint)],
                                      capture_output=True, text=True)  # fmt: skip
                if done.returncode == 0:
                    break
                time.sleep(0.1)  # busy: a reader has not let go yet
            else:
                raise RuntimeError(f"cannot unmount {self.mountpoint}: {done.stderr.strip()}")
            for _ in range(100):
                if not self.mounted:
                    break
                time.sleep(0.05)
        if self._loop is not None:
            subprocess.run(["losetup", "-d", self._loop], capture_output=True)
            self._loop = None

    def rot(self, content: bytes, offset: int) -> None:
        """Flip the byte at ``offset`` of the file holding ``content``, in the unplugged image:
        the file system's own records (size, times, clusters) stay as they were."""
        assert not self.mounted, "rot an unplugged drive"
        window = content[max(0, offset - 48) : offset + 48]
        start = offset - max(0, offset - 48)
        with open(self.image, "r+b") as fh:
            data = fh.read()
            at = data.find(window)
            assert at >= 0 and data.find(window, at + 1) < 0, "file not found once in the image"
            fh.seek(at + start)
            fh.write(bytes([data[at + start] ^ 0x5A]))


def drive(kind: str, workdir: Path) -> Drive:
    """A formatted ``kind`` drive, mounted (in UTC)."""
    d = Drive(kind, workdir)
    d.mount()
    return d
