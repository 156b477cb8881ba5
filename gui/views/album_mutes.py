"""Muting a rule for a whole album, and lifting mutes, from the Albums page.

:class:`AlbumMuteActions` is an album tile's context menu. Its two dialogs are the
confirmation (closing one any other way changes nothing); what they ask for runs as jobs
calling the engine's ``mute`` and ``unmute`` with ``album=``, what ``phonovault mute RULE PATH
--album`` calls. A mute's findings go at once; an unmute is followed by a check of the album,
so its findings come back.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from PySide6.QtCore import QObject, QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from phonovault.core.catalog import Catalog, Mute
from phonovault.core.jobs import CancelToken, ProgressCallback
from phonovault.core.rules.album_mutes import AlbumRules, album_rules
from phonovault.core.rules.engine import mute, unmute
from phonovault.gui.context import AppContext
from phonovault.gui.loader import BackgroundQuery
from phonovault.gui.workers import Job


def _files(n: int) -> str:
    return f"{n} file" + ("" if n == 1 else "s")


def mute_label(m: Mute) -> str:
    """How a mute reads in the list: the rule, what it covers, and the reason."""
    where = "whole album" if m.file_id is None else os.path.basename(m.path) or "one file"
    return f"{m.rule_id} — {where}: {m.reason}"


class MuteAlbumDialog(QDialog):
    """Choose one of the rules with findings on the album and say why it is not a problem
    there. ``accepted`` means: mute :meth:`rule_id` with :meth:`reason`."""

    def __init__(
        self,
        album: tuple[str, str],
        rules: AlbumRules,
        titles: Mapping[str, str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Mute a rule for this album")
        artist, title = album
        intro = QLabel(
            f"Silence one rule for every file of “{title}” by {artist}. Its findings there go "
            "now, and later checks keep it quiet. The reason is kept in the catalog.",
            self,
        )
        intro.setWordWrap(True)
        self.rule = QComboBox(self)
        for rule_id, count in rules.findings.items():
            name = titles.get(rule_id) or rule_id
            self.rule.addItem(f"{name} ({rule_id}) · {_files(count)}", rule_id)
        self.reason_edit = QLineEdit(self)
        self.reason_edit.setPlaceholderText("Why is this not a problem here?")
        form = QFormLayout()
        form.addRow("Rule:", self.rule)
        form.addRow("Reason:", self.reason_edit)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Mute")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.reason_edit.textChanged.connect(self._update)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self._update()

    def _update(self) -> None:
        self.ok.setEnabled(bool(self.reason().strip()) and self.rule.count() > 0)

    def rule_id(self) -> str:
        return str(self.rule.currentData())

    def reason(self) -> str:
        return self.reason_edit.text().strip()


class UnmuteAlbumDialog(QDialog):
    """The mutes on an album (its own and its files'), each with a box to tick; ``accepted``
    means: lift :meth:`chosen`. Their findings return with the check that follows."""

    def __init__(self, album: tuple[str, str], rules: AlbumRules, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Unmute")
        artist, title = album
        intro = QLabel(
            f"Mutes on “{title}” by {artist}. The album's files are checked again once the "
            "ticked ones are lifted, so their findings come back.",
            self,
        )
        intro.setWordWrap(True)
        self.list = QListWidget(self)
        self._mutes = list(rules.mutes)
        for each in self._mutes:
            item = QListWidgetItem(mute_label(each), self.list)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if len(self._mutes) == 1
                               else Qt.CheckState.Unchecked)  # fmt: skip
            item.setToolTip(each.reason)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Unmute")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.list.itemChanged.connect(self._update)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.list)
        layout.addWidget(self.buttons)
        self._update()

    def _update(self) -> None:
        self.ok.setEnabled(bool(self.chosen()))

    def chosen(self) -> list[Mute]:
        return [
            m
            for i, m in enumerate(self._mutes)
            if self.list.item(i).checkState() == Qt.CheckState.Checked
        ]


class AlbumMuteActions(QObject):
    """An album tile's menu: "Mute a rule for this album…" and "Unmute…". Each time it opens
    it reads the album's findings and mutes afresh, off the UI thread (a job may have
    changed them a moment ago); its actions are enabled once they are read."""

    read = Signal()  # the findings and mutes of the album of the last popup() are in

    def __init__(self, ctx: AppContext, parent: QWidget) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._widget = parent
        self._key: tuple[str, str] | None = None
        self._rules: AlbumRules | None = None
        self._query = BackgroundQuery(ctx.catalog, self)
        self._query.finished.connect(self._rules_read)
        self.mute_dialog: MuteAlbumDialog | None = None
        self.unmute_dialog: UnmuteAlbumDialog | None = None
        self.menu = QMenu(parent)
        self.menu.setToolTipsVisible(True)
        self.act_mute = self.menu.addAction("Mute a rule for this album…")
        self.act_mute.triggered.connect(self.ask_mute)
        self.act_unmute = self.menu.addAction("Unmute…")
        self.act_unmute.triggered.connect(self.ask_unmute)
        self.set_album(None)

    def popup(self, album: tuple[str, str], where: QPoint) -> None:
        """Open the menu for ``album`` (an ``AlbumRow``'s names) at ``where`` (global)."""
        self._key = album
        self.set_album(None)
        self._query.request(lambda catalog: (album, album_rules(catalog, *album)))
        self.menu.popup(where)

    def is_reading(self) -> bool:
        return self._query.is_busy()

    def _rules_read(self, read: tuple[tuple[str, str], AlbumRules]) -> None:
        key, rules = read
        if key == self._key:
            self.set_album(rules)
            self.read.emit()

    def set_album(self, rules: AlbumRules | None) -> None:
        """Enable the actions for an album's findings and mutes (None: not read yet)."""
        self._rules = rules
        self.act_mute.setEnabled(bool(rules and rules.album and rules.findings))
        self.act_unmute.setEnabled(bool(rules and rules.album and rules.mutes))
        n = len(rules.mutes) if rules else 0
        self.act_unmute.setText(f"Unmute… ({n})" if n else "Unmute…")
        if rules is None:
            hint = "Reading the album's findings…"
        elif rules.album is None:
            hint = "These files have no album tag, so there is no album to mute a rule on."
        elif not rules.findings:
            hint = "No rule has findings on this album."
        else:
            hint = "Silence one rule for every file of this album, with a reason."
        self.act_mute.setToolTip(hint)

    def ask_mute(self) -> None:
        """Ask which rule to mute on the album, and why; mute it when the dialog is accepted."""
        rules = self._rules
        if rules is None or rules.album is None or not rules.findings:
            return
        album = rules.album
        titles = {r: i.rule.title for r, i in self.ctx.rule_infos(load=False).items()}
        dialog = MuteAlbumDialog(album, rules, titles, self._widget)
        dialog.accepted.connect(lambda: self.mute_album(album, dialog.rule_id(), dialog.reason()))
        self.mute_dialog = dialog
        dialog.open()

    def ask_unmute(self) -> None:
        """Ask which of the album's mutes to lift; lift them when the dialog is accepted."""
        rules = self._rules
        if rules is None or rules.album is None or not rules.mutes:
            return
        dialog = UnmuteAlbumDialog(rules.album, rules, self._widget)
        ids = list(rules.file_ids)
        dialog.accepted.connect(lambda: self.unmute(dialog.chosen(), ids))
        self.unmute_dialog = dialog
        dialog.open()

    def mute_album(self, album: tuple[str, str], rule_id: str, reason: str) -> Job:
        """Mute ``rule_id`` on the album; its findings there go at once."""

        def run(catalog: Catalog, progress: ProgressCallback, cancel: CancelToken) -> int:
            return mute(catalog, rule_id, reason, album=album)

        return self.ctx.jobs.submit(f"Mute {rule_id} for the album {album[1]}", run)

    def unmute(self, mutes: list[Mute], file_ids: list[int]) -> Job:
        """Lift ``mutes``, then check the album's files so their findings come back."""
        lifted = list(mutes)

        def run(catalog: Catalog, progress: ProgressCallback, cancel: CancelToken) -> int:
            done = 0
            for m in lifted:
                if m.file_id is not None:
                    done += unmute(catalog, m.rule_id, file_id=m.file_id)
                elif m.albumartist is not None and m.album is not None:
                    done += unmute(catalog, m.rule_id, album=(m.albumartist, m.album))
            return done

        job = self.ctx.jobs.submit(f"Unmute {len(lifted)} rule(s)", run)
        if file_ids:  # jobs run one after another: the check sees the mutes lifted
            self.ctx.check(file_ids, title="Check tags after unmuting")
        return job
