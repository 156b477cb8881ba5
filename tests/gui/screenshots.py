"""Render the main views offscreen to PNG files for the README (``make screenshots``).

    QT_QPA_PLATFORM=offscreen python tests/gui/screenshots.py docs/

Builds a small demo library of real generated files (with covers and a few realistic
problems: bit rot, a replaced file, a deleted file, a moved file, a file that is not audio),
opens the real window on it and saves one picture per view.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import audiogen
from mutagen.flac import FLAC, Picture
from PySide6.QtCore import QBuffer, QEventLoop, QTimer
from PySide6.QtGui import QColor, QFont, QImage, QLinearGradient, QPainter
from PySide6.QtWidgets import QApplication

ALBUMS = [
    ("Nina Hale", "Quiet Harbour", (52, 101, 164)),
    ("The Lantern Choir", "Northern Lights", (170, 68, 51)),
    ("Otis Marrow", "Late Trains", (60, 120, 80)),
    ("Aimée Lavoie", "Chansons d'Été", (120, 80, 150)),
]


def cover_png(title: str, rgb: tuple[int, int, int]) -> bytes:
    image = QImage(600, 600, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    gradient = QLinearGradient(0, 0, 600, 600)
    gradient.setColorAt(0, QColor(*rgb))
    gradient.setColorAt(1, QColor(*rgb).darker(250))
    painter.fillRect(image.rect(), gradient)
    painter.setPen(QColor("white"))
    painter.setFont(QFont("Sans", 40, QFont.Weight.Bold))
    painter.drawText(image.rect().adjusted(30, 30, -30, -30), 0x0084, title)  # wrap, bottom
    painter.end()
    buffer = QBuffer()
    buffer.open(QBuffer.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data())


def make_demo_library(root: Path) -> None:
    kinds = ["flac16", "flac24", "mp3", "alac", "vorbis", "opus", "aac", "wavpack"]
    n = 0
    for a, (artist, album, rgb) in enumerate(ALBUMS):
        art = cover_png(album, rgb)
        for t in range(1, 9):
            kind = "flac16" if a % 2 == 0 else kinds[(n + a) % len(kinds)]
            path = root / artist / album / f"{t:02d} Track {t}{audiogen.KINDS[kind].suffix}"
            audiogen.encode(path, kind, seconds=2.0 + t / 3, seed=n)
            audiogen.tag(
                path,
                {
                    "title": f"{album.split()[0]} Song {t}",
                    "artist": artist,
                    "album": album,
                    "albumartist": artist,
                    "tracknumber": f"{t}/8",
                    "discnumber": "1/1",
                    "date": str(1998 + a * 4),
                    "genre": "Jazz",
                },
            )
            if path.suffix == ".flac":
                f = FLAC(path)
                pic = Picture()
                pic.type, pic.mime, pic.data = 3, "image/png", art
                pic.width = pic.height = 600
                f.add_picture(pic)
                f.save()
            n += 1


def damage(root: Path) -> None:
    first = root / "Nina Hale/Quiet Harbour"
    rot = first / "03 Track 3.flac"  # bit rot: one byte flipped, mtime kept
    st = rot.stat()
    data = bytearray(rot.read_bytes())
    data[len(data) * 3 // 4] ^= 0x10
    rot.write_bytes(bytes(data))
    os.utime(rot, ns=(st.st_atime_ns, st.st_mtime_ns))
    replaced = root / "Otis Marrow/Late Trains/05 Track 5.flac"  # re-encoded, written
    audiogen.encode(replaced, "flac16", seconds=1.0, seed=999)
    for p in (root / "The Lantern Choir/Northern Lights").glob("07 *"):
        p.unlink()  # deleted
    for p in (root / "The Lantern Choir/Northern Lights").iterdir():
        if p.name.startswith("02"):
            p.rename(p.with_name("02 Track 2 (remastered)" + p.suffix))


def wait_idle(app: QApplication, ctx) -> None:  # type: ignore[no-untyped-def]
    loop = QEventLoop()
    ctx.jobs.idle.connect(loop.quit)
    QTimer.singleShot(60000, loop.quit)
    if ctx.jobs.is_busy():
        loop.exec()
    for _ in range(20):
        app.processEvents()


def main(out: Path) -> None:
    from phonovault.gui.app import build
    from phonovault.gui.style import apply_theme
    from phonovault.gui.views.settings_dialog import SettingsDialog

    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="phonovault-shots-"))
    try:
        _, empty = build(work / "empty.sqlite", work / "s.json")
        empty.resize(1280, 760)
        empty.show()
        app.processEvents()
        empty.grab().save(str(out / "screenshot-first-run.png"))
        empty.close()

        root = work / "Music"
        make_demo_library(root)
        (root / "Otis Marrow/Late Trains/bonus.mp3").write_bytes(os.urandom(4000))
        cut = next(root.glob("Aim*/*/*.flac"))  # a download that arrived cut short
        os.truncate(cut, cut.stat().st_size * 3 // 5)
        ctx, window = build(work / "c.sqlite", work / "s.json")
        window.resize(1280, 760)
        window.show()
        ctx.add_folders([str(root)], then_check=True)
        wait_idle(app, ctx)
        shutil.copytree(root, work / "Backup")  # the user's external drive
        ctx.add_target(str(work / "Backup"), str(root))
        wait_idle(app, ctx)
        damage(root)
        ctx.verify(decode=True)
        wait_idle(app, ctx)
        ctx.verify_backup(None)
        wait_idle(app, ctx)
        window.refresh()
        loop = QEventLoop()
        window.library.loaded.connect(loop.quit)
        QTimer.singleShot(10000, loop.quit)
        loop.exec()
        rows = ctx.catalog.library_rows()
        pick = next(r for r in rows if r.state == "corrupt")
        window.show_page("Library")
        window.library.select_file(pick.id)
        for _ in range(50):
            app.processEvents()
        QTimer.singleShot(300, lambda: None)
        loop = QEventLoop()
        QTimer.singleShot(600, loop.quit)
        loop.exec()
        window.grab().save(str(out / "screenshot-main.png"))
        for name in ("Albums", "Findings", "Backups", "Activity"):
            window.show_page(name)
            if name == "Findings":  # a finding selected: its explanation and actions show
                tree, model = window.findings.tree, window.findings.tree.model()
                errors = model.index(0, 0)
                corrupt = model.index(0, 0, errors)
                tree.setCurrentIndex(model.index(0, 0, corrupt))
            loop = QEventLoop()
            QTimer.singleShot(700, loop.quit)
            loop.exec()
            window.grab().save(str(out / f"screenshot-{name.lower()}.png"))
        dialog = SettingsDialog(ctx, window)
        dialog.show()
        app.processEvents()
        dialog.grab().save(str(out / "screenshot-settings.png"))
        dialog.close()
        window.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
