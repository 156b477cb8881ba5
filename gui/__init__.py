"""Phonovault's desktop GUI (PySide6): a face over :mod:`phonovault.core`."""
