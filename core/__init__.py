"""Phonovault's core: everything a user can do, without Qt.

The GUI and the command line are two faces over these modules.
"""

__version__ = "0.1.0"
